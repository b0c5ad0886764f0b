"""Layer 3: fold chat-completion chunks back into the full ``chat.completion``.

Each field has its own merge rule, learnt from real provider streams (see
``tests/fixtures/providers/INDEX.md``); nothing is "concatenate every string":

* text is appended: ``content``, ``refusal``, reasoning, function ``arguments``. A null
  fragment changes nothing; an empty one turns ``None`` into ``""`` (as the openai SDK).
* identity fields are set once, from the first non-empty value: ``role``, a tool call's
  ``id``, ``type`` and function ``name``. Repeats (Z.ai and Perplexity send ``role`` on
  every delta, Bedrock ``type`` on every fragment, watsonx ``name: ""``) never double them,
  and a later different value never replaces the first.
* reasoning comes as ``reasoning_content`` (DeepSeek, xAI, llama.cpp, Avian, Z.ai) or
  ``reasoning`` (OpenRouter, Groq, Cerebras, newer vLLM); the first name seen is kept
  for :meth:`ChatCompletion.to_dict`. The same text under both names in one delta counts
  once; ``reasoning_details`` (OpenRouter, Avian) is merged on its own, by entry
  ``index`` (``text``, ``summary``, ``data`` appended when they are text, other fields
  last non-null). Mistral's list ``content``: ``text`` parts to content, ``thinking``
  parts to reasoning, other parts kept whole under ``content_parts``.
* ``role`` defaults to ``"assistant"`` and a tool call's ``type`` to ``"function"``
  when the stream never sends them (Mistral, the Mistral API's GLM); tool-call
  ``arguments`` sent as a JSON object rather than text are serialised to text.
* ``annotations`` (OpenAI web search) are concatenated; ``audio``: ``data`` and
  ``transcript`` appended, ``id`` set once, other fields last non-null.
* tool calls are keyed by their ``index`` field, never by list position; see
  :meth:`_ChoiceState.tool_call_delta` for the cases without index or with a new id.
* ``finish_reason``: the last non-null value. ``usage``: per field, the last non-null
  value (a null only where no value came), never summed, from every place a provider
  puts it: the top-level ``usage``, Groq's ``x_groq.usage``, Moonshot's
  ``choices[].usage`` (the top-level one last in a chunk). So split usage (one count
  per chunk) and running totals both come out right; the raw objects stay in the
  completion (``x_groq``, the choice's ``usage``).
* custom tool calls (OpenAI ``type: "custom"``): ``custom.input`` appended,
  ``custom.name`` set once; no ``function`` is invented for them. A call of another
  type keeps its fields by the general rule (last non-null value).
* ``reasoning_details`` text (``text``, ``summary``) counts as reasoning in a choice that
  has sent no ``reasoning`` or ``reasoning_content`` field (MiniMax may send its
  reasoning only there; elsewhere the details repeat the text of those fields).
* chunk-only fields stay out of the completion: ``obfuscation`` (OpenAI's padding,
  in the envelope or, on Bedrock, the choice), and MiniMax's per-delta ``name`` and
  ``audio_content``.
* ``<think>`` tags in ``content`` are left alone unless ``think_tags`` is given (see
  :mod:`ssestream._think`).
* ``id``, ``model``, ``created``: the first non-empty value (Azure's first chunk has
  empty ones). Every other envelope, choice and delta field keeps its last non-null value.
* logprobs: the ``content`` and ``refusal`` token lists are concatenated.

Invariants:

* **The input is never changed.** Containers that merging grows (text fragments, token
  lists, tool calls, ``reasoning_details`` entries, ``annotations``, ``audio``) are
  the accumulator's own, made when a field first arrives. A value kept as sent (the
  last-non-null fields) is shared with the chunk it came from and with the completions
  built from it, and nothing in ssestream ever changes it.
* **Check, then merge.** :meth:`ChatCompletionAccumulator.add` first checks every field
  that has a rule against the type its rule needs (explicit checks, no exception caught
  around the merge), and raises :class:`ChunkParseError` before anything is merged. So
  a rejected chunk changes nothing but ``chunk_count``, and a chunk that passes cannot
  fail half-way. A field of an unexpected shape that no rule depends on (any provider
  extra, an ``audio`` field other than ``data``/``transcript``...) is kept as sent, never
  joined with anything.
* **Linear work.** Every lookup is a ``dict`` keyed by ``index`` (choices, tool calls,
  ``reasoning_details`` entries); nothing scans what was merged before.
* **One routing.** :meth:`ChatCompletionAccumulator.record_routes` logs which choice and
  which tool call each merged fragment went to; the typed events
  (:mod:`ssestream._events`) are built from that log, never from routing of their own.

Text fragments are kept in lists and joined when :attr:`completion` is read; a list is
also joined into one string as it grows (see :func:`_add_text`), so memory stays close to
the size of the text, and the work is linear in the output. Chunks themselves are not
kept unless asked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from operator import countOf
from typing import Any

from ._exceptions import ChunkParseError
from ._openai import chunk_payload
from ._think import ThinkTags, ThinkTagSplitter
from ._types import ChatCompletion, ChatCompletionChunk

__all__ = ["ChatCompletionAccumulator"]

# Envelope fields with a rule of their own; the rest keep their last non-null value.
_ENVELOPE_OWN = frozenset({"id", "model", "created", "object", "choices", "usage"})
# Fields of the chunks that are not part of the completion: OpenAI's per-chunk padding
# against length side channels (in the envelope; Bedrock puts it in the choice), and
# MiniMax's per-delta "name": "MiniMax AI" and "audio_content": "".
_CHUNK_ONLY = frozenset({"obfuscation"})
_DELTA_CHUNK_ONLY = frozenset({"obfuscation", "name", "audio_content"})
_CHOICE_OWN = frozenset({"index", "delta", "finish_reason", "logprobs"})
# Delta fields whose value must be text (None aside).
_DELTA_TEXT = ("role", "refusal", "reasoning_content", "reasoning")
# The reasoning_details fields that are appended when they are text.
_DETAIL_TEXT = ("text", "summary", "data")

# The kinds of entry in the route log (see ChatCompletionAccumulator.record_routes).
CONTENT = "content"  # (CONTENT, choice index, text, the fragments of the whole text)
REFUSAL = "refusal"  # (REFUSAL, choice index, text, fragments)
REASONING = "reasoning"  # (REASONING, choice index, text, fragments, field name)
TOOL_CALL = "tool_call"  # (TOOL_CALL, choice index, position if it starts, call, text)
LOGPROBS = "logprobs"  # (LOGPROBS, choice index, the logprobs object as sent)
FINISH = "finish"  # (FINISH, choice index, finish_reason)
USAGE = "usage"  # (USAGE, None, usage)


# --------------------------------------------------------------------------- checks
#
# The checks read a chunk and the state, never change either, and build no message
# unless a field is wrong: they run on every chunk, before anything is merged.


class _RejectedError(Exception):
    """A field whose type no merge rule accepts; :meth:`ChatCompletionAccumulator.add`
    turns it into :class:`ChunkParseError`. Raised by the checks only, never by merging."""


def _kind(value: Any) -> str:
    """The JSON name of a value's type, with its article, for messages."""
    if value is None:
        return "a null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _reject(where: str, value: Any, expected: str) -> _RejectedError:
    return _RejectedError(f"{where} is {_kind(value)}, not {expected}")


