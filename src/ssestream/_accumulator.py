"""Layer 3: fold chat-completion chunks back into the full ``chat.completion``.

Each field has its own merge rule, learnt from real provider streams (see
``tests/fixtures/providers/INDEX.md``); nothing is "concatenate every string":

* text is appended: ``content``, ``refusal``, reasoning, function ``arguments``. A null
  fragment changes nothing; an empty one turns ``None`` into ``""`` (as the openai SDK).
* identity fields are set once, from the first non-empty value: ``role``, a tool call's
  ``id``, ``type`` and function ``name``. Repeats (Z.ai and Perplexity send ``role`` on
  every delta, Bedrock ``type`` on every fragment, watsonx ``name: ""``) never double them.
* reasoning comes as ``reasoning_content`` (DeepSeek, xAI, llama.cpp, Avian, Z.ai) or
  ``reasoning`` (OpenRouter, Groq, Cerebras, newer vLLM); the first name seen is kept
  for :meth:`ChatCompletion.to_dict`. The same text under both names in one delta counts
  once; ``reasoning_details`` (OpenRouter, Avian) is merged on its own, by entry
  ``index`` (``text``, ``summary``, ``data`` appended). Mistral's list ``content``:
  ``text`` parts to content, ``thinking`` parts to reasoning, other parts kept whole
  under ``content_parts``.
* ``role`` defaults to ``"assistant"`` and a tool call's ``type`` to ``"function"``
  when the stream never sends them (Mistral, the Mistral API's GLM); tool-call
  ``arguments`` sent as a JSON object rather than text are serialised to text.
* ``annotations`` (OpenAI web search) are concatenated; ``audio``: ``data`` and
  ``transcript`` appended, ``id`` set once, other fields last non-null.
* tool calls are keyed by their ``index`` field, never by list position; see
  :meth:`_ChoiceState.tool_call_delta` for the cases without index or with a new id.
* ``finish_reason``: the last non-null value. ``usage``: replaced, never summed.
* ``id``, ``model``, ``created``: the first non-empty value (Azure's first chunk has
  empty ones). Every other envelope, choice and delta field keeps its last non-null value.
* logprobs: the ``content`` and ``refusal`` token lists are concatenated.

Text fragments are kept in lists and joined when :attr:`completion` is read; a list is
also joined into one string as it grows (see :func:`_add_text`), so memory stays close to
the size of the text, and the work is linear in the output. Chunks themselves are not
kept unless asked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from ._exceptions import ChunkParseError
from ._types import ChatCompletion, ChatCompletionChunk

__all__ = ["ChatCompletionAccumulator"]

_T = TypeVar("_T")

# Envelope fields with a rule of their own; the rest keep their last non-null value.
_ENVELOPE_OWN = frozenset({"id", "model", "created", "object", "choices", "usage"})
_CHOICE_OWN = frozenset({"index", "delta", "finish_reason", "logprobs"})


def _text(value: Any, where: str) -> str:
    """Return ``value`` if it is text; a typed error names the field otherwise."""
    if type(value) is not str:
        raise TypeError(f"{where} is a {type(value).__name__}, not text")
    return value


def _check(value: Any, kind: type[_T], where: str) -> _T:
    """Return ``value`` if it is a ``kind``; a typed error names the field otherwise.

    Called before any state is created for the value, so that a rejected chunk
    leaves no empty entry behind.
    """
    if not isinstance(value, kind):
        raise TypeError(f"{where} is a {type(value).__name__}, not a {kind.__name__}")
    return value


# A fragment of a few characters costs some 60 bytes as a str object, ten times its text.
_FRAGMENTS = 64
_CHARS_PER_FRAGMENT = 4096


def _add_text(parts: list[str], fragment: str) -> None:
    """Append a text fragment, joining the list into its first item now and then.

    The list is joined once it holds more than ``_FRAGMENTS`` items and more than one
    per ``_CHARS_PER_FRAGMENT`` characters of its first item (the text joined so far).
    So the fragments waiting cost at most 64 str objects or 1.5% of the text, and a
    join copies at most 4 KiB per fragment it takes in: the work stays linear.
    """
    parts.append(fragment)
    if len(parts) > _FRAGMENTS:
        _compact(parts)


def _compact(parts: list[str]) -> None:
    """The join of :func:`_add_text`, for a list of more than ``_FRAGMENTS`` items."""
    if len(parts) * _CHARS_PER_FRAGMENT > len(parts[0]):
        parts[:] = ["".join(parts)]


class _Fragments(list[str]):
    """The text fragments of a ``reasoning_details`` field, joined when the completion
    is built (a list of its own type, unlike any value a provider sends)."""

    __slots__ = ()


def _join(parts: list[str]) -> str:
    """Join text fragments, collapsing the list so the next join starts from one piece."""
    if len(parts) == 1:
        return parts[0]
    text = "".join(parts)
    parts[:] = [text]
    return text


class _ToolCallState:
    __slots__ = ("arguments", "extra", "function_extra", "id", "index", "name", "type")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []
        self.extra: dict[str, Any] = {}
        self.function_extra: dict[str, Any] = {}

    def merge(self, entry: Mapping[str, Any]) -> None:
        for key, value in entry.items():
            if value is None or key == "index":
                continue
            if key == "function":
                for fkey, fvalue in value.items():
                    if fvalue is None:
                        continue
                    if fkey == "arguments":
                        if not isinstance(fvalue, str):
                            # Some servers send the arguments as a JSON object.
                            fvalue = json.dumps(fvalue, ensure_ascii=False)
                        _add_text(self.arguments, fvalue)
                    elif fkey == "name":
                        if self.name is None and fvalue:
                            self.name = _text(fvalue, "function.name")
                    else:
                        self.function_extra[fkey] = fvalue
            elif key == "id":
                if self.id is None and value:
                    self.id = _text(value, "tool call id")
            elif key == "type":
                if self.type is None and value:
                    self.type = _text(value, "tool call type")
            else:
                self.extra[key] = value

    def to_dict(self) -> dict[str, Any]:
        function: dict[str, Any] = {
            "name": self.name,
            "arguments": _join(self.arguments) if self.arguments else "",
        }
        function.update(self.function_extra)
        call: dict[str, Any] = {
            "id": self.id,
            "type": self.type or "function",
            "function": function,
        }
        call.update(self.extra)
        return call


class _ChoiceState:
    __slots__ = (
        "alt_reasoning",
        "annotations",
        "audio",
        "content",
        "extra",
        "extra_delta",
        "finish_reason",
        "function_call",
        "logprobs",
        "reasoning",
        "reasoning_details",
        "reasoning_key",
        "refusal",
        "role",
        "tool_calls",
        "tool_calls_by_index",
    )

    def __init__(self) -> None:
        self.role: str | None = None
        self.content: list[str] | None = None
        self.refusal: list[str] | None = None
        self.reasoning: list[str] | None = None
        self.reasoning_key: str | None = None
        self.alt_reasoning: dict[str, list[str]] = {}
        self.reasoning_details: list[dict[str, Any]] = []
        self.tool_calls: list[_ToolCallState] = []
        self.tool_calls_by_index: dict[int, _ToolCallState] = {}
        self.function_call: _ToolCallState | None = None
        self.annotations: list[Any] | None = None
        self.audio: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.logprobs: dict[str, Any] | None = None
        self.extra: dict[str, Any] = {}
        self.extra_delta: dict[str, Any] = {}

    # -- delta fields

    def delta(self, delta: Mapping[str, Any]) -> None:
        for key, value in delta.items():
            if value is None:
                continue
            if key == "content":
                if type(value) is str:
                    if self.content is None:
                        self.content = [value]
                    else:
                        _add_text(self.content, value)
                elif isinstance(value, list):
                    self.content_parts(value)
                else:
                    raise TypeError(f"delta.content is a {type(value).__name__}, not text")
            elif key == "role":
                if self.role is None and value:
                    self.role = _text(value, "delta.role")
            elif key == "tool_calls":
                for entry in _check(value, list, "delta.tool_calls"):
                    self.tool_call_delta(entry)
            elif key == "reasoning_content" or key == "reasoning":
                self.reasoning_delta(key, value, delta)
            elif key == "refusal":
                if self.refusal is None:
                    self.refusal = [_text(value, "delta.refusal")]
                else:
                    _add_text(self.refusal, _text(value, "delta.refusal"))
            elif key == "reasoning_details":
                self.reasoning_details_delta(_check(value, list, "delta.reasoning_details"))
            elif key == "function_call":
                function = _check(value, dict, "delta.function_call")
                if self.function_call is None:
                    self.function_call = _ToolCallState(0)
                self.function_call.merge({"function": function})
            elif key == "annotations":
                annotations = _check(value, list, "delta.annotations")
                if self.annotations is None:
                    self.annotations = []
                self.annotations.extend(annotations)
            elif key == "audio":
                self.audio_delta(_check(value, dict, "delta.audio"))
            else:
                self.extra_delta[key] = value

    def content_parts(self, parts: list[Any]) -> None:
        # Mistral magistral: typed parts; "text" to content, "thinking" to reasoning.
        for part in parts:
            if not isinstance(part, dict):
                raise TypeError(f"delta.content part is a {type(part).__name__}, not an object")
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                self.delta({"content": part["text"]})
            elif kind == "thinking":
                inner = part.get("thinking")
                pieces = [inner] if isinstance(inner, (str, dict)) else inner or []
                for piece in pieces:
                    text = piece if isinstance(piece, str) else piece.get("text")
                    if isinstance(text, str):
                        self.reasoning_delta("reasoning_content", text, {})
            else:
                # An unknown part type: keep it whole rather than drop it.
                parts_kept = self.extra_delta.setdefault("content_parts", [])
                parts_kept.append(part)

    def reasoning_delta(self, key: str, value: str, delta: Mapping[str, Any]) -> None:
        if not isinstance(value, str):
            raise TypeError(f"delta.{key} is a {type(value).__name__}, not text")
        primary = self.reasoning_key
        if primary is None:
            self.reasoning_key = primary = key
        elif key != primary and delta.get(primary) is not None:
            # Both names in one delta (vLLM during its rename, gateways): the same text
            # counts once; a different text is kept under its own name.
            if delta[primary] == value:
                return
            _add_text(self.alt_reasoning.setdefault(key, []), value)
            return
        if self.reasoning is None:
            self.reasoning = [value]
        else:
            _add_text(self.reasoning, value)

    def reasoning_details_delta(self, entries: list[Any]) -> None:
        # OpenRouter: entries carry an "index"; fragments of one entry are merged:
        # "text", "summary" and "data" appended, other fields last non-null.
        details = self.reasoning_details
        for entry in entries:
            if not isinstance(entry, dict):
                raise TypeError(f"reasoning_details entry is a {type(entry).__name__}")
            index = entry.get("index")
            target = None
            if isinstance(index, int):
                for existing in details:
                    if existing.get("index") == index:
                        target = existing
                        break
            if target is None:
                details.append(dict(entry))
                continue
            for fkey, fvalue in entry.items():
                if fvalue is None:
                    continue
                if fkey in ("text", "summary", "data") and isinstance(fvalue, str):
                    previous = target.get(fkey)
                    if previous is None:
                        target[fkey] = fvalue
                    elif type(previous) is _Fragments:
                        _add_text(previous, fvalue)
                    elif isinstance(previous, str):
                        target[fkey] = _Fragments((previous, fvalue))
                    else:
                        target[fkey] = previous + fvalue  # not text: a TypeError
                else:
                    target[fkey] = fvalue

    def audio_delta(self, audio: Mapping[str, Any]) -> None:
        # OpenAI audio output: "data" (base64) and "transcript" arrive in pieces.
        for key in ("data", "transcript"):
            if audio.get(key) is not None:
                _text(audio[key], f"delta.audio.{key}")
        state = self.audio
        if state is None:
            state = self.audio = {}
        for key, value in audio.items():
            if value is None:
                continue
            if key in ("data", "transcript"):
                _add_text(state.setdefault(key, []), _text(value, f"delta.audio.{key}"))
            elif key == "id":
                state.setdefault("id", value)
            else:
                state[key] = value

    def tool_call_delta(self, entry: Any) -> None:
        """Route one ``delta.tool_calls`` entry to the call it continues, or a new one.

        * With an ``index``: the call at that index, so an index starting at 1 works
          and several entries with one index in one delta continue one call (Bedrock).
          If the entry brings a non-empty id that differs from the id that call already
          has, it starts a new call at that index (vLLM, SGLang reuse index 0).
        * Without an index (Mistral, Gemini): a new non-empty id starts a new call; no
          id continues the last call.
        """
        if not isinstance(entry, dict):
            raise TypeError(f"tool_calls entry is a {type(entry).__name__}, not an object")
        if entry.get("function") is not None:
            _check(entry["function"], dict, "tool_calls[].function")
        index = entry.get("index")
        call_id = entry.get("id") or None
        calls = self.tool_calls
        if isinstance(index, int):
            call = self.tool_calls_by_index.get(index)
            if call is None or (call_id is not None and call.id is not None and call_id != call.id):
                call = _ToolCallState(index)
                calls.append(call)
                self.tool_calls_by_index[index] = call
        else:
            call = calls[-1] if calls else None
            if call is None or (call_id is not None and call_id != call.id):
                call = _ToolCallState(len(calls))
                calls.append(call)
        call.merge(entry)

    # -- choice fields

    def logprobs_delta(self, logprobs: Mapping[str, Any]) -> None:
        _check(logprobs, dict, "choices[].logprobs")
        state = self.logprobs
        if state is None:
            state = self.logprobs = {"content": None, "refusal": None}
        for key, value in logprobs.items():
            if value is None:
                continue
            if key in ("content", "refusal") and isinstance(value, list):
                tokens = state[key]
                if tokens is None:
                    state[key] = list(value)
                else:
                    tokens.extend(value)
            else:
                state[key] = value

    def to_dict(self, index: int) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role or "assistant",
            "content": None if self.content is None else _join(self.content),
            "refusal": None if self.refusal is None else _join(self.refusal),
        }
        if self.reasoning is not None and self.reasoning_key is not None:
            message[self.reasoning_key] = _join(self.reasoning)
        for key, parts in self.alt_reasoning.items():
            message[key] = _join(parts)
        if self.reasoning_details:
            message["reasoning_details"] = [
                {k: _join(v) if type(v) is _Fragments else v for k, v in entry.items()}
                for entry in self.reasoning_details
            ]
        if self.tool_calls:
            message["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.function_call is not None:
            function = self.function_call.to_dict()["function"]
            message["function_call"] = function
        if self.annotations is not None:
            message["annotations"] = list(self.annotations)
        if self.audio is not None:
            message["audio"] = {
                key: _join(value) if isinstance(value, list) else value
                for key, value in self.audio.items()
            }
        message.update(self.extra_delta)
        logprobs = None
        if self.logprobs is not None:
            logprobs = {
                key: list(value) if isinstance(value, list) else value
                for key, value in self.logprobs.items()
            }
        choice: dict[str, Any] = {
            "index": index,
            "message": message,
            "finish_reason": self.finish_reason,
            "logprobs": logprobs,
        }
        choice.update(self.extra)
        return choice


class ChatCompletionAccumulator:
    """Rebuild a :class:`ChatCompletion` from the chunks of a streamed response.

    Feed every chunk, in order, to :meth:`add`; read :attr:`completion` at any time
    (during the stream, after it, after an error) for everything merged so far. The
    merge rules are in this module's docstring; they follow the OpenAI API reference
    and the deviations of real providers.

    Args:
        keep_chunks: also keep every chunk added, in :attr:`chunks`. Off by default:
            memory then stays proportional to the rebuilt output, not to the stream.

    Attributes:
        chunk_count: how many chunks were added.
        chunks: the chunks added, if ``keep_chunks`` (else an empty list).
    """

    __slots__ = (
        "_choices",
        "_created",
        "_extra",
        "_id",
        "_keep",
        "_model",
        "_usage",
        "chunk_count",
        "chunks",
    )

    def __init__(self, *, keep_chunks: bool = False) -> None:
        self._keep = keep_chunks
        self.chunks: list[ChatCompletionChunk] = []
        self.chunk_count = 0
        self._id: str | None = None
        self._model: str | None = None
        self._created: int | None = None
        self._usage: dict[str, Any] | None = None
        self._extra: dict[str, Any] = {}
        self._choices: dict[int, _ChoiceState] = {}

    def add(self, chunk: ChatCompletionChunk | Mapping[str, Any]) -> None:
        """Merge one chunk: a :class:`ChatCompletionChunk` or its decoded JSON ``dict``.

        Raises:
            TypeError: ``chunk`` is neither (caller misuse).
            ChunkParseError: a field has a type no provider sends (``choices`` that is
                not a list, a tool call that is not an object...). What was merged before
                stays; the chunk's fields before the bad one may have been merged.
        """
        data: Mapping[str, Any]
        if type(chunk) is dict:  # the common case first: a decoded payload
            data = chunk
        elif isinstance(chunk, ChatCompletionChunk):
            data = chunk.to_dict()
        elif isinstance(chunk, Mapping):
            data = chunk
        else:
            raise TypeError(
                f"add() takes a ChatCompletionChunk or a dict, not {type(chunk).__name__}"
            )
        position = self.chunk_count
        self.chunk_count = position + 1
        if self._keep:
            self.chunks.append(
                chunk if isinstance(chunk, ChatCompletionChunk) else ChatCompletionChunk(dict(data))
            )
        try:
            self._add(data)
        except (TypeError, AttributeError, ValueError) as exc:
            raise ChunkParseError(
                f"chunk {position} is not a chat.completion.chunk: {exc}", position=position
            ) from exc

    def _add(self, data: Mapping[str, Any]) -> None:
        if self._id is None or self._model is None or self._created is None:
            if self._id is None and data.get("id"):
                self._id = data["id"]
            if self._model is None and data.get("model"):
                self._model = data["model"]
            if self._created is None and data.get("created"):
                self._created = data["created"]
        # Envelope fields keep their last non-null value. One C-level update does it
        # when the chunk holds no null (the fields with rules of their own are copied
        # too, and left out when the completion is built); measured, this halves the
        # envelope's share of add() against a Python loop over the fields.
        if None in data.values():
            self._extra.update({k: v for k, v in data.items() if v is not None})
        else:
            self._extra.update(data)
        usage = data.get("usage")
        if usage is not None:
            if not isinstance(usage, dict):
                raise TypeError(f"usage is a {type(usage).__name__}, not an object")
            self._usage = usage
        choices = data.get("choices")
        if not choices:
            return
        states = self._choices
        for position, choice in enumerate(choices):
            index = choice.get("index")
            if type(index) is not int:
                if index is not None:
                    raise TypeError(f"choices[{position}].index is a {type(index).__name__}")
                index = position
            state = states.get(index)
            if state is None:
                state = states[index] = _ChoiceState()
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if len(delta) == 1 and type(content) is str and state.content is not None:
                    # The bulk of a stream: one text fragment. _add_text, inlined: the
                    # call costs about 5% of this method (measured).
                    parts = state.content
                    parts.append(content)
                    if len(parts) > _FRAGMENTS:
                        _compact(parts)
                else:
                    state.delta(delta)
            finish_reason = choice.get("finish_reason")
            if finish_reason is not None:
                state.finish_reason = finish_reason
            logprobs = choice.get("logprobs")
            if logprobs is not None:
                state.logprobs_delta(logprobs)
            if not choice.keys() <= _CHOICE_OWN:
                for key, value in choice.items():
                    if value is not None and key not in _CHOICE_OWN:
                        state.extra[key] = value

    @property
    def completion(self) -> ChatCompletion:
        """The completion rebuilt so far, as a new :class:`ChatCompletion`.

        Each read builds a new object and joins the text gathered so far, so it costs
        time proportional to the output: read it once at the end (or now and then), not
        after every chunk.

        Its ``to_dict()`` has the shape of OpenAI's non-streaming ``chat.completion``:
        ``id``, ``object``, ``created``, ``model``, ``choices`` (ordered by index, each
        with ``message``, ``finish_reason`` and ``logprobs``), ``usage``, then the other
        envelope fields the server sent (``system_fingerprint``, ``service_tier``,
        provider extras).
        """
        data: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created,
            "model": self._model,
            "choices": [self._choices[i].to_dict(i) for i in sorted(self._choices)],
            "usage": self._usage,
        }
        data.update({k: v for k, v in self._extra.items() if k not in _ENVELOPE_OWN})
        return ChatCompletion(data)

    @property
    def usage(self) -> dict[str, Any] | None:
        """The usage object received so far, as the completion shows it, or None.

        Cheap to read (no completion is built): stream timings use it for output tokens.
        """
        return self._usage

    @property
    def finished(self) -> bool:
        """Whether at least one choice arrived and every choice has a ``finish_reason``."""
        return bool(self._choices) and all(
            state.finish_reason is not None for state in self._choices.values()
        )
