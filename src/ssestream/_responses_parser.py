"""The sans-IO core of a Responses API stream: bytes in; typed events, the Response, errors out.

A streamed ``POST /v1/responses`` (OpenAI API reference, "Streaming events") is a
server-sent-event stream in which every event's data is a JSON object with a ``type``
(``response.created``, ``response.output_text.delta``, ``response.completed``, ...) and,
since mid 2025, a ``sequence_number``. OpenAI, Azure, xAI, DeepSeek, LM Studio and the
Codex backend also name each event in an ``event:`` line; OpenRouter sends data-only
events and ends with ``data: [DONE]``. The ``type`` inside the data is what this module
reads; the ``event:`` line is only a fallback for data without one.

The order of events the API reference gives, and that the recordings in
``tests/fixtures/responses`` follow: ``response.created`` (``response.queued`` too for
``background: true``), ``response.in_progress``; then, for each output item in turn,
``response.output_item.added``, the item's own events (``response.content_part.added``,
text deltas and their ``.done``, ``response.content_part.done``; the summary parts of a
reasoning item; a call's argument deltas; a built-in tool's progress events), and
``response.output_item.done``; last one terminal event: ``response.completed``,
``response.incomplete`` or ``response.failed``. An ``error`` event may come at any point.

Strategy and invariants of :class:`ResponseStreamParser`:

* Events are handed out one at a time as they are pulled, as :class:`ResponseStreamEvent`
  views (a subclass per family of ``type``; unknown types get the base class) over the
  decoded ``dict``: nothing the server sent is lost.
* The :class:`Response` is rebuilt as the events arrive, keyed by ``output_index``,
  ``content_index`` and ``summary_index``, never by ``item_id`` (GitHub Copilot sends a
  new ``item_id`` on every event; OpenRouter's terminal response renames its items).
  Text deltas are kept as fragments and joined when :attr:`ResponseStreamParser.snapshot`
  is read, so the work is linear in the output. Every dict taken from an event is copied
  first, and :attr:`~ResponseStreamParser.snapshot` builds a new ``dict`` on each read:
  the caller's objects and the parser's state never alias.
* What a later event states wins over what was rebuilt before it: a ``.done`` event's full
  text over the joined deltas, ``response.output_item.done``'s item over the rebuilt item,
  and the terminal event's response over everything (see
  :class:`ResponseStreamParser` for why); each disagreement on a streamed text is kept in
  :attr:`~ResponseStreamParser.mismatches`, never raised.
* Once the terminal event has been handed out the stream is over: nothing after it is
  read (OpenRouter's ``[DONE]``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, TypeVar

from ._decoder import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_LINE_BYTES, ServerSentEvent
from ._exceptions import ChunkParseError, PartialJSONError, SSEStreamError, StreamAPIError
from ._parser import (
    _JSON,
    END,
    NEED_DATA,
    BaseStreamParser,
    TypedEvents,
    _Sentinel,
    bounded,
    decode_json,
)
from ._partial_json import PartialJSONParser
from ._responses_events import ResponseEventBuilder, StreamEvent
from ._responses_types import (
    _LIFECYCLE,
    _TERMINAL,
    _TEXT_DELTA,
    _TEXT_DONE,
    _VIEWS,
    Response,
    ResponseStreamEvent,
    _Rule,
)
from ._timings import Clock

__all__ = ["ResponseMismatch", "ResponseStreamParser"]  # and OUTPUT_DELTAS, for the tools

_E = TypeVar("_E", bound=SSEStreamError)

# --------------------------------------------------------------------------- rebuilding


MAX_DEPTH = 128
"""How deeply a dict taken into the rebuilt response may nest (an ``item``, ``part``,
``annotation`` or lifecycle ``response``): deeper is refused with ``ChunkParseError``, so
that copying the response never runs into the interpreter's recursion limit. Real
Responses payloads nest a few levels (a tool's JSON schema perhaps a dozen)."""


def _copy(value: Any, depth: int = 0) -> Any:
    """A deep copy of decoded JSON (dicts, lists and scalars), for owned state.

    Raises _MalformedError past :data:`MAX_DEPTH` levels.
    """
    if type(value) is dict:
        if depth >= MAX_DEPTH:
            raise _MalformedError(f"an object nested deeper than {MAX_DEPTH} levels")
        return {k: _copy(v, depth + 1) for k, v in value.items()}
    if type(value) is list:
        if depth >= MAX_DEPTH:
            raise _MalformedError(f"an array nested deeper than {MAX_DEPTH} levels")
        return [_copy(v, depth + 1) for v in value]
    return value


_FRAGMENTS = 64
_CHARS_PER_FRAGMENT = 64


class _Text:
    """A text built from fragments, joined when read; linear in the total length.

    The list is joined into its first item once it holds more than ``_FRAGMENTS``
    items and more than one per ``_CHARS_PER_FRAGMENT`` characters of that first item:
    a join then copies at most that many characters per fragment taken in since the
    last one (linear work), and the fragments waiting cost about as much memory as
    the text (a short ``str`` is some 50 bytes).
    """

    __slots__ = ("deltas", "json", "parts")

    def __init__(self, start: str, *, partial_json: bool = False) -> None:
        self.parts = [start] if start else []
        self.deltas = 0
        # A call's arguments: parsed as they grow (None once they can never be JSON).
        self.json: PartialJSONParser | None = None
        if partial_json:
            self.json = PartialJSONParser(max_depth=MAX_DEPTH)
            self.feed_json(start)

    def add(self, fragment: str) -> None:
        parts = self.parts
        parts.append(fragment)
        self.deltas += 1
        if len(parts) > _FRAGMENTS and len(parts) * _CHARS_PER_FRAGMENT > len(parts[0]):
            parts[:] = ["".join(parts)]

    def feed_json(self, fragment: str) -> Any:
        """Feed the partial JSON parser; return the value so far (a snapshot), or None."""
        parser = self.json
        if parser is None:
            return None
        try:
            parser.feed(fragment)
        except PartialJSONError:
            self.json = None  # never JSON: no partial value from now on
            return None
        return parser.snapshot()

    def value(self) -> str:
        parts = self.parts
        if len(parts) > 1:
            parts[:] = ["".join(parts)]
        return parts[0] if parts else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseMismatch:
    """A streamed text that a later event stated differently (the later one was kept).

    Attributes:
        path: where, e.g. ``"output[1].content[0].text"`` (indexes are ``output_index``,
            ``content_index``, ``summary_index``).
        rebuilt: the value rebuilt from the events before.
        stated: the value the later event stated, which the response now holds.
        event_type: the event that stated it (``response.output_text.done``,
            ``response.output_item.done``, ``response.completed``...).
    """

    path: str
    rebuilt: Any
    stated: Any
    event_type: str


class _Item:
    """One output item being rebuilt: its own copy, parts by index, texts as fragments."""

    __slots__ = ("data", "parts", "texts")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data  # owned (copied)
        self.parts: dict[str, dict[int, dict[str, Any]]] = {}
        self.texts: dict[tuple[str | None, int, str], _Text] = {}
        for key in ("content", "summary"):
            value = data.get(key)
            if isinstance(value, list) and all(type(p) is dict for p in value):
                self.parts[key] = dict(enumerate(value))

    def part(self, key: str, index: int, default: dict[str, Any] | None) -> dict[str, Any]:
        parts = self.parts.setdefault(key, {})
        part = parts.get(index)
        if part is None:
            part = parts[index] = _copy(default) if default is not None else {}
        return part

    def set_part(self, key: str, index: int, part: dict[str, Any]) -> None:
        self.parts.setdefault(key, {})[index] = part
        for text_key in [k for k in self.texts if k[0] == key and k[1] == index]:
            del self.texts[text_key]

    def text(self, key: str | None, index: int, field: str, default: Any) -> _Text:
        text = self.texts.get((key, index, field))
        if text is None:
            holder = self.data if key is None else self.part(key, index, default)
            start = holder.get(field)
            text = self.texts[(key, index, field)] = _Text(
                start if type(start) is str else "", partial_json=field == "arguments"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _copy(self.data)
        texts = self.texts
        for key, parts in self.parts.items():
            built = []
            for index in sorted(parts):
                part = _copy(parts[index])
                for field in _PART_TEXTS:
                    fragments = texts.get((key, index, field))
                    if fragments is not None:
                        part[field] = fragments.value()
                built.append(part)
            out[key] = built
        for (list_key, _, field), text in texts.items():
            if list_key is None:
                out[field] = text.value()
        return out


# The streamed text fields compared between what was rebuilt and what a later event
# states: item-level ones, and those of each content / summary part.
_ITEM_TEXTS = ("arguments", "input", "code")
_PART_TEXTS = ("text", "refusal")


def _compare(
    path: str,
    rebuilt: dict[str, Any],
    stated: dict[str, Any],
    event_type: str,
    out: list[ResponseMismatch],
) -> None:
    """Note where a stated item differs from the rebuilt one on type or streamed text."""
    if rebuilt.get("type") != stated.get("type"):
        out.append(
            ResponseMismatch(
                path=f"{path}.type",
                rebuilt=rebuilt.get("type"),
                stated=stated.get("type"),
                event_type=event_type,
            )
        )
        return
    for field in _ITEM_TEXTS:
        mine, theirs = rebuilt.get(field), stated.get(field)
        if type(mine) is str and type(theirs) is str and mine != theirs:
            out.append(
                ResponseMismatch(
                    path=f"{path}.{field}", rebuilt=mine, stated=theirs, event_type=event_type
                )
            )
    for key in ("content", "summary"):
        mine, theirs = rebuilt.get(key), stated.get(key)
        if not isinstance(mine, list) or not isinstance(theirs, list):
            continue
        for index, (a, b) in enumerate(zip(mine, theirs, strict=False)):
            if type(a) is not dict or type(b) is not dict:
                continue
            out.extend(
                ResponseMismatch(
                    path=f"{path}.{key}[{index}].{field}",
                    rebuilt=a[field],
                    stated=b[field],
                    event_type=event_type,
                )
                for field in _PART_TEXTS
                if type(a.get(field)) is str and type(b.get(field)) is str and a[field] != b[field]
            )
        if len(mine) != len(theirs) and mine:
            out.append(
                ResponseMismatch(
                    path=f"{path}.{key}",
                    rebuilt=len(mine),
                    stated=len(theirs),
                    event_type=event_type,
                )
            )


# --------------------------------------------------------------------------- the parser

_COMPLETE = frozenset({"response.completed", "response.incomplete"})
OUTPUT_DELTAS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "response.output_text.delta": "content",
        "response.refusal.delta": "refusal",
        "response.function_call_arguments.delta": "tool_calls",
        "response.custom_tool_call_input.delta": "tool_calls",
        "response.mcp_call_arguments.delta": "tool_calls",
        "response.reasoning_text.delta": "reasoning_content",
        "response.reasoning_summary_text.delta": "reasoning_content",
    }
)
"""The Responses API deltas that carry output (OpenAI API reference, "Streaming events"),
each mapped to the chat delta field it is to the timer: the first of them is the first
token of :attr:`ResponseStreamParser.timings`, of ``ssestream check --api responses``
and of ``serve``'s slow-first-token fault (one definition)."""