def _arguments_text(value: Any) -> str | None:
    """Tool-call ``arguments`` as text: a string as is, an object or array serialised.

    Returns ``None`` for anything else, and for a container that is not JSON (too deep,
    or holding a value JSON has no form for).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            return None
    return None


def _function_problem(function: Any) -> tuple[str, Any, str] | None:
    """What is wrong with a tool call's ``function`` (or the deprecated
    ``delta.function_call``): ``(field path below it, value, what it should be)``."""
    if type(function) is not dict and not isinstance(function, dict):
        return "", function, "an object"
    for key, value in function.items():
        if value is None or type(value) is str:
            continue
        if key == "arguments":
            if _arguments_text(value) is None:
                return ".arguments", value, "a string or a JSON object"
        elif key == "name" and not isinstance(value, str):
            return ".name", value, "a string"
    return None


def _check_tool_calls(entries: Any, position: int) -> None:
    """``choices[position].delta.tool_calls``."""
    if type(entries) is not list and not isinstance(entries, list):
        raise _reject(f"choices[{position}].delta.tool_calls", entries, "an array")
    for number, entry in enumerate(entries):
        if type(entry) is not dict and not isinstance(entry, dict):
            where = f"choices[{position}].delta.tool_calls[{number}]"
            raise _reject(where, entry, "an object")
        for key, value in entry.items():
            if value is None:
                continue
            if key == "function":
                if type(value) is dict:
                    for field in value.values():
                        if field is not None and type(field) is not str:
                            break
                    else:
                        continue  # the usual: text or nulls
                problem = _function_problem(value)
                if problem is not None:
                    field, value, expected = problem
                    where = f"choices[{position}].delta.tool_calls[{number}].function{field}"
                    raise _reject(where, value, expected)
            elif key == "custom":
                where = f"choices[{position}].delta.tool_calls[{number}].custom"
                if not isinstance(value, dict):
                    raise _reject(where, value, "an object")
                for field in ("name", "input"):
                    text = value.get(field)
                    if text is not None and not isinstance(text, str):
                        raise _reject(f"{where}.{field}", text, "a string")
            elif key == "index":
                if type(value) is not int:  # bool is an int to Python, not to JSON
                    where = f"choices[{position}].delta.tool_calls[{number}].index"
                    raise _reject(where, value, "an integer")
            elif (key == "id" or key == "type") and not isinstance(value, str):
                where = f"choices[{position}].delta.tool_calls[{number}].{key}"
                raise _reject(where, value, "a string")


def _is_arguments_fragment(delta: dict[str, Any]) -> bool:
    """Whether a one-field delta is exactly ``{"tool_calls": [{"index": <int>,
    "function": {"arguments": <str>}}]}``, the bulk of a tool-call stream (then it needs
    no other check)."""
    entries = delta.get("tool_calls")
    if type(entries) is not list or len(entries) != 1:
        return False
    entry = entries[0]
    if type(entry) is not dict or len(entry) != 2 or type(entry.get("index")) is not int:
        return False
    function = entry.get("function")
    return type(function) is dict and len(function) == 1 and type(function.get("arguments")) is str


def _check_reasoning_details(
    entries: Any, where: str, merged: dict[int, dict[str, Any]], pending: dict[Any, bool]
) -> None:
    """Entries are objects with an integer ``index`` or none. The text fields of one
    entry are text in every fragment or in none: text is appended and other values
    replace, so mixing the two would join text with a value that is not.

    ``merged`` holds the entries merged so far, by index; ``pending`` records the kind
    of the text fields met earlier in the same chunk.
    """
    if not isinstance(entries, list):
        raise _reject(where, entries, "an array")
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _reject(f"{where}[{position}]", entry, "an object")
        index = entry.get("index")
        if index is None:
            continue
        if type(index) is not int:
            raise _reject(f"{where}[{position}].index", index, "an integer")
        for key in _DETAIL_TEXT:
            value = entry.get(key)
            if value is None:
                continue
            is_text = isinstance(value, str)
            was_text = pending.get((index, key))
            if was_text is None:
                target = merged.get(index)
                previous = None if target is None else target.get(key)
                if previous is not None:
                    was_text = isinstance(previous, str) or type(previous) is _Fragments
            if was_text is not None and was_text != is_text:
                raise _RejectedError(
                    f"{where}[{position}].{key} is {_kind(value)} where the earlier fragments"
                    f" of entry {index} were {'text' if was_text else 'not text'}"
                )
            pending[index, key] = is_text


def _check_delta(
    delta: dict[str, Any], position: int, state: _ChoiceState | None, pending: dict[Any, bool]
) -> None:
    """Check the fields of ``choices[position].delta`` that have a rule.

    ``state`` is the choice's state so far, or None; ``pending`` is this choice's record
    for :func:`_check_reasoning_details`, shared by the choice's deltas in one chunk.
    """
    for key, value in delta.items():
        if value is None:
            continue
        if key == "content":
            if type(value) is str or isinstance(value, str):
                continue
            where = f"choices[{position}].delta.content"
            if not isinstance(value, list):
                raise _reject(where, value, "a string or an array of parts")
            for number, part in enumerate(value):
                if not isinstance(part, dict):
                    raise _reject(f"{where}[{number}]", part, "an object")
        elif key == "tool_calls":
            _check_tool_calls(value, position)
        elif key in _DELTA_TEXT:
            if type(value) is not str and not isinstance(value, str):
                raise _reject(f"choices[{position}].delta.{key}", value, "a string")
        elif key == "function_call":
            problem = _function_problem(value)
            if problem is not None:
                field, value, expected = problem
                where = f"choices[{position}].delta.function_call{field}"
                raise _reject(where, value, expected)
        elif key == "reasoning_details":
            merged = state.reasoning_details_by_index if state is not None else {}
            where = f"choices[{position}].delta.reasoning_details"
            _check_reasoning_details(value, where, merged, pending)
        elif key == "annotations":
            if not isinstance(value, list):
                raise _reject(f"choices[{position}].delta.annotations", value, "an array")
        elif key == "audio":
            if not isinstance(value, dict):
                raise _reject(f"choices[{position}].delta.audio", value, "an object")
            for field in ("data", "transcript"):
                text = value.get(field)
                if text is not None and not isinstance(text, str):
                    raise _reject(f"choices[{position}].delta.audio.{field}", text, "a string")


def _check_choice(
    choice: Any, position: int, states: dict[int, _ChoiceState], pending: dict[Any, Any]
) -> None:
    """Check ``choices[position]`` whole (the chunks with several choices are checked
    with this before any is merged; the usual one-choice chunk is checked as it is
    merged, by the same rules: see :meth:`ChatCompletionAccumulator._merge_choices`)."""
    if not isinstance(choice, dict):
        raise _reject(f"choices[{position}]", choice, "an object")
    index = choice.get("index")
    if type(index) is not int:
        if index is not None:
            raise _reject(f"choices[{position}].index", index, "an integer")
        index = position
    finish_reason = choice.get("finish_reason")
    if finish_reason is not None and not isinstance(finish_reason, str):
        raise _reject(f"choices[{position}].finish_reason", finish_reason, "a string")
    logprobs = choice.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, dict):
        raise _reject(f"choices[{position}].logprobs", logprobs, "an object")
    delta = choice.get("delta")
    if delta is not None:
        if not isinstance(delta, dict):
            raise _reject(f"choices[{position}].delta", delta, "an object")
        _check_delta(delta, position, states.get(index), pending.setdefault(index, {}))


# --------------------------------------------------------------------------- text


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
    """Text fragments of a field kept in a ``dict`` with values as sent
    (``reasoning_details`` entries, ``audio``), joined when the completion is built:
    a list of its own type, unlike any value a provider sends."""

    __slots__ = ()


def _join(parts: list[str]) -> str:
    """Join text fragments, collapsing the list so the next join starts from one piece."""
    if len(parts) == 1:
        return parts[0]
    text = "".join(parts)
    parts[:] = [text]
    return text


def _merge_text(target: dict[str, Any], key: str, fragment: str) -> None:
    """Append a text fragment to ``target[key]``, which is absent, a str or _Fragments."""
    previous = target.get(key)
    if previous is None:
        target[key] = fragment
    elif type(previous) is _Fragments:
        _add_text(previous, fragment)
    else:
        target[key] = _Fragments((previous, fragment))


def text_prefix(parts: list[str], length: int) -> str:
    """The first ``length`` characters of the text whose fragments are ``parts`` (a
    list of the accumulator's, joined in place as :attr:`completion` does)."""
    text = _join(parts) if parts else ""
    return text if len(text) == length else text[:length]


def _joined(entry: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``entry`` with its _Fragments joined."""
    return {k: _join(v) if type(v) is _Fragments else v for k, v in entry.items()}


# --------------------------------------------------------------------------- tool calls


class _ToolCallState:
    __slots__ = (
        "arguments",
        "custom_extra",
        "custom_input",
        "custom_name",
        "extra",
        "function_extra",
        "has_function",
        "id",
        "index",
        "name",
        "text",
        "type",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []
        self.extra: dict[str, Any] = {}
        self.function_extra: dict[str, Any] = {}
        self.has_function = False
        # A custom tool call (OpenAI "custom" tools): name set once, input appended.
        self.custom_name: str | None = None
        self.custom_input: list[str] | None = None  # None: no "custom" object seen
        self.custom_extra: dict[str, Any] = {}
        # The fragments the route log reports (and the events add up): those of the
        # field that brought the call's first text, function arguments or custom input.
        self.text: list[str] | None = None

    def merge(self, entry: Mapping[str, Any]) -> str | None:
        """Merge one checked tool-call entry (see :func:`_check_tool_calls`); return the
        text it added to :attr:`text` (the arguments, or a custom call's input), if any."""
        added = None
        for key, value in entry.items():
            if value is None or key == "index":
                continue
            if key == "function":
                self.has_function = True
                for fkey, fvalue in value.items():
                    if fvalue is None:
                        continue
                    if fkey == "arguments":
                        if type(fvalue) is not str:
                            # Some servers send the arguments as a JSON object: checked
                            # to serialise, so this is never None.
                            fvalue = _arguments_text(fvalue) or ""
                        added = self._add(self.arguments, fvalue, added)
                    elif fkey == "name":
                        if self.name is None and fvalue:
                            self.name = fvalue
                    else:
                        self.function_extra[fkey] = fvalue
            elif key == "custom":
                added = self.merge_custom(value, added)
            elif key == "id":
                if self.id is None and value:
                    self.id = value
            elif key == "type":
                if self.type is None and value:
                    self.type = value
            else:
                self.extra[key] = value
        return added

    def merge_custom(self, custom: Mapping[str, Any], added: str | None) -> str | None:
        """Merge the ``custom`` object of a checked entry; return ``added`` plus the input
        text it brought (for the route log, like function arguments)."""
        if self.custom_input is None:
            self.custom_input = []
        for key, value in custom.items():
            if value is None:
                continue
            if key == "input":
                added = self._add(self.custom_input, value, added)
            elif key == "name":
                if self.custom_name is None and value:
                    self.custom_name = value
            else:
                self.custom_extra[key] = value
        return added

    def _add(self, parts: list[str], text: str, added: str | None) -> str | None:
        """Append ``text`` to ``parts`` (the arguments, or the custom input); the first
        field to bring text becomes :attr:`text`. Return ``added`` plus ``text`` if
        ``parts`` is that field (what the route log reports), else ``added``."""
        _add_text(parts, text)
        if self.text is None:
            self.text = parts
        if self.text is not parts:
            return added
        return text if added is None else added + text

    def to_dict(self) -> dict[str, Any]:
        custom = self.custom_input
        kind = self.type or (
            "custom" if custom is not None and not self.has_function else "function"
        )
        call: dict[str, Any] = {"id": self.id, "type": kind}
        if kind == "function" or self.has_function:
            function: dict[str, Any] = {
                "name": self.name,
                "arguments": _join(self.arguments) if self.arguments else "",
            }
            for key, value in self.function_extra.items():
                function.setdefault(key, value)
            call["function"] = function
        if custom is not None:
            inner: dict[str, Any] = {
                "name": self.custom_name,
                "input": _join(custom) if custom else "",
            }
            for key, value in self.custom_extra.items():
                inner.setdefault(key, value)
            call["custom"] = inner
        for key, value in self.extra.items():
            call.setdefault(key, value)
        return call


# --------------------------------------------------------------------------- choices


class _ChoiceState:
    __slots__ = (
        "alt_reasoning",
        "annotations",
        "audio",
        "content",
        "content_parts",
        "details_text",
        "extra",
        "extra_delta",
        "finish_reason",
        "function_call",
        "index",
        "log",
        "logprobs",
        "reasoning",
        "reasoning_details",
        "reasoning_details_by_index",
        "reasoning_key",
        "refusal",
        "role",
        "think",
        "tool_calls",
        "tool_calls_by_index",
    )

    def __init__(
        self, index: int, log: list[tuple[Any, ...]] | None, think: ThinkTags | None = None
    ) -> None:
        self.index = index
        self.think: ThinkTagSplitter | None = None if think is None else think.splitter()
        # Whether reasoning_details text is the reasoning: None until known, False once
        # a reasoning text field came (the details then repeat it).
        self.details_text: bool | None = None
        self.log = log  # see ChatCompletionAccumulator._routes
        self.role: str | None = None
        self.content: list[str] | None = None
        self.content_parts: list[Any] | None = None
        self.refusal: list[str] | None = None
        self.reasoning: list[str] | None = None
        self.reasoning_key: str | None = None
        self.alt_reasoning: dict[str, list[str]] = {}
        self.reasoning_details: list[dict[str, Any]] = []
        self.reasoning_details_by_index: dict[int, dict[str, Any]] = {}
        self.tool_calls: list[_ToolCallState] = []
        self.tool_calls_by_index: dict[int, _ToolCallState] = {}
        self.function_call: _ToolCallState | None = None
        self.annotations: list[Any] | None = None
        self.audio: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.logprobs: dict[str, Any] | None = None
        self.extra: dict[str, Any] = {}
        self.extra_delta: dict[str, Any] = {}

    # -- merging (checked input only: nothing here raises on a checked chunk)

    def delta(self, delta: Mapping[str, Any]) -> None:
        for key, value in delta.items():
            if value is None:
                continue
            if key == "content":
                if type(value) is str:
                    if self.think is not None:
                        sent = value
                        value, reasoning = self.think.feed(sent)
                        if reasoning:
                            self.reasoning_delta("reasoning_content", reasoning, {})
                        if not value and sent:
                            continue  # all of it was reasoning or a tag (held back)
                    if self.content is None:
                        self.content = [value]
                    else:
                        _add_text(self.content, value)
                    if self.log is not None:
                        self.log.append((CONTENT, self.index, value, self.content))
                else:
                    self.content_part_list(value)
            elif key == "role":
                if self.role is None and value:
                    self.role = value
            elif key == "tool_calls":
                for entry in value:
                    self.tool_call_delta(entry)
            elif key == "reasoning_content" or key == "reasoning":
                self.details_text = False
                self.reasoning_delta(key, value, delta)
            elif key == "refusal":
                if self.refusal is None:
                    self.refusal = [value]
                else:
                    _add_text(self.refusal, value)
                if self.log is not None:
                    self.log.append((REFUSAL, self.index, value, self.refusal))
            elif key == "reasoning_details":
                self.reasoning_details_delta(value)
                if (
                    self.details_text is not False
                    and delta.get("reasoning_content") is None
                    and delta.get("reasoning") is None
                ):
                    # The only copy of the reasoning (MiniMax): its text is the reasoning.
                    self.details_text = True
                    for entry in value:
                        for field in ("text", "summary"):
                            text = entry.get(field)
                            if type(text) is str and text:
                                self.reasoning_delta("reasoning_content", text, {})
            elif key == "function_call":
                if self.function_call is None:
                    self.function_call = _ToolCallState(0)
                self.function_call.merge({"function": value})
            elif key == "annotations":
                if self.annotations is None:
                    self.annotations = []
                self.annotations.extend(value)
            elif key == "audio":
                self.audio_delta(value)
            else:
                self.extra_delta[key] = value

    def content_part_list(self, parts: list[Any]) -> None:
        # Mistral magistral: typed parts; "text" to content, "thinking" to reasoning.
        for part in parts:
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                self.delta({"content": part["text"]})
                continue
            if kind == "thinking":
                texts = _thinking_texts(part.get("thinking"))
                if texts is not None:
                    for text in texts:
                        self.reasoning_delta("reasoning_content", text, {})
                    continue
            # A part of another type or shape: kept whole rather than dropped.
            if self.content_parts is None:
                self.content_parts = []
            self.content_parts.append(part)

    def flush_think(self) -> None:
        """The choice ended: text held back in case a ``<think>`` tag was cut is what it
        is (:meth:`ThinkTagSplitter.flush`), merged and logged as any fragment, so that
        the events carry it too, not only the completion."""
        assert self.think is not None
        content, reasoning = self.think.flush()
        if reasoning:
            self.reasoning_delta("reasoning_content", reasoning, {})
        if content:
            if self.content is None:
                self.content = [content]
            else:
                _add_text(self.content, content)
            if self.log is not None:
                self.log.append((CONTENT, self.index, content, self.content))

    def reasoning_delta(self, key: str, value: str, delta: Mapping[str, Any]) -> None:
        primary = self.reasoning_key
        if primary is None:
            self.reasoning_key = primary = key
        elif key != primary and delta.get(primary) is not None:
            # Both names in one delta (vLLM during its rename, gateways): the same text
            # counts once; a different text is kept under its own name.
            if delta[primary] == value:
                return
            parts = self.alt_reasoning.setdefault(key, [])
            _add_text(parts, value)
            if self.log is not None:
                self.log.append((REASONING, self.index, value, parts, key))
            return
        if self.reasoning is None:
            self.reasoning = [value]
        else:
            _add_text(self.reasoning, value)
        if self.log is not None:
            self.log.append((REASONING, self.index, value, self.reasoning, primary))

    def reasoning_details_delta(self, entries: list[dict[str, Any]]) -> None:
        # OpenRouter: entries carry an "index"; fragments of one entry are merged:
        # "text", "summary" and "data" appended, other fields last non-null. An entry
        # without index is kept as it came.
        by_index = self.reasoning_details_by_index
        for entry in entries:
            index = entry.get("index")
            target = None if index is None else by_index.get(index)
            if target is None:
                target = dict(entry)
                self.reasoning_details.append(target)
                if index is not None:
                    by_index[index] = target
                continue
            for key, value in entry.items():
                if value is None:
                    continue
                if key in _DETAIL_TEXT and type(value) is str:
                    _merge_text(target, key, value)
                else:
                    target[key] = value

    def audio_delta(self, audio: Mapping[str, Any]) -> None:
        # OpenAI audio output: "data" (base64) and "transcript" arrive in pieces.
        state = self.audio
        if state is None:
            state = self.audio = {}
        for key, value in audio.items():
            if value is None:
                continue
            if key == "data" or key == "transcript":
                _merge_text(state, key, value)
            elif key == "id":
                state.setdefault("id", value)
            else:
                state[key] = value

    def tool_call_delta(self, entry: Mapping[str, Any]) -> None:
        """Route one ``delta.tool_calls`` entry to the call it continues, or a new one.

        * With an ``index``: the call at that index, so an index starting at 1 works
          and several entries with one index in one delta continue one call (Bedrock).
          If the entry brings a non-empty id that differs from the id that call already
          has, it starts a new call at that index (vLLM, SGLang reuse index 0).
        * Without an index (Mistral, Gemini): a new non-empty id starts a new call; no
          id continues the last call.
        """
        index = entry.get("index")
        call_id = entry.get("id") or None
        calls = self.tool_calls
        started = False
        if index is not None:
            call = self.tool_calls_by_index.get(index)
            if call is None or (call_id is not None and call.id is not None and call_id != call.id):
                call = _ToolCallState(index)
                calls.append(call)
                self.tool_calls_by_index[index] = call
                started = True
        else:
            call = calls[-1] if calls else None
            if call is None or (call_id is not None and call_id != call.id):
                call = _ToolCallState(len(calls))
                calls.append(call)
                started = True
        added = call.merge(entry)
        if self.log is not None:
            # The call's position in message.tool_calls if it starts here, the call,
            # and the arguments text this entry added.
            position = len(calls) - 1 if started else None
            self.log.append((TOOL_CALL, self.index, position, call, added))

    # -- choice fields

    def logprobs_delta(self, logprobs: Mapping[str, Any]) -> None:
        state = self.logprobs
        if state is None:
            state = self.logprobs = {"content": None, "refusal": None}
        for key, value in logprobs.items():
            if value is None:
                continue
            if (key == "content" or key == "refusal") and isinstance(value, list):
                tokens = state[key]
                # A list in the state is always the accumulator's own copy.
                if type(tokens) is list:
                    tokens.extend(value)
                else:
                    state[key] = list(value)
            else:
                state[key] = value

    def to_dict(self, index: int) -> dict[str, Any]:
        content = None if self.content is None else _join(self.content)
        reasoning = None if self.reasoning is None else _join(self.reasoning)
        reasoning_key = self.reasoning_key
        if self.think is not None:
            # Text held back in case a tag is cut: shown as what it is so far.
            held_content, held_reasoning = self.think.peek()
            if held_content:
                content = (content or "") + held_content
            if held_reasoning:
                reasoning = (reasoning or "") + held_reasoning
                reasoning_key = reasoning_key or "reasoning_content"
        message: dict[str, Any] = {
            "role": self.role or "assistant",
            "content": content,
            "refusal": None if self.refusal is None else _join(self.refusal),
        }
        if reasoning is not None and reasoning_key is not None:
            message[reasoning_key] = reasoning
        for key, parts in self.alt_reasoning.items():
            message[key] = _join(parts)
        if self.reasoning_details:
            message["reasoning_details"] = [_joined(entry) for entry in self.reasoning_details]
        if self.tool_calls:
            message["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.function_call is not None:
            message["function_call"] = self.function_call.to_dict()["function"]
        if self.annotations is not None:
            message["annotations"] = list(self.annotations)
        if self.audio is not None:
            message["audio"] = _joined(self.audio)
        for key, value in self.extra_delta.items():
            if key not in _DELTA_CHUNK_ONLY:
                message.setdefault(key, value)
        if self.content_parts is not None:
            message["content_parts"] = list(self.content_parts)
        logprobs = None
        if self.logprobs is not None:
            logprobs = {
                key: list(value) if type(value) is list else value
                for key, value in self.logprobs.items()
            }
        choice: dict[str, Any] = {
            "index": index,
            "message": message,
            "finish_reason": self.finish_reason,
            "logprobs": logprobs,
        }
        for key, value in self.extra.items():
            if key not in _CHUNK_ONLY:
                choice.setdefault(key, value)
        return choice


def _thinking_texts(inner: Any) -> list[str] | None:
    """The texts of a Mistral ``thinking`` part's value: a string, a ``{"text": ...}``
    object or a list of either. ``None`` when it has another shape (kept whole)."""
    if inner is None:
        return []
    if isinstance(inner, (str, dict)):
        inner = [inner]
    elif not isinstance(inner, list):
        return None
    texts = []
    for piece in inner:
        text = piece if isinstance(piece, str) else None
        if isinstance(piece, dict):
            text = piece.get("text")
            if text is None:
                continue
        if not isinstance(text, str):
            return None
        texts.append(text)
    return texts


# --------------------------------------------------------------------------- accumulator


class ChatCompletionAccumulator:
    """Rebuild a :class:`ChatCompletion` from the chunks of a streamed response.

    Feed every chunk, in order, to :meth:`add`; read :attr:`completion` at any time
    (during the stream, after it, after an error) for everything merged so far. The
    merge rules are in this module's docstring; they follow the OpenAI API reference
    and the deviations of real providers. The chunks given are never changed.

    Args:
        keep_chunks: also keep every chunk merged, in :attr:`chunks`. Off by default:
            memory then stays proportional to the rebuilt output, not to the stream.
        think_tags: split ``<think>...</think>`` reasoning out of ``content`` into the
            message's ``reasoning_content`` (models served without a reasoning parser:
            Qwen3 and DeepSeek-R1 distills on vLLM or llama.cpp, MiniMax-M2). ``True``
            for the usual tags, or a :class:`~ssestream.ThinkTags` for other tags or a
            stream that starts inside the block. Off by default: content stays
            verbatim. Only the completion changes; the chunks are as sent.

    Raises:
        TypeError: ``think_tags`` is neither a ``bool`` nor a ``ThinkTags``.

    Attributes:
        chunk_count: how many chunks :meth:`add` was given, rejected ones included (the
            ``position`` of a :class:`ChunkParseError` counts them all).
        chunks: the chunks merged, if ``keep_chunks`` (else an empty list).
    """

    __slots__ = (
        "_choices",
        "_created",
        "_extra",
        "_id",
        "_identified",
        "_keep",
        "_model",
        "_routes",
        "_think",
        "_usage",
        "chunk_count",
        "chunks",
    )

    def __init__(self, *, keep_chunks: bool = False, think_tags: bool | ThinkTags = False) -> None:
        if think_tags is True:
            think_tags = ThinkTags()
        elif not (think_tags is False or isinstance(think_tags, ThinkTags)):
            raise TypeError(
                f"think_tags is True, False or a ThinkTags, not {type(think_tags).__name__}"
            )
        self._think: ThinkTags | None = think_tags or None
        self._keep = keep_chunks
        self.chunks: list[ChatCompletionChunk] = []
        self.chunk_count = 0
        self._id: str | None = None
        self._model: str | None = None
        self._created: int | float | None = None
        self._usage: dict[str, Any] | None = None
        self._extra: dict[str, Any] = {}
        self._choices: dict[int, _ChoiceState] = {}
        self._identified = False  # id, model and created are all set
        self._routes: list[tuple[Any, ...]] | None = None

    def record_routes(self) -> list[tuple[Any, ...]]:
        """Start logging where :meth:`add` merges each fragment; return the log.

        For the events layer (:mod:`ssestream._events`), which must route fragments
        exactly as the completion does. From now on, every chunk merged appends, in the
        order of merging, one tuple per fragment: ``(kind, choice index, ...)`` with
        ``kind`` one of :data:`CONTENT`, :data:`REFUSAL`, :data:`REASONING` (with the
        field name the text is kept under), :data:`TOOL_CALL` (with the call's position
        in ``message.tool_calls`` if this entry starts it, else ``None``; the call's
        state; the arguments text added or ``None``), :data:`LOGPROBS`, :data:`FINISH`,
        :data:`USAGE`. The caller empties the list as it reads it. A rejected chunk logs
        nothing. Costs nothing until called (one ``None`` test per chunk).
        """
        if self._routes is None:
            self._routes = []
            for state in self._choices.values():
                state.log = self._routes
        return self._routes

    def flush_think(self) -> None:
        """End of the stream: text each choice's ``<think>`` splitter held back (in case
        a tag was cut) is merged as what it is, and logged as fragments for the events.
        Nothing without ``think_tags``; the completion reads the same either way."""
        if self._think is not None:
            for state in self._choices.values():
                if state.think is not None:
                    state.flush_think()

    def add(self, chunk: ChatCompletionChunk | Mapping[str, Any]) -> None:
        """Merge one chunk: a :class:`ChatCompletionChunk`, its decoded JSON ``dict``, or
        a chunk of the openai SDK (``openai.types.chat.ChatCompletionChunk``, read as the
        fields the server sent: ``model_dump(exclude_unset=True)``).

        The chunk is checked whole before anything is merged: if it is rejected, the
        accumulator is as it was (only :attr:`chunk_count` moved on), and merging can go
        on with the next chunk.

        Raises:
            TypeError: ``chunk`` is none of these (caller misuse).
            ChunkParseError: a field has a type its merge rule cannot take, e.g.
                ``choices`` that is not an array, a tool call that is not an object, a
                text field that is not a string, an ``index`` that is not an integer.
                Its message names the field; ``position`` is the chunk's number
                (0-based, counting every chunk given).
        """
        data: Mapping[str, Any]
        if type(chunk) is dict:  # the common case first: a decoded payload
            data = chunk
        elif isinstance(chunk, ChatCompletionChunk):
            data = chunk.to_dict()
        elif isinstance(chunk, Mapping):
            data = chunk
        else:
            payload = chunk_payload(chunk)
            if payload is None:
                raise TypeError(
                    "add() takes a chunk: an ssestream.ChatCompletionChunk, the decoded JSON"
                    " dict of one, or an openai SDK ChatCompletionChunk; got "
                    f"{type(chunk).__module__}.{type(chunk).__qualname__}"
                )
            data = chunk = payload
        number = self.chunk_count  # this chunk's position; "position" is a choice's below
        self.chunk_count = number + 1
        # Check, then merge; _RejectedError before any change. The merge is in this
        # method, not one it calls: a frame less per chunk, 0.07 us (measured).
        #
        # Order: the envelope's checks, the choices, then the envelope's merge. A chunk
        # with several choices is checked whole by _check_choice before any is merged;
        # the usual one-choice chunk is checked as it is merged (the same checks,
        # inlined below), each before the state changes. id, model and created are
        # checked until they are set: later values are not read at all.
        try:
            identified = self._identified
            routes = self._routes
            choice_usage = False
            if not identified:
                for key in ("id", "model"):
                    value = data.get(key)
                    if value is not None and not isinstance(value, str):
                        raise _reject(key, value, "a string")
                created = data.get("created")
                if created is not None and type(created) is not int and type(created) is not float:
                    raise _reject("created", created, "a number")
            usage = data.get("usage")
            if usage is not None and type(usage) is not dict and not isinstance(usage, dict):
                raise _reject("usage", usage, "an object")
            choices = data.get("choices")
            if choices:
                if type(choices) is not list and not isinstance(choices, list):
                    raise _reject("choices", choices, "an array")
                states = self._choices
                checked = len(choices) > 1
                if checked:
                    pending: dict[Any, Any] = {}
                    for position, choice in enumerate(choices):
                        _check_choice(choice, position, states, pending)
                fragment_only = False  # the choice's delta was one fragment, merged
                for position, choice in enumerate(choices):
                    if type(choice) is not dict and not isinstance(choice, dict):
                        raise _reject(f"choices[{position}]", choice, "an object")
                    index = choice.get("index")
                    if type(index) is not int:
                        if index is not None:
                            raise _reject(f"choices[{position}].index", index, "an integer")
                        index = position
                    finish_reason = choice.get("finish_reason")
                    if (
                        finish_reason is not None
                        and type(finish_reason) is not str
                        and not isinstance(finish_reason, str)
                    ):
                        where = f"choices[{position}].finish_reason"
                        raise _reject(where, finish_reason, "a string")
                    logprobs = choice.get("logprobs")
                    if (
                        logprobs is not None
                        and type(logprobs) is not dict
                        and not isinstance(logprobs, dict)
                    ):
                        raise _reject(f"choices[{position}].logprobs", logprobs, "an object")
                    state = states.get(index)
                    delta = choice.get("delta")
                    if delta:
                        if type(delta) is not dict and not isinstance(delta, dict):
                            raise _reject(f"choices[{position}].delta", delta, "an object")
                        content = delta.get("content")
                        if (
                            len(delta) == 1
                            and type(content) is str
                            and state is not None
                            and state.think is None
                        ):
                            # The bulk of a stream: one text fragment. _add_text, inlined:
                            # the call costs about 5% of this method (measured).
                            parts = state.content
                            if parts is None:
                                state.content = [content]
                            else:
                                parts.append(content)
                                if len(parts) > _FRAGMENTS:
                                    _compact(parts)
                            if routes is not None:
                                routes.append((CONTENT, index, content, state.content))
                            fragment_only = True
                        elif (
                            len(delta) == 1 and state is not None and _is_arguments_fragment(delta)
                        ):
                            # The bulk of a tool call: {"tool_calls": [{"index": 0,
                            # "function": {"arguments": "..."}}]}, checked by the test.
                            entry = delta["tool_calls"][0]
                            call = state.tool_calls_by_index.get(entry["index"])
                            if call is not None and call.text is call.arguments:
                                # It continues a call whose text is its arguments: what
                                # tool_call_delta and merge would do, without their
                                # three frames and loops (0.4 us a fragment, measured).
                                fragment = entry["function"]["arguments"]
                                parts = call.arguments
                                parts.append(fragment)
                                if len(parts) > _FRAGMENTS:
                                    _compact(parts)
                                if routes is not None:
                                    routes.append((TOOL_CALL, index, None, call, fragment))
                                fragment_only = True
                            else:
                                state.tool_call_delta(entry)
                        else:
                            if not checked:
                                _check_delta(delta, position, state, {})
                            if state is None:
                                state = states[index] = _ChoiceState(index, routes, self._think)
                            state.delta(delta)
                    elif delta is not None and not isinstance(delta, dict):
                        raise _reject(f"choices[{position}].delta", delta, "an object")
                    if (
                        fragment_only
                        and finish_reason is None
                        and logprobs is None
                        and usage is None
                        and not checked
                        and identified
                        and "x_groq" not in data
                        and not self._keep
                        and (
                            (
                                len(choice) == 4
                                and "finish_reason" in choice
                                and "logprobs" in choice
                            )
                            or choice.keys() <= _CHOICE_OWN
                        )
                    ):
                        # The bulk of a stream ends here: one choice, one text or
                        # arguments fragment merged above, nothing else in the choice
                        # (OpenAI's four fields told by len and two lookups, 45 ns
                        # against the subset test's 100), no usage, nothing from x_groq
                        # (Groq's first and last chunks), id, model and created known.
                        # What is left below is the envelope: its usual case here
                        # (_merge_envelope's, usage being null or absent). Skipping
                        # the rest took add() from 1.35 to 1.18 us a chunk on the
                        # headline stream and 1.70 to 1.53 on the tool stream; on the
                        # 54 real recordings it is neutral, 2.11 against 2.09 (measured,
                        # issue 14). Taken at the top of add() instead, 0.1 us more on
                        # the headline stream, but 0.2 us lost on each reasoning chunk.
                        if countOf(data.values(), None) == ("usage" in data):
                            self._extra.update(data)
                        else:
                            self._merge_envelope(data)
                        return
                    if state is None:
                        state = states[index] = _ChoiceState(index, routes, self._think)
                    if finish_reason is not None:
                        state.finish_reason = finish_reason
                        if state.think is not None:
                            state.flush_think()  # before FINISH: the held text is a fragment
                    if logprobs is not None:
                        state.logprobs_delta(logprobs)
                    if routes is not None:
                        if logprobs is not None:
                            routes.append((LOGPROBS, index, logprobs))
                        if finish_reason is not None:
                            routes.append((FINISH, index, finish_reason))
                    if not choice.keys() <= _CHOICE_OWN:
                        for key, value in choice.items():
                            if value is not None and key not in _CHOICE_OWN:
                                state.extra[key] = value
                                if key == "usage" and type(value) is dict:
                                    # Moonshot/Kimi: the usage in the choice.
                                    choice_usage = self._merge_usage(value)
            elif choices is not None and not isinstance(choices, list):
                raise _reject("choices", choices, "an array")

            if not identified:
                if self._id is None and data.get("id"):
                    self._id = data["id"]
                if self._model is None and data.get("model"):
                    self._model = data["model"]
                if self._created is None and data.get("created"):
                    self._created = data["created"]
                self._identified = not (
                    self._id is None or self._model is None or self._created is None
                )
            self._merge_envelope(data)
            # Usage, per field the last non-null value: Groq's x_groq.usage and Moonshot's
            # choices[].usage first, the top-level usage last.
            # (choices[].usage was merged with the choice's extra fields, above.)
            merged = choice_usage
            x_groq = data.get("x_groq")
            if type(x_groq) is dict and type(x_groq.get("usage")) is dict:
                merged = self._merge_usage(x_groq["usage"])
            if usage is not None:
                merged = self._merge_usage(usage)
            if merged and routes is not None:
                routes.append((USAGE, None, dict(self._usage or {})))
        except _RejectedError as exc:
            raise ChunkParseError(
                f"chunk {number} is not a chat.completion.chunk: {exc}", position=number
            ) from None
        if self._keep:
            self.chunks.append(
                chunk if isinstance(chunk, ChatCompletionChunk) else ChatCompletionChunk(dict(data))
            )

    def _merge_envelope(self, data: Mapping[str, Any]) -> None:
        """Envelope fields keep their last non-null value (the fields with rules of
        their own, such as usage, are copied too and left out when the completion is
        built: _ENVELOPE_OWN)."""
        # One C-level update does it when the chunk holds no null: measured, this halves
        # the envelope's share of add() against a Python loop over the fields. OpenAI
        # sends "usage": null on every chunk but the last; when it is the only null, the
        # update stays right. The nulls are counted once (comparing a str with None is
        # slow, about 20 ns a value) and compared with whether usage is the null one:
        # the dict comprehension cost 10% of the full path on real OpenAI streams
        # (measured, issue 14).
        if countOf(data.values(), None) == ("usage" in data and data["usage"] is None):
            self._extra.update(data)
        else:
            self._extra.update({k: v for k, v in data.items() if v is not None})

    def _merge_usage(self, usage: Mapping[str, Any]) -> bool:
        """Merge one usage object, field by field: a value replaces the one before, a
        null only stands for a field not sent before. Return ``True`` (merged)."""
        merged = self._usage
        if merged is None:
            self._usage = dict(usage)
            return True
        for key, value in usage.items():
            if value is not None or key not in merged:
                merged[key] = value
        return True

    @property
    def completion(self) -> ChatCompletion:
        """The completion rebuilt so far, as a new :class:`ChatCompletion`.

        Each read builds a new object and joins the text gathered so far, so it costs
        time proportional to the output: read it once at the end (or now and then), not
        after every chunk. Values kept as sent (provider extras, token logprobs, tool
        call extras) are shared with the chunks they came from: read them, don't change
        them.

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
            "usage": None if self._usage is None else dict(self._usage),
        }
        data.update(
            {
                k: v
                for k, v in self._extra.items()
                if k not in _ENVELOPE_OWN and k not in _CHUNK_ONLY
            }
        )
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
