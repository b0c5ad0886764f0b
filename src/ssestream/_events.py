"""Layer 3b: typed stream events, routed by the accumulator itself.

What an application does while a chat stream runs is one level above chunks: show the
text as it grows, show the reasoning apart, show a tool call's name as soon as it is known
and its arguments as they fill in, act when a call is complete, react to the finish reason
and the usage. :class:`ChatEventBuilder` turns chunks into these events. It does no
routing of its own: the :class:`ChatCompletionAccumulator` logs, for each fragment it
merges, the choice and the tool call it went to (see
:meth:`ChatCompletionAccumulator.record_routes`), so the events are exactly as robust as
the completion (tool-call index starting at 1, no index, repeated ids, an index reused for
a new call, choices out of order) and the deltas always add up to it.

The events (every one has ``index``, the choice's index, except the stream-wide ones):

* :class:`ChunkEvent` ``(chunk)``: every chunk, first, before the events it gives.
* :class:`ContentDelta` ``(delta, snapshot)`` / :class:`ContentDone` ``(content)``;
  :class:`RefusalDelta` / :class:`RefusalDone` ``(refusal)``; :class:`ReasoningDelta` /
  :class:`ReasoningDone` ``(reasoning)``, with ``field``, the name the provider used
  (``reasoning_content`` or ``reasoning``).
* :class:`ToolCallStarted` ``(call_index, id, name, type)``;
  :class:`ToolCallArgumentsDelta` ``(call_index, delta, arguments, partial)``;
  :class:`ToolCallDone` ``(call_index, id, name, type, arguments, parsed, complete)``.
* :class:`LogprobsDelta` ``(content, refusal)``: the token log probabilities of a chunk.
* :class:`ChoiceFinished` ``(finish_reason)``; :class:`UsageReceived` ``(usage)``.
* :class:`StreamEnded` ``(done, interrupted, completion)``: last, once.

:data:`ChatStreamEvent` is their union. The deprecated ``function_call``,
``reasoning_details``, ``annotations`` and ``audio`` have no events of their own: they
are in each :class:`ChunkEvent` and in the completion.

Order rules:

1. Events come in the order of the fragments in the stream: a chunk's :class:`ChunkEvent`,
   then its choices in the order sent, each field in the order of its delta, then its
   :class:`UsageReceived`.
2. A :class:`ToolCallStarted` comes before the call's first :class:`ToolCallArgumentsDelta`
   and its ``call_index`` is the call's position in ``message.tool_calls``.
3. A ``*Done`` comes when the choice finishes (its ``finish_reason`` arrives: then the
   choice's reasoning, content, refusal and tool calls are done, in that order, and
   :class:`ChoiceFinished` follows), when the next tool call of that choice starts (for
   the calls before it whose arguments are one whole JSON value by then: calls streamed
   interleaved, by index, are never declared done early), or when the stream ends
   (before :class:`StreamEnded`, choices by index). A fragment that comes after its
   text's or its call's ``*Done`` (text sent after the finish reason) opens it again, and
   it is done again by the same rules, with the whole text.
4. A call cut by an interruption, or by ``finish_reason`` ``"length"`` or
   ``"content_filter"``, ends with ``complete=False`` and ``parsed=None``: the strict
   parse is not attempted. Otherwise ``parsed`` is ``json.loads(arguments)`` and
   ``complete`` is True, or, if the arguments are not JSON, ``None`` and False.
5. The deltas of a text add up to that text in the completion, always; so do the
   ``arguments`` deltas of each tool call.
6. An error is raised exactly where the chunk iterator raises it, after every event of
   the chunks before it; no ``*Done`` or :class:`StreamEnded` follows an error.

Cost: one small record per event. ``snapshot``, ``arguments`` and ``partial`` are read
lazily, from the accumulator's own text: an event costs nothing for them unless they are
read. ``partial`` parses the arguments incrementally (:class:`PartialJSONParser`), so
reading it on every delta, in order, is linear in the arguments.

Names follow the openai SDK's ``ChatCompletionStream`` events (``content.delta``,
``refusal.done``, ``tool_calls.function.arguments.delta``...) and the OpenAI API
reference's field names.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Union

from ._accumulator import (
    CONTENT,
    FINISH,
    LOGPROBS,
    REASONING,
    REFUSAL,
    TOOL_CALL,
    USAGE,
    ChatCompletionAccumulator,
    text_prefix,
)
from ._exceptions import PartialJSONError
from ._partial_json import PartialJSONParser
from ._responses_types import Response
from ._types import ChatCompletion, ChatCompletionChunk, CompletionUsage, TokenLogprob

__all__ = [
    "ChatEventBuilder",
    "ChatStreamEvent",
    "ChoiceFinished",
    "ChunkEvent",
    "ContentDelta",
    "ContentDone",
    "LogprobsDelta",
    "ReasoningDelta",
    "ReasoningDone",
    "RefusalDelta",
    "RefusalDone",
    "StreamEnded",
    "ToolCallArgumentsDelta",
    "ToolCallDone",
    "ToolCallStarted",
    "UsageReceived",
]


# Finish reasons that cut a tool call short (OpenAI API reference: "length" when the
# maximum number of tokens was reached, "content_filter" when content was omitted).
_CUT = frozenset({"length", "content_filter"})


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkEvent:
    """A chunk, as the chunk iterator gives it; first among the events it brings.

    Attributes:
        chunk: the :class:`ChatCompletionChunk`.
    """

    chunk: ChatCompletionChunk


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentDelta:
    """The next fragment of a choice's ``message.content``.

    Attributes:
        index: the choice's index.
        delta: the fragment (text, possibly empty).
        snapshot: the content so far, this fragment included (built when read: each
            read copies it, so read it now and then, not on every delta of a long text).
    """

    index: int
    delta: str
    _parts: list[str] = dataclasses.field(repr=False, compare=False)
    _length: int = dataclasses.field(repr=False, compare=False)

    @property
    def snapshot(self) -> str:
        return text_prefix(self._parts, self._length)


class _TextDone:
    """A ``*Done`` record whose text is built when read (from the accumulator's
    fragments), so that a server that finishes a choice on every chunk costs no copy
    of the text per chunk. Frozen and slotted like the dataclass records."""

    __slots__ = ("_length", "_parts", "index")
    _name = "text"
    index: int
    _parts: list[str]
    _length: int

    def __init__(self, index: int, text: str | None, parts: list[str] | None, length: int) -> None:
        if parts is None:
            parts, length = [text or ""], len(text or "")
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "_parts", parts)
        object.__setattr__(self, "_length", length)

    @property
    def _text(self) -> str:
        return text_prefix(self._parts, self._length)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def _key(self) -> tuple[Any, ...]:
        return (self.index, self._text)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in zip(self._fields(), self._key(), strict=True))
        return f"{type(self).__name__}({fields})"

    def _fields(self) -> tuple[str, ...]:
        return ("index", self._name)


class ContentDone(_TextDone):
    """A choice's content is done (see the order rules in :mod:`ssestream._events`).

    Attributes:
        index: the choice's index.
        content: the whole content so far (built when read).
    """

    __slots__ = ()
    _name = "content"

    def __init__(
        self,
        *,
        index: int,
        content: str | None = None,
        _parts: list[str] | None = None,
        _length: int = 0,
    ) -> None:
        super().__init__(index, content, _parts, _length)

    @property
    def content(self) -> str:
        return self._text


@dataclass(frozen=True, slots=True, kw_only=True)
class RefusalDelta:
    """The next fragment of a choice's ``message.refusal``.

    Attributes:
        index: the choice's index.
        delta: the fragment.
        snapshot: the refusal so far (built when read, like ``ContentDelta.snapshot``).
    """

    index: int
    delta: str
    _parts: list[str] = dataclasses.field(repr=False, compare=False)
    _length: int = dataclasses.field(repr=False, compare=False)

    @property
    def snapshot(self) -> str:
        return text_prefix(self._parts, self._length)


class RefusalDone(_TextDone):
    """A choice's refusal is done.

    Attributes:
        index: the choice's index.
        refusal: the whole refusal (built when read).
    """

    __slots__ = ()
    _name = "refusal"

    def __init__(
        self,
        *,
        index: int,
        refusal: str | None = None,
        _parts: list[str] | None = None,
        _length: int = 0,
    ) -> None:
        super().__init__(index, refusal, _parts, _length)

    @property
    def refusal(self) -> str:
        return self._text


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasoningDelta:
    """The next fragment of a choice's reasoning (DeepSeek, xAI, OpenRouter, Groq ...).

    Attributes:
        index: the choice's index.
        field: the name the provider sent it under, and the completion keeps it under:
            ``"reasoning_content"`` or ``"reasoning"`` (the thinking parts of Mistral's
            list content count as ``"reasoning_content"``).
        delta: the fragment.
        snapshot: the reasoning so far (built when read, like ``ContentDelta.snapshot``).
    """

    index: int
    field: str
    delta: str
    _parts: list[str] = dataclasses.field(repr=False, compare=False)
    _length: int = dataclasses.field(repr=False, compare=False)

    @property
    def snapshot(self) -> str:
        return text_prefix(self._parts, self._length)


class ReasoningDone(_TextDone):
    """A choice's reasoning (under ``field``) is done.

    Attributes:
        index: the choice's index.
        field: as in :class:`ReasoningDelta`.
        reasoning: the whole reasoning text (built when read).
    """

    __slots__ = ("field",)
    _name = "reasoning"
    field: str

    def __init__(
        self,
        *,
        index: int,
        field: str,
        reasoning: str | None = None,
        _parts: list[str] | None = None,
        _length: int = 0,
    ) -> None:
        super().__init__(index, reasoning, _parts, _length)
        object.__setattr__(self, "field", field)

    @property
    def reasoning(self) -> str:
        return self._text

    def _key(self) -> tuple[Any, ...]:
        return (self.index, self.field, self._text)

    def _fields(self) -> tuple[str, ...]:
        return ("index", "field", "reasoning")


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallStarted:
    """A new tool call begins.

    Attributes:
        index: the choice's index.
        call_index: its position in ``message.tool_calls`` of the completion (not the
            ``index`` field the provider sent, which may start at 1, be missing or be
            reused).
        id: the call id, or ``None`` if it has not arrived yet (it is in
            :class:`ToolCallDone`).
        name: the function name, or ``None`` if it has not arrived yet.
        type: the call's type as sent (``"function"``), or ``None``.
    """

    index: int
    call_index: int
    id: str | None
    name: str | None
    type: str | None


class _CallTrack:
    """What the events know of one tool call: its arguments fragments not yet parsed,
    and the incremental parser behind ``partial``."""

    __slots__ = ("call", "failed", "fed", "length", "parser", "pending", "position")

    def __init__(self, call: Any, position: int) -> None:
        self.call = call  # the accumulator's state of the call
        self.position = position  # in message.tool_calls
        self.length = 0  # characters of arguments so far
        self.pending: list[str] = []  # fragments not yet fed to the parser
        self.fed = 0  # characters fed to the parser
        self.parser: PartialJSONParser | None = None
        self.failed = False  # the parser found text that can never be JSON

    def add(self, text: str) -> None:
        self.length += len(text)
        pending = self.pending
        pending.append(text)
        if len(pending) > 64:
            self.compact()

    def compact(self) -> None:
        """Bound the pieces like the accumulator's text: at most 64, or 1.5% waste."""
        pending = self.pending
        if len(pending) * 4096 > len(pending[0]):
            pending[:] = ["".join(pending)]

    def arguments(self, length: int) -> str:
        # The field whose fragments the route log reported: the function's arguments,
        # or a custom tool call's input.
        text = self.call.text
        return text_prefix(text if text is not None else self.call.arguments, length)

    def partial(self, length: int) -> Any:
        """The value of the first ``length`` characters of the arguments."""
        if self.fed > length:
            # An older event read after newer ones: parse its prefix afresh.
            fresh = PartialJSONParser()
            with contextlib.suppress(PartialJSONError):
                fresh.feed(self.arguments(length))
            return fresh.value
        parser = self.parser
        if parser is None:
            parser = PartialJSONParser()
            self.parser = parser
        pending = self.pending
        while not self.failed and self.fed < length:
            piece = pending[0]
            if self.fed + len(piece) > length:
                cut = length - self.fed
                pending[0] = piece[cut:]
                piece = piece[:cut]
            else:
                del pending[0]
            self.fed += len(piece)
            try:
                parser.feed(piece)
            except PartialJSONError:
                # Text that can never be JSON: the value stays as parsed up to it.
                self.failed = True
        return parser.snapshot()


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallArgumentsDelta:
    """The next fragment of a tool call's ``function.arguments``.

    Attributes:
        index: the choice's index.
        call_index: the call's position in ``message.tool_calls``.
        delta: the fragment of JSON text.
        arguments: the arguments text so far (built when read: each read copies it).
        partial: the arguments parsed so far, by :class:`PartialJSONParser` (unfinished
            strings shown, unfinished numbers and literals not): ``None`` before anything
            is shown, usually a ``dict``. Parsed when read, incrementally: reading it on
            every delta, in order, is linear in the arguments. If the text can never be
            JSON, the value stays as parsed up to the first bad character (no error is
            raised). Each read returns a new copy of the open containers: keep it.
    """

    index: int
    call_index: int
    delta: str
    _track: _CallTrack = dataclasses.field(repr=False, compare=False)
    _length: int = dataclasses.field(repr=False, compare=False)

    @property
    def arguments(self) -> str:
        return self._track.arguments(self._length)

    @property
    def partial(self) -> Any:
        return self._track.partial(self._length)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallDone:
    """A tool call is done (see the order rules): act on it.

    Attributes:
        index: the choice's index.
        call_index: the call's position in ``message.tool_calls``.
        id: the call id (``None`` if the provider never sent one).
        name: the function name (a custom tool's name for a custom call).
        type: the call's type as sent (``"function"``, ``"custom"``), or ``None`` if
            never sent.
        arguments: the whole arguments text; for a custom tool call (OpenAI's
            ``type: "custom"`` tools), its free-form ``custom.input``.
        parsed: ``json.loads(arguments)`` when ``complete`` (``None`` for a custom call,
            whose input is not JSON), else ``None``.
        complete: whether the call was not cut (by an interruption or by
            ``finish_reason`` ``"length"``/``"content_filter"``) and its arguments are
            one whole JSON value (for a custom call: not cut).
    """

    index: int
    call_index: int
    id: str | None
    name: str | None
    type: str | None
    arguments: str
    parsed: Any
    complete: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LogprobsDelta:
    """The log probabilities a chunk brings for a choice's tokens.

    Attributes:
        index: the choice's index.
        content: one :class:`TokenLogprob` per content token of this chunk, or ``None``.
        refusal: likewise for refusal tokens.
    """

    index: int
    content: list[TokenLogprob] | None
    refusal: list[TokenLogprob] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceFinished:
    """A choice's ``finish_reason`` arrived, after the ``*Done`` events it brings.

    Attributes:
        index: the choice's index.
        finish_reason: ``"stop"``, ``"length"``, ``"tool_calls"``, ``"content_filter"``,
            ``"function_call"`` or a provider's own value.
    """

    index: int
    finish_reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageReceived:
    """The chunk brought ``usage`` (some providers send it on every chunk: the last
    one is the total).

    Attributes:
        usage: the :class:`CompletionUsage`.
    """

    usage: CompletionUsage


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamEnded:
    """The stream is over without an error: the last event.

    Attributes:
        done: ``data: [DONE]`` arrived; on a Responses stream, its terminal event
            (``response.completed`` / ``response.incomplete``).
        interrupted: the answer is incomplete (see ``ChatStream.interrupted``).
        completion: the :class:`ChatCompletion` rebuilt from the whole stream; on a
            Responses stream, the one its events add up to (see
            :class:`ResponseEventBuilder`).
        response: on a Responses stream, the :class:`Response` (``stream.snapshot``
            at the end); ``None`` on a chat stream.
    """

    done: bool
    interrupted: bool
    completion: ChatCompletion
    response: Response | None = None