_NO_PARTIAL: Any = object()


class ResponseStreamParser(BaseStreamParser):
    """Sans-IO state of one Responses API stream, shared by the sync and async streams.

    Works like :class:`ChatStreamParser`, on the same base (the head, the body's modes
    and limits, transport failures): the response head goes to ``receive_head``, body
    bytes to ``receive_data``, the end of the body to ``receive_eof``, a transport
    failure to ``receive_failure``; pull :meth:`next_event` until it returns
    :data:`NEED_DATA` or :data:`END`. :attr:`snapshot` is the :class:`Response` rebuilt
    from the events handed out so far, valid during the stream, after it and after an
    error. (It is not called ``response``: on every parser and stream of ssestream, and
    on every error, ``response`` is the HTTP response.)

    **Which wins.** While the stream runs the response is rebuilt from the events
    (output items by ``output_index``; message text, refusals, reasoning text and
    summaries, function / MCP call arguments, custom tool input and code interpreter
    code from their deltas; annotations as added; every other item, the built-in tools'
    ones included, as ``response.output_item.added`` / ``.done`` sent it). When a later
    event states a value in full, the statement wins: a ``.done`` event's text over the
    joined deltas, ``response.output_item.done``'s item over the rebuilt item, and the
    terminal event's response (``response.completed`` / ``.incomplete`` / ``.failed``)
    over everything, its ``output`` included when it has any. The terminal response is
    the server's own record: the object a non-streamed request returns, and the only one
    with the final ids (OpenRouter renames its reasoning items there), the final
    ``status``, ``usage`` and the provider's extra fields (Azure's ``content_filters``).
    The rebuild is what the caller has before it arrives and when it never does. Each
    streamed text that a statement contradicts is noted in :attr:`mismatches` (the check;
    not an error: the stated value is the server's answer). A terminal response without
    ``output`` (or with an empty one while items were streamed) keeps the rebuilt items.

    A stream that ends (end of body, ``data: [DONE]``) before a terminal event is
    :attr:`interrupted`. Nothing after the terminal event is read. A body that is one
    JSON ``response`` object (a server that ignored ``"stream": true``) is read as that
    response: one :class:`ResponseLifecycleEvent` named after its ``status``.

    Args:
        max_line_bytes: the :class:`SSEDecoder`'s line limit in bytes (``None``: none).
        max_event_bytes: its event limit in bytes, which also bounds a plain JSON body
            (``None``: none).
        clock: a monotonic clock in seconds for ``timings`` (``time.perf_counter`` by
            default). The timings count events as the chat parser counts chunks; the
            first token is the first non-empty output text, refusal or call-argument
            delta, the first reasoning token the first reasoning (summary) text delta,
            and ``usage.output_tokens`` the output tokens.

    Attributes:
        decoder: the :class:`SSEDecoder`.
        events: how many events were pulled (ignored ones included).
        ignored_events: keep-alives (empty data) and ``[DONE]``.
        terminal_event: ``"response.completed"``, ``"response.incomplete"`` or
            ``"response.failed"`` once it arrived, else ``None``.
        streamed: ``True`` for an event stream, ``False`` for a plain JSON body,
            ``None`` before the body began.
        mismatches: the :class:`ResponseMismatch` list (see "Which wins").
        sequence_gaps: ``(expected, received)`` for each event whose ``sequence_number``
            was not the one after the previous event's (a gap, or a repeat when
            ``received`` is smaller). The first number is taken as given: a resumed
            stream (``starting_after``) begins past 0. Events without one are skipped.
        response: the HTTP response, set by the caller, attached to errors.
    """

    _allow_json = True  # a JSON body is a non-streamed response (or an error)

    def __init__(
        self,
        *,
        max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes, clock=clock
        )
        self._envelope: dict[str, Any] = {}
        self._items: dict[int, _Item] = {}
        self._final: dict[str, Any] | None = None
        self._next_sequence: int | None = None
        # The text each (delta type, output_index, part index) extends, found once.
        self._texts: dict[tuple[str, int, int], _Text] = {}
        self._partial: Any = _NO_PARTIAL  # the arguments so far, for the event being made
        self.ignored_events = 0
        self.terminal_event: str | None = None
        self.mismatches: list[ResponseMismatch] = []
        self.sequence_gaps: list[tuple[int, int]] = []
        self._typed_events: TypedEvents | None = None  # made by next_unified_event()
        self._pending_error: StreamAPIError | None = None  # an error event, to raise

    # -- ending

    def abort(self, error: _E) -> _E:
        """End the stream because of ``error`` and return it, to be raised.

        The error gets ``response`` (the HTTP response, if unset) and
        ``partial_response``: the :class:`Response` rebuilt so far, or ``None`` for a
        refused head (no stream began). ``completion`` stays ``None``.
        """
        head_refused = self._head is not None
        error = super().abort(error)
        if head_refused:
            error.partial_response = None
        return error

    def _attach(self, error: SSEStreamError) -> None:
        error.partial_response = self.snapshot

    def _complete_end(self) -> bool:
        return self.terminal_event in _COMPLETE

    # -- output

    def next_event(self) -> ResponseStreamEvent | _Sentinel:
        """Return the next :class:`ResponseStreamEvent`, :data:`NEED_DATA` or :data:`END`.

        Raises:
            APIStatusError, UnexpectedContentTypeError: the head was refused (once the
                error body is read; ``partial_response`` is ``None``).
            StreamAPIError: an ``error`` event, a ``response.failed`` event (``body``
                is the event's payload; the response's ``error`` gives ``code`` and
                ``message``), or an error payload.
            ChunkParseError: an event's data is not a JSON object with a ``type``, or
                a field the rebuild reads has the wrong type.
            LimitExceededError: a line, an event or a JSON body passed its limit.
            StreamInterruptedError: the transport failed (see ``receive_failure``).
        The stream is over after any of them; ``partial_response`` is attached.
        """
        if self._finished:
            return END
        while True:
            if self._pending_error is not None:
                return self._raise_pending()
            event = self._next_event()
            if type(event) is not ServerSentEvent:
                if event is END:
                    self._finished = True
                    if self._mode == _JSON:
                        return self._json_body()
                    self._broken = not self._complete_end()
                    return END
                return NEED_DATA
            data = event[1]
            if data[:1] != "{":
                stripped = data.strip()
                if not stripped or stripped == "[DONE]":
                    self.ignored_events += 1
                    if stripped:  # [DONE] before a terminal event: the stream is cut
                        self.stop()
                        return END
                    continue
            try:
                payload = decode_json(data)
            except ValueError as exc:
                position = self.events - 1
                error = ChunkParseError(
                    f"event {position} is not JSON ({exc}): {bounded(data, 200)!r}",
                    position=position,
                    event=event,
                )
                raise self.abort(error) from exc
            view = self._handle(payload, event)
            if view is not None:
                return view

    def next_unified_event(self) -> StreamEvent | _Sentinel:
        """Return the next event of ``ResponseStream.events()``, :data:`NEED_DATA` or
        :data:`END`: each :class:`ResponseStreamEvent`, then the chat event records it
        gives (see :class:`ResponseEventBuilder`); at the end the last ``*Done`` events
        and :class:`StreamEnded`, whose ``response`` is :attr:`snapshot`.

        Use either this or :meth:`next_event` for a whole stream, not both. It raises
        the errors of :meth:`next_event`, at the same point of the stream; nothing
        follows an error, not even :class:`StreamEnded`.
        """
        typed = self._typed_events
        if typed is None:
            typed = self.typed_events()
        return typed.next()  # type: ignore[no-any-return]

    def typed_events(self) -> TypedEvents:
        """The :class:`TypedEvents` behind :meth:`next_unified_event` (made on first
        use): ``ResponseStream.events()`` serves its queue directly."""
        typed = self._typed_events
        if typed is None:
            builder = ResponseEventBuilder()
            typed = self._typed_events = TypedEvents(
                self.next_event,
                builder,
                builder.add,
                lambda: builder.end(
                    done=self._complete_end(), interrupted=self.interrupted, response=self.snapshot
                ),
            )
        return typed

    def _handle(self, payload: Any, event: ServerSentEvent | None) -> ResponseStreamEvent | None:
        """Check, fold and wrap one decoded event; ``None`` for an ``error`` event, kept
        in ``_pending_error`` (see :meth:`_raise_pending`)."""
        position = self.events - 1
        if type(payload) is not dict:
            shown = event[1][:200] if event is not None else repr(payload)[:200]
            raise self.abort(
                ChunkParseError(
                    f"event {position} is JSON but not an object: {shown}",
                    position=position,
                    event=event,
                )
            )
        kind = payload.get("type")
        if type(kind) is not str:
            if payload.get("error") or payload.get("object") == "error":
                raise self.abort(self._api_error(payload, event, None))
            if event is not None and event[0] != "message":
                kind = event[0]  # the data lacks a type: the event: line names it
            elif "choices" in payload or payload.get("object") == "chat.completion.chunk":
                raise self.abort(
                    ChunkParseError(
                        f"event {position} is a chat-completion chunk, not a Responses API "
                        "event: this is a Chat Completions stream; read it with "
                        "ssestream.ChatStream",
                        position=position,
                        event=event,
                    )
                )
            else:
                raise self.abort(
                    ChunkParseError(
                        f'event {position} is not a Responses event (no "type"): '
                        f"{(event[1] if event is not None else repr(payload))[:200]}",
                        position=position,
                        event=event,
                    )
                )
        sequence = payload.get("sequence_number")
        if type(sequence) is int:
            expected = self._next_sequence
            if expected is not None and sequence != expected:
                self.sequence_gaps.append((expected, sequence))
                self._next_sequence = max(expected, sequence + 1)
            else:
                self._next_sequence = sequence + 1
        if kind == "error" or (event is not None and event[0] == "error"):
            self._pending_error = self._api_error(payload, event, None)
            return None  # raised by next_event once the event after it is known
        try:
            self._apply(kind, payload)
        except _MalformedError as exc:
            raise self.abort(
                ChunkParseError(f"event {position} ({kind}): {exc}", position=position, event=event)
            ) from None
        if kind in _TERMINAL:
            self.terminal_event = kind
            if kind == "response.failed":
                raise self.abort(self._api_error(payload, event, kind))
            self.stop()  # nothing after the terminal event is read
        self._arrivals.append(self._arrival)
        if self._looking and kind in OUTPUT_DELTAS:
            self._look(kind, payload)
        view = _VIEWS.get(kind, ResponseStreamEvent)(payload)
        if self._partial is not _NO_PARTIAL:
            view._partial = self._partial  # type: ignore[attr-defined]  # a delta's slot
            self._partial = _NO_PARTIAL
        return view

    def _raise_pending(self) -> _Sentinel:
        """After an ``error`` event: wait for the next event or the end of the body,
        fold the next event into the response if it is ``response.failed`` (OpenAI
        sends ``error`` then ``response.failed``: ``partial_response`` then has the
        failed status and the error), and raise the error. Returns NEED_DATA while
        neither came (the caller's read timeout bounds the wait)."""
        queued = self._events
        if not queued and not self._eof:
            return NEED_DATA
        error = self._pending_error
        assert error is not None
        self._pending_error = None
        if queued:
            try:
                payload = decode_json(queued[0][1])
            except ValueError:
                payload = None
            if type(payload) is dict and payload.get("type") == "response.failed":
                response = payload.get("response")
                if isinstance(response, dict):
                    queued.popleft()
                    self.events += 1
                    self.terminal_event = "response.failed"
                    self._finish("response.failed", _copy(response))
        raise self.abort(error)

    def _api_error(
        self, payload: dict[str, Any], event: ServerSentEvent | None, kind: str | None
    ) -> StreamAPIError:
        """The StreamAPIError of an ``error`` event, ``response.failed`` or error payload."""
        source: Any = payload
        if kind == "response.failed":
            response = payload.get("response")
            source = response.get("error") if isinstance(response, dict) else None
        elif isinstance(payload.get("error"), dict):
            source = payload["error"]
        if not isinstance(source, dict):
            source = {}
        message = source.get("message")
        code = source.get("code")
        param = source.get("param")
        error_type = source.get("type") if source is not payload else None
        if not isinstance(message, str) or not message:
            message = (
                "the response failed (no error message)"
                if kind == "response.failed"
                else f"the server sent an error event: {json.dumps(payload)}"
            )
        prefix = "response.failed: " if kind == "response.failed" else ""
        return StreamAPIError(
            bounded(prefix + message),
            error_type=error_type if isinstance(error_type, str) else None,
            code=code if isinstance(code, (str, int)) else None,
            param=param if isinstance(param, str) else None,
            body=payload,
            event=event,
        )

    def _look(self, kind: str, payload: dict[str, Any]) -> None:
        """Tell the timer about the first reasoning and the first output token, in the
        chat shape its ``look`` reads (the same definitions for both APIs)."""
        delta = payload.get("delta")
        if type(delta) is str and delta:
            self._looking = self.timer.look({"choices": [{"delta": {OUTPUT_DELTAS[kind]: delta}}]})

    def _usage(self) -> Mapping[str, Any] | None:
        """The usage so far in the timer's terms: ``output_tokens`` counts the output."""
        response = self._final if self._final is not None else self._envelope
        usage = response.get("usage")
        if isinstance(usage, dict) and type(usage.get("output_tokens")) is int:
            return {"completion_tokens": usage["output_tokens"]}
        return None

    # -- the rebuild

    def _apply(self, kind: str, payload: dict[str, Any]) -> None:
        """Fold one event into the rebuilt response (raises _MalformedError on a wrong type)."""
        rule = _TEXT_DELTA.get(kind)
        if rule is not None:
            delta = payload.get("delta")
            if type(delta) is not str:
                raise _MalformedError(f'"delta" is a {type(delta).__name__}, not text')
            # The usual event: the next fragment of the text the last one extended.
            output_index = payload.get("output_index")
            index = payload.get(rule[1]) if rule[1] is not None else 0
            if type(output_index) is int and type(index) is int:
                found = (kind, output_index, index)
                text = self._texts.get(found)
                if text is None:
                    text = self._texts[found] = self._text(payload, rule)
            else:
                text = self._text(payload, rule)  # raises: not an index
            text.add(delta)
            if text.json is not None:
                self._partial = text.feed_json(delta)
            return
        rule = _TEXT_DONE.get(kind)
        if rule is not None:
            full = payload.get(rule[2])
            if full is None:
                return  # nothing stated
            if type(full) is not str:
                raise _MalformedError(f'"{rule[2]}" is a {type(full).__name__}, not text')
            text = self._text(payload, rule)
            if text.deltas:
                rebuilt = text.value()
                if rebuilt != full:
                    self.mismatches.append(
                        ResponseMismatch(
                            path=self._path(payload, rule),
                            rebuilt=rebuilt,
                            stated=full,
                            event_type=kind,
                        )
                    )
            text.parts[:] = [full] if full else []
            text.json = None  # stated in full: no partial value after this
            return
        if kind in _LIFECYCLE:
            response = payload.get("response")
            if not isinstance(response, dict):
                raise _MalformedError('"response" is not an object')
            if kind in _TERMINAL:
                self._finish(kind, _copy(response))
            else:
                self._envelope.update((k, _copy(v)) for k, v in response.items() if k != "output")
            return
        if kind == "response.output_item.added" or kind == "response.output_item.done":
            item = payload.get("item")
            if item is None:
                return  # an empty added event (the openai SDK skips them too): no item
            index = _index(payload, "output_index")
            if not isinstance(item, dict):
                raise _MalformedError('"item" is not an object')
            if kind.endswith(".done"):
                current = self._items.get(index)
                if current is not None:
                    _compare(f"output[{index}]", current.to_dict(), item, kind, self.mismatches)
            self._items[index] = _Item(_copy(item))
            self._texts.clear()  # the texts found for the old item are gone
            return
        if kind.startswith("response.content_part.") or kind.startswith(
            "response.reasoning_summary_part."
        ):
            if not (kind.endswith(".added") or kind.endswith(".done")):
                return
            is_content = kind.startswith("response.content_part.")
            key = "content" if is_content else "summary"
            index = _index(payload, "content_index" if is_content else "summary_index")
            part = payload.get("part")
            if not isinstance(part, dict):
                raise _MalformedError('"part" is not an object')
            item = self._item(payload, "message" if is_content else "reasoning")
            if kind.endswith(".done") and index in item.parts.get(key, {}):
                path = f"output[{_index(payload, 'output_index')}].{key}[{index}]"
                for field in _PART_TEXTS:
                    streamed = item.texts.get((key, index, field))
                    stated = part.get(field)
                    if streamed is not None and streamed.deltas and type(stated) is str:
                        rebuilt = streamed.value()
                        if rebuilt != stated:
                            self.mismatches.append(
                                ResponseMismatch(
                                    path=f"{path}.{field}",
                                    rebuilt=rebuilt,
                                    stated=stated,
                                    event_type=kind,
                                )
                            )
            item.set_part(key, index, _copy(part))
            self._texts.clear()
            return
        if kind == "response.output_text.annotation.added":
            content_index = _index(payload, "content_index")
            annotation = payload.get("annotation")
            if not isinstance(annotation, dict):
                raise _MalformedError('"annotation" is not an object')
            item = self._item(payload, "message")
            part = item.part("content", content_index, _TEXT_DELTA["response.output_text.delta"][4])
            annotations = part.get("annotations")
            if not isinstance(annotations, list):
                annotations = part["annotations"] = []
            where = payload.get("annotation_index")
            if type(where) is int and 0 <= where < len(annotations):
                annotations[where] = _copy(annotation)
            else:
                annotations.append(_copy(annotation))

    def _item(self, payload: dict[str, Any], default_type: str) -> _Item:
        """The item at the event's ``output_index``, made (of the type the event implies)
        if it was never added: a hand-written server (coder/aibridge) sends deltas so."""
        index = _index(payload, "output_index")
        item = self._items.get(index)
        if item is None:
            data: dict[str, Any] = {"type": default_type}
            item_id = payload.get("item_id")
            if isinstance(item_id, str):
                data["id"] = item_id
            if default_type == "message":
                data["role"] = "assistant"
            data["status"] = "in_progress"
            item = self._items[index] = _Item(data)
        return item

    def _text(self, payload: dict[str, Any], rule: _Rule) -> _Text:
        key, index_field, field, default_type, default_part = rule
        item = self._item(payload, default_type)
        index = _index(payload, index_field) if index_field is not None else 0
        return item.text(key, index, field, default_part)

    def _path(self, payload: dict[str, Any], rule: _Rule) -> str:
        key, index_field, field, _, _ = rule
        path = f"output[{payload.get('output_index')}]"
        if key is not None and index_field is not None:
            path += f".{key}[{payload.get(index_field)}]"
        return f"{path}.{field}"

    def _finish(self, kind: str, final: dict[str, Any]) -> None:
        """Take the terminal response and check the rebuilt output against it."""
        rebuilt = self._output()
        stated = final.get("output")
        if isinstance(stated, list) and stated:
            for index, item in enumerate(rebuilt):
                if index < len(stated) and type(stated[index]) is dict:
                    _compare(f"output[{index}]", item, stated[index], kind, self.mismatches)
            if len(rebuilt) != len(stated) and rebuilt:
                self.mismatches.append(
                    ResponseMismatch(
                        path="output", rebuilt=len(rebuilt), stated=len(stated), event_type=kind
                    )
                )
        elif rebuilt:
            final["output"] = rebuilt  # the terminal response left the items out
        self._final = final

    def _output(self) -> list[dict[str, Any]]:
        items = self._items
        return [items[index].to_dict() for index in sorted(items)]

    def _json_body(self) -> ResponseStreamEvent:
        """The whole body was one JSON document: a response object, or an error."""
        body = bytes(self._body)
        self._body = bytearray()
        self._finished = False  # its one event ends the stream as any event would
        self.events += 1
        self.streamed = False
        self._arrival = self._clock()  # a plain JSON body arrives whole, at its end
        self.timer.reads += 1
        try:
            payload = decode_json(body.decode("utf-8-sig", "replace"))
        except ValueError as exc:
            shown = bounded(repr(body[:300]), 200)
            error = ChunkParseError(f"the body is not JSON ({exc}): {shown}", position=0)
            raise self.abort(error) from exc
        if isinstance(payload, dict) and payload.get("object") == "response":
            status = payload.get("status")
            kind = f"response.{status}" if isinstance(status, str) else "response.completed"
            if kind not in _LIFECYCLE:
                kind = "response.in_progress"
            result = self._handle({"type": kind, "response": payload}, None)
            assert result is not None  # a lifecycle event, not an error
            self.stop()  # a queued or in-progress response is not finished: interrupted
            return result
        if isinstance(payload, dict) and (payload.get("error") or payload.get("object") == "error"):
            raise self.abort(self._api_error(payload, None, None))
        shown = bounded(body.decode("utf-8", "replace"), 200)
        raise self.abort(
            ChunkParseError(f"the body is JSON but not a Responses response: {shown}", position=0)
        )

    # -- results

    @property
    def snapshot(self) -> Response:
        """The :class:`Response` as known now (see the class docstring for what wins).

        Each read builds a new object (a copy: mutate it freely), so it costs time in
        proportion to the response; read it when needed, not after every event.
        """
        if self._final is not None:
            return Response(_copy(self._final))
        out = _copy(self._envelope)
        out["output"] = self._output()
        return Response(out)

    @property
    def interrupted(self) -> bool:
        """Whether the stream ended without its terminal event.

        True after a transport error or any error raised while reading (``error``
        and ``response.failed`` included), and when the body or a ``[DONE]`` ended the
        stream before ``response.completed`` / ``.incomplete`` / ``.failed``. A
        ``response.incomplete`` stream is not interrupted: the response is, and says
        why in ``incomplete_details``.
        """
        return self._broken


class _MalformedError(Exception):
    """A field the rebuild reads has the wrong type (becomes ChunkParseError)."""


def _index(payload: Mapping[str, Any], field: str) -> int:
    value = payload.get(field)
    if type(value) is not int or value < 0:
        raise _MalformedError(f'"{field}" is {value!r}, not an index')
    return value
