"""Opt-in splitting of ``<think>...</think>`` reasoning out of streamed content.

Models served without a reasoning parser put their reasoning inline in ``content``
between tags: Qwen3 and DeepSeek-R1 distills on vLLM, SGLang or llama.cpp without
``--reasoning-parser``, MiniMax-M2 (its docs ask to keep the ``<think>`` block in the
history), Cerebras with ``reasoning_format: "raw"``. Some chat templates put the opening
tag in the prompt, so the stream starts inside the reasoning and only the closing tag
arrives (DeepSeek-R1 distills, Qwen3 thinking templates).

Strategy: a three-state machine over the text fragments, fed in order.

* *before*: only whitespace so far. An opening tag here starts the reasoning; any
  other text means there is no think block, and everything is content, verbatim.
* *inside*: text is reasoning, up to the closing tag.
* *after*: the block closed; the rest is content, verbatim (a later ``<think>`` is text).

A tag may be cut anywhere across fragments: the splitter holds back only a tail that is
a proper prefix of the tag it looks for (fewer characters than the tag), so each
character is looked at a bounded number of times and the work is linear. Only the tags
are removed: content + reasoning, with the tags put back, is the input. Nothing is
stripped; an unclosed block leaves the rest of the text in the reasoning.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ThinkTagSplitter", "ThinkTags"]

_BEFORE, _INSIDE, _AFTER = 0, 1, 2


@dataclass(frozen=True, slots=True, kw_only=True)
class ThinkTags:
    """How to split inline reasoning out of ``content``: the options of a splitter.

    Pass one (or ``True`` for the defaults) as ``think_tags`` to
    :class:`~ssestream.ChatCompletionAccumulator`; each choice gets its own
    :class:`ThinkTagSplitter` from :meth:`splitter`.

    Attributes:
        open_tag: the tag that opens the reasoning, ``"<think>"`` by default.
        close_tag: the tag that closes it, ``"</think>"`` by default.
        starts_inside: the opening tag sat in the prompt template, so the content starts
            inside the reasoning (DeepSeek-R1 distills, Qwen3 thinking templates). An
            opening tag the model sends anyway is still removed.

    Raises:
        ValueError: a tag is empty.
    """

    open_tag: str = "<think>"
    close_tag: str = "</think>"
    starts_inside: bool = False

    def __post_init__(self) -> None:
        if not self.open_tag or not self.close_tag:
            raise ValueError("think tags must not be empty")

    def splitter(self) -> ThinkTagSplitter:
        """A new :class:`ThinkTagSplitter` with these options."""
        return ThinkTagSplitter(
            open_tag=self.open_tag, close_tag=self.close_tag, starts_inside=self.starts_inside
        )


def _held(text: str, tag: str) -> int:
    """The length of the longest tail of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ThinkTagSplitter:
    """Split the content fragments of one choice into content and reasoning, incrementally.

    Feed each ``delta.content`` fragment, in order, to :meth:`feed`; call :meth:`flush`
    at the end of the stream. Each returns the ``(content, reasoning)`` text that became
    certain with that call (either may be ``""``). See :class:`ThinkTags` for the
    options and the module docstring for the rules.

    Attributes:
        reasoning_closed: whether the closing tag was seen.
    """

    __slots__ = ("_close", "_missing_open", "_open", "_pending", "_state", "reasoning_closed")

    def __init__(
        self,
        *,
        open_tag: str = "<think>",
        close_tag: str = "</think>",
        starts_inside: bool = False,
    ) -> None:
        if not open_tag or not close_tag:
            raise ValueError("think tags must not be empty")
        self._open = open_tag
        self._close = close_tag
        self._missing_open = starts_inside
        self._state = _BEFORE
        self._pending = ""
        self.reasoning_closed = False

    def feed(self, text: str) -> tuple[str, str]:
        """Take the next content fragment; return the ``(content, reasoning)`` now known.

        Raises:
            TypeError: ``text`` is not a ``str``.
        """
        if type(text) is not str:
            raise TypeError(f"feed() takes text, not {type(text).__name__}")
        if self._state == _AFTER:
            return text, ""
        buffer = self._pending + text
        self._pending = ""
        content = ""
        if self._state == _BEFORE:
            rest = buffer.lstrip()
            if not rest or (len(rest) < len(self._open) and self._open.startswith(rest)):
                self._pending = buffer  # whitespace, or a tag that may be cut: wait
                return "", ""
            lead = buffer[: len(buffer) - len(rest)]
            self._state = _INSIDE
            if rest.startswith(self._open):
                content, buffer = lead, rest[len(self._open) :]
            elif not self._missing_open:
                self._state = _AFTER
                return buffer, ""
        # Inside the reasoning.
        end = buffer.find(self._close)
        if end >= 0:
            self._state = _AFTER
            self.reasoning_closed = True
            return content + buffer[end + len(self._close) :], buffer[:end]
        held = _held(buffer, self._close)
        if held:
            self._pending = buffer[-held:]
            buffer = buffer[:-held]
        return content, buffer

    def peek(self) -> tuple[str, str]:
        """The ``(content, reasoning)`` held back so far, as :meth:`flush` would give it.

        Changes nothing: for a result read in the middle of the stream.
        """
        pending = self._pending
        if self._state == _BEFORE and not self._missing_open:
            return pending, ""
        return "", pending

    def flush(self) -> tuple[str, str]:
        """End of the stream: return the ``(content, reasoning)`` still held back.

        Held text is what it would have been had no tag followed: before a block, it is
        content (reasoning with ``starts_inside``); inside an unclosed block, reasoning.
        Text fed after a flush is content, verbatim.
        """
        held = self.peek()
        self._pending = ""
        self._state = _AFTER
        return held