ChatStreamEvent = Union[  # noqa: UP007 (a runtime alias on Python 3.10)
    ChunkEvent,
    ContentDelta,
    ContentDone,
    RefusalDelta,
    RefusalDone,
    ReasoningDelta,
    ReasoningDone,
    ToolCallStarted,
    ToolCallArgumentsDelta,
    ToolCallDone,
    LogprobsDelta,
    ChoiceFinished,
    UsageReceived,
    StreamEnded,
]
"""Any of the events :class:`ChatEventBuilder` gives."""


# --------------------------------------------------------------------------- builder


# The hot records (a chunk's ChunkEvent and its text or arguments delta) are built as
# drafts: an instance of a plain class with the record's slots (the same names, in the
# same order), filled by attribute stores, then given the record's class by
# ``__class__`` assignment, which CPython allows between classes of the same
# layout (and refuses with TypeError otherwise: the tests build every draft). A frozen
# dataclass's __init__ sets each field through object.__setattr__, 0.79 us for a
# 4-field delta; through the slot descriptors (the builder until now) 0.28 us; as a
# draft 0.12 us, of which the class assignment is 0.05 (timeit, Python 3.11). With
# the _Text.add frame inlined too, added() went from 1.11-1.25 to 0.70-0.73 us a
# content chunk (3 runs, best of 15 each). The result is the record itself: its
# type, ==, repr, hash, frozenness and dataclasses.replace cannot tell. Cold records
# use their constructor.


class _ChunkEventDraft:
    __slots__ = ChunkEvent.__slots__


class _ContentDeltaDraft:
    __slots__ = ContentDelta.__slots__


class _RefusalDeltaDraft:
    __slots__ = RefusalDelta.__slots__


class _ReasoningDeltaDraft:
    __slots__ = ReasoningDelta.__slots__


class _ArgumentsDeltaDraft:
    __slots__ = ToolCallArgumentsDelta.__slots__


def _text_delta(record: Any, cls: type[Any], index: int, text: _Text, delta: str) -> Any:
    """Fill the draft ``record`` of a text's delta record (``cls``: ContentDelta,
    RefusalDelta, ReasoningDelta, its other fields set by the caller), add ``delta`` to
    ``text`` and give the draft its class. ``added`` inlines it for a chunk's one
    content fragment, the usual chunk."""
    record.index = index
    record.delta = delta
    record._parts = text.parts
    record._length = text.length = text.length + len(delta)
    record.__class__ = cls
    text.open = True
    return record


class _Text:
    """One text of a choice, as the events see it: the accumulator's fragments, the
    length so far, and whether a ``*Done`` is due."""

    __slots__ = ("length", "open", "parts")

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts  # the accumulator's list: its join is the whole text
        self.length = 0
        self.open = False

    def close(self) -> dict[str, Any]:
        """Mark the text done; the fields of its ``*Done`` record (built when read)."""
        self.open = False
        return {"_parts": self.parts, "_length": self.length}


class _ChoiceTrack:
    """The texts and the tool calls of one choice."""

    __slots__ = ("calls", "content", "open_calls", "reasoning", "refusal")

    def __init__(self) -> None:
        self.content: _Text | None = None
        self.refusal: _Text | None = None
        self.reasoning: dict[str, _Text] = {}  # by field name
        # By the accumulator's state of the call (hashed by identity): a dict lookup
        # instead of positions[id(call)] and calls[position], 50 ns less a fragment.
        self.calls: dict[Any, _CallTrack] = {}
        # The calls with no ToolCallDone since their last fragment, by position: only
        # these are looked at when a call starts or the choice finishes.
        self.open_calls: dict[int, _CallTrack] = {}


class ChatEventBuilder:
    """Turn the chunks of one chat stream into :data:`ChatStreamEvent` records (sans-IO).

    ``ChatStream.events()`` / ``AsyncChatStream.events()`` and
    ``ChatStreamParser.next_event()`` use it; use it directly for chunks from elsewhere
    (a recording, another client). The order rules are in :mod:`ssestream._events`.
    The deprecated ``function_call``, ``reasoning_details``, ``annotations`` and
    ``audio`` have no events of their own: read them from each :class:`ChunkEvent` or
    from the completion.

    Args:
        accumulator: the accumulator the chunks are (or will be) added to; a new one if
            omitted. Its routes are logged from now on
            (:meth:`ChatCompletionAccumulator.record_routes`): give every chunk to
            :meth:`add`, or add it to the accumulator yourself and then call
            :meth:`added`, never both.

    Attributes:
        accumulator: the :class:`ChatCompletionAccumulator` (its ``completion`` is the
            sum of the events so far).
        ended: :meth:`end` was called.
    """

    __slots__ = ("_choices", "_routes", "accumulator", "ended")

    def __init__(self, accumulator: ChatCompletionAccumulator | None = None) -> None:
        if accumulator is None:
            accumulator = ChatCompletionAccumulator()
        self.accumulator = accumulator
        self._routes = accumulator.record_routes()
        self._choices: dict[int, _ChoiceTrack] = {}
        self.ended = False

    def add(self, chunk: ChatCompletionChunk | dict[str, Any]) -> list[ChatStreamEvent]:
        """Add a chunk to the accumulator and return the events it gives.

        Raises:
            ChunkParseError: the chunk has a field of the wrong type (as
                :meth:`ChatCompletionAccumulator.add`); no event is given for it.
        """
        self.accumulator.add(chunk)
        if not isinstance(chunk, ChatCompletionChunk):
            chunk = ChatCompletionChunk(chunk)
        return self.added(chunk)

    def added(self, chunk: ChatCompletionChunk) -> list[ChatStreamEvent]:
        """The events of a chunk just added to the accumulator by its owner (the
        parser), :class:`ChunkEvent` first."""
        event: Any = _ChunkEventDraft()
        event.chunk = chunk
        event.__class__ = ChunkEvent
        routes = self._routes
        if not routes:
            return [event]
        if len(routes) == 1:
            # The bulk of a stream, a chunk with one fragment of the content or of a
            # call's arguments that the choice has had before, handled here as _route
            # would handle it, without its frame, loop and dispatch (and, for the
            # arguments, without _arguments' and _CallTrack.add's frames): added()
            # from 0.70-0.73 to 0.60-0.68 us a content chunk and from 0.99-1.11 to
            # 0.80-0.93 us an arguments fragment (3 runs, best of 15 each).
            route = routes[0]
            kind = route[0]
            track = self._choices.get(route[1])
            if track is not None:
                if kind is CONTENT:
                    text = track.content
                    if text is not None:
                        routes.clear()
                        delta = route[2]
                        record: Any = _ContentDeltaDraft()
                        record.index = route[1]
                        record.delta = delta
                        record._parts = text.parts
                        record._length = text.length = text.length + len(delta)
                        record.__class__ = ContentDelta
                        text.open = True
                        return [event, record]
                elif kind is TOOL_CALL and route[2] is None and route[4] is not None:
                    routes.clear()
                    fragment = route[4]
                    call = track.calls[route[3]]
                    position = call.position
                    track.open_calls[position] = call  # again, if it was done
                    pending = call.pending
                    pending.append(fragment)
                    if len(pending) > 64:
                        call.compact()
                    record = _ArgumentsDeltaDraft()
                    record.index = route[1]
                    record.call_index = position
                    record.delta = fragment
                    record._track = call
                    record._length = call.length = call.length + len(fragment)
                    record.__class__ = ToolCallArgumentsDelta
                    return [event, record]
        events: list[ChatStreamEvent] = [event]
        self._route(events)
        return events

    def _route(self, events: list[ChatStreamEvent]) -> None:
        """The events of the fragments the accumulator logged since the last call."""
        routes = self._routes
        choices = self._choices
        for route in routes:
            kind, index = route[0], route[1]
            if kind is USAGE:
                events.append(UsageReceived(usage=CompletionUsage(route[2])))
                continue
            track = choices.get(index)
            if track is None:
                track = choices[index] = _ChoiceTrack()
            record: Any
            if kind is CONTENT:
                text = track.content
                if text is None:
                    text = track.content = _Text(route[3])
                events.append(
                    _text_delta(_ContentDeltaDraft(), ContentDelta, index, text, route[2])
                )
            elif kind is TOOL_CALL:
                if route[2] is not None:
                    self._call_started(events, index, track, route[2], route[3])
                if route[4] is not None:
                    events.append(self._arguments(index, track, route[3], route[4]))
            elif kind is REASONING:
                name = route[4]
                text = track.reasoning.get(name)
                if text is None:
                    text = track.reasoning[name] = _Text(route[3])
                record = _ReasoningDeltaDraft()
                record.field = name
                events.append(_text_delta(record, ReasoningDelta, index, text, route[2]))
            elif kind is REFUSAL:
                text = track.refusal
                if text is None:
                    text = track.refusal = _Text(route[3])
                events.append(
                    _text_delta(_RefusalDeltaDraft(), RefusalDelta, index, text, route[2])
                )
            elif kind is LOGPROBS:
                content, refusal = route[2].get("content"), route[2].get("refusal")
                if isinstance(content, list) or isinstance(refusal, list):
                    events.append(
                        LogprobsDelta(
                            index=index, content=_tokens(content), refusal=_tokens(refusal)
                        )
                    )
            elif kind is FINISH:
                self._close(events, index, track, cut=route[2] in _CUT)
                events.append(ChoiceFinished(index=index, finish_reason=route[2]))
        routes.clear()

    def end(self, *, done: bool, interrupted: bool) -> list[ChatStreamEvent]:
        """The events of the end of the stream: the ``*Done`` of whatever is still open,
        choices by index, then :class:`StreamEnded`. Empty if called again.

        Args:
            done: ``data: [DONE]`` arrived.
            interrupted: the answer is incomplete (then open tool calls are cut).
        """
        if self.ended:
            return []
        self.ended = True
        events: list[ChatStreamEvent] = []
        self.accumulator.flush_think()  # held text (a cut tag?) is a fragment after all
        if self._routes:
            self._route(events)
        for index in sorted(self._choices):
            self._close(events, index, self._choices[index], cut=interrupted)
        completion = self.accumulator.completion
        events.append(StreamEnded(done=done, interrupted=interrupted, completion=completion))
        return events

    # -- internals

    def _call_started(
        self,
        events: list[ChatStreamEvent],
        index: int,
        track: _ChoiceTrack,
        position: int,
        call: Any,
    ) -> None:
        """A new call of a choice: the open ones before it whose arguments are whole
        are done, then its :class:`ToolCallStarted`."""
        open_calls = track.open_calls
        for number in sorted(open_calls):
            earlier = open_calls[number]
            if earlier.length and _whole_json(earlier):
                del open_calls[number]
                events.append(self._done(index, number, earlier, cut=False))
        call_track = track.calls[call] = _CallTrack(call, position)
        open_calls[position] = call_track
        events.append(
            ToolCallStarted(
                index=index,
                call_index=position,
                id=call.id,
                name=call.name or call.custom_name,
                type=call.type,
            )
        )

    def _arguments(
        self, index: int, track: _ChoiceTrack, call: Any, fragment: str
    ) -> ToolCallArgumentsDelta:
        """The :class:`ToolCallArgumentsDelta` of a fragment of a call's arguments."""
        call_track = track.calls[call]
        position = call_track.position
        track.open_calls[position] = call_track  # again, if it was done
        call_track.add(fragment)
        record: Any = _ArgumentsDeltaDraft()
        record.index = index
        record.call_index = position
        record.delta = fragment
        record._track = call_track
        record._length = call_track.length
        record.__class__ = ToolCallArgumentsDelta
        return record  # type: ignore[no-any-return]

    def _settle_texts(self, index: int, *, reasoning: bool) -> list[ChatStreamEvent]:
        """The ``*Done`` events of a choice's open texts now, before its finish: its
        reasoning if ``reasoning``, else its content and refusal. For a stream whose
        events say a text is complete (a Responses ``response.output_item.done``)."""
        events: list[ChatStreamEvent] = []
        track = self._choices.get(index)
        if track is not None and not self.ended:
            self._close_texts(events, index, track, reasoning=reasoning, message=not reasoning)
        return events

    def _settle_call(self, index: int, call_index: int) -> list[ChatStreamEvent]:
        """The :class:`ToolCallDone` of one open call now, before its choice finishes
        (a Responses ``response.output_item.done`` says the call is complete)."""
        track = self._choices.get(index)
        if track is None or self.ended:
            return []
        call = track.open_calls.pop(call_index, None)
        return [] if call is None else [self._done(index, call_index, call, cut=False)]

    def _close_texts(
        self,
        events: list[ChatStreamEvent],
        index: int,
        track: _ChoiceTrack,
        *,
        reasoning: bool = True,
        message: bool = True,
    ) -> None:
        if reasoning:
            for name, text in track.reasoning.items():
                if text.open:
                    events.append(ReasoningDone(index=index, field=name, **text.close()))
        if message:
            if track.content is not None and track.content.open:
                events.append(ContentDone(index=index, **track.content.close()))
            if track.refusal is not None and track.refusal.open:
                events.append(RefusalDone(index=index, **track.refusal.close()))

    def _close(
        self, events: list[ChatStreamEvent], index: int, track: _ChoiceTrack, *, cut: bool
    ) -> None:
        """The ``*Done`` events of what is open in a choice."""
        self._close_texts(events, index, track)
        open_calls = track.open_calls
        events.extend(
            self._done(index, number, open_calls[number], cut=cut) for number in sorted(open_calls)
        )
        open_calls.clear()

    def _done(self, index: int, number: int, track: _CallTrack, *, cut: bool) -> ToolCallDone:
        call = track.call
        arguments = track.arguments(track.length)
        parsed = None
        complete = False
        if call.text is not None and call.text is call.custom_input:
            # A custom tool's input is free-form text (OpenAI "custom" tools): complete
            # unless cut, never parsed as JSON.
            complete = not cut
        elif not cut:
            try:
                parsed = json.loads(arguments)
                complete = True
            except (ValueError, RecursionError):
                parsed = None
        return ToolCallDone(
            index=index,
            call_index=number,
            id=call.id,
            name=call.name or call.custom_name,
            type=call.type,
            arguments=arguments,
            parsed=parsed,
            complete=complete,
        )


def _tokens(value: Any) -> list[TokenLogprob] | None:
    if not isinstance(value, list):
        return None
    return [TokenLogprob(token) for token in value if isinstance(token, dict)]


def _whole_json(track: _CallTrack) -> bool:
    """Whether the arguments so far are one whole JSON value."""
    try:
        json.loads(track.arguments(track.length))
    except (ValueError, RecursionError):
        return False
    return True
