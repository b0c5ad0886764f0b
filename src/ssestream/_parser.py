"""The sans-IO core of a stream: response head, body bytes and failures in; results out.

Every decision about a streamed response lives here, so that the twins in
:mod:`ssestream._streams` are loops that only read bytes. It works like h11's
``Connection``: hand a parser the response head with ``receive_head``, body bytes with
``receive_data``, the end of the body with ``receive_eof`` and a transport failure with
``receive_failure``, and pull results (``next_chunk`` / ``next_event``) until they say
:data:`NEED_DATA` or :data:`END`.

:class:`BaseStreamParser` is the one mechanism that every stream kind shares:

* **The head.** A status >= 400, or a ``Content-Type`` that is not an event stream, turns
  the body into an *error body*: at most :data:`ERROR_BODY_BYTES` of it are kept, and the
  next pull raises :class:`APIStatusError` / :class:`UnexpectedContentTypeError` built from
  them, when the budget is full, at the end of the body, or when the transport fails
  (then with the transport error as ``__cause__``: the status is never lost).
* **Failures.** ``receive_failure(exc)`` turns a transport error into
  :class:`StreamInterruptedError` (or the head error, in an error body). Like every error
  found while reading, it is raised only after the results that came before it were
  pulled, so the results never depend on where the reads were cut.
* **Limits.** Every state has one: the decoder's ``max_line_bytes`` / ``max_event_bytes``
  for an event stream, ``max_event_bytes`` for a plain JSON body, :data:`ERROR_BODY_BYTES`
  for an error body. Blank bytes before the first event go through the decoder, which
  keeps no complete line, so a flood of them costs no memory.
* **Bounded messages.** An error message built from server text shows at most
  :data:`MESSAGE_CHARS` of it; the whole payload stays on the error's ``body``.

:class:`ChatStreamParser` reads chat-completion chunks; :class:`EventStreamParser` reads
generic events (the core of :func:`ssestream.iter_events`).

A chat body is read as an event stream, except when its first non-blank byte is ``{``: a
provider or proxy that ignored ``stream: true`` (or sent an error as plain JSON). An event
stream cannot begin with ``{``, so this sniffing is safe; such a body is collected
(up to ``max_event_bytes``) and turned into one chunk at its end.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, TypeVar

from ._accumulator import ChatCompletionAccumulator
from ._decoder import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_LINE_BYTES, ServerSentEvent, SSEDecoder
from ._events import ChatEventBuilder, ChatStreamEvent
from ._exceptions import (
    APIStatusError,
    ChunkParseError,
    LimitExceededError,
    SSEStreamError,
    StreamAPIError,
    StreamInterruptedError,
    UnexpectedContentTypeError,
)
from ._responses_types import looks_like_responses_event
from ._think import ThinkTags
from ._timings import Clock, StreamTimer, StreamTimings
from ._types import ChatCompletion, ChatCompletionChunk, _view

__all__ = [
    "END",
    "ERROR_BODY_BYTES",
    "MESSAGE_CHARS",
    "NEED_DATA",
    "SPEEDUPS_ENV",
    "BaseStreamParser",
    "ChatStreamParser",
    "EventStreamParser",
    "bounded",
    "decode_json",
    "error_fields",
    "head_error",
    "needs_error_body",
]

_E = TypeVar("_E", bound=SSEStreamError)

_loads = json.loads
_raw_decode = json.JSONDecoder().raw_decode

SPEEDUPS_ENV = "SSESTREAM_SPEEDUPS"
"""The environment variable that turns the accelerator off when set to ``0``."""


def _speedups() -> Callable[[str | bytes], Any] | None:
    """msgspec's JSON decoder when it is installed (``ssestream[speedups]``) and not
    turned off by ``SSESTREAM_SPEEDUPS=0``; else None."""
    if os.environ.get(SPEEDUPS_ENV, "1") == "0":
        return None
    try:
        from msgspec.json import Decoder
    except ImportError:
        return None
    return Decoder().decode


# The accelerator decode_json tries first. Tests set it to None to force the stdlib.
# msgspec decodes a 320-byte OpenAI chunk in 0.75 us against raw_decode's 1.9 us and
# json.loads's 2.5 us (timeit, best of 7; orjson: 0.74 us, but it turns integers past
# 64 bits into floats without an error, where msgspec keeps them exact).
_fast_loads = _speedups()


class _NestingError(ValueError):
    """JSON nested deeper than the interpreter's recursion limit allows to decode."""


def decode_json(text: str | bytes) -> Any:
    """Return ``json.loads(text)``, sooner for the usual payload, with one error type.

    Raises ``ValueError`` (``json.JSONDecodeError``, or a plain ``ValueError`` for JSON
    nested too deeply to decode, which ``json`` reports as ``RecursionError``) and
    nothing else, so callers turn any bad payload into their own typed error.

    With ``ssestream[speedups]`` installed, msgspec decodes first (3x faster on a chat
    chunk). Whatever msgspec refuses goes to ``json`` as before: invalid JSON, and the
    inputs on which the two would differ (``NaN``/``Infinity``, numbers beyond the
    float range, lone surrogates, a BOM or UTF-16 in bytes, nesting past its depth
    limit); where msgspec accepts, its value equals ``json.loads``'s (the differential
    tests check this). So the results and the errors are exactly the stdlib's. Set
    ``SSESTREAM_SPEEDUPS=0`` before import to use the stdlib alone.

    ``json.loads`` matches a whitespace pattern before and after the document, which
    costs a quarter of decoding a typical chunk (measured); ``raw_decode``, the
    documented ``JSONDecoder`` method it calls in between, does not. Text with anything
    around the object (whitespace, which is valid, or extra data, which is not) goes
    to ``json.loads``, so results and errors are the same.
    """
    fast = _fast_loads
    if fast is not None:
        try:
            return fast(text)
        except Exception:  # refused: the stdlib decides, value or error
            pass
    return _decode_stdlib(text)


def _decode_stdlib(text: str | bytes) -> Any:
    """:func:`decode_json` without the accelerator."""
    try:
        if type(text) is str and text[:1] == "{":
            value, end = _raw_decode(text)
            if end == len(text):
                return value
        return _loads(text)
    except RecursionError:
        raise _NestingError("JSON nested too deeply to decode") from None


ERROR_BODY_BYTES = 64 * 1024
"""How much of an error response's body is read to explain it: 64 KiB."""

MESSAGE_CHARS = 500
"""How many characters of server text an error message shows at most (the rest is cut,
and said so); the whole text stays on the error's ``body``."""


def bounded(text: str, limit: int = MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a note of how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NEED_DATA: Final = _Sentinel("NEED_DATA")
"""Returned by a parser's pull: feed more bytes, the end of the body, or a failure."""

END: Final = _Sentinel("END")
"""Returned by a parser's pull: the stream is over; read the result."""

# Body modes.
_SNIFF = 0  # nothing but blanks yet: event stream or JSON body?
_SSE = 1  # reading an event stream
_JSON = 2  # collecting a JSON body
_ERROR = 3  # collecting an error body after a refused head
_STOPPED = 4  # an error is pending or the stream is over: input is ignored

_BLANKS = b" \t\r\n\xef\xbb\xbf"


def _media_type(headers: Mapping[str, str] | None) -> str:
    if headers is None:
        return ""
    value = headers.get("content-type") or ""
    return value.split(";", 1)[0].strip().lower()


def needs_error_body(
    status_code: int, headers: Mapping[str, str] | None, *, allow_json: bool = True
) -> bool:
    """Whether a response head means "no stream": the body only explains an error.

    True for HTTP status >= 400 and for a ``Content-Type`` other than
    ``text/event-stream`` or, with ``allow_json``, JSON (a chat stream reads a JSON
    body as a non-streamed answer); a missing one is accepted. A parser's
    ``receive_head`` applies this rule.
    """
    if status_code >= 400:
        return True
    media = _media_type(headers)
    if media in ("", "text/event-stream"):
        return False
    return not (allow_json and (media == "application/json" or media.endswith("+json")))


def error_fields(payload: Any) -> tuple[str | None, str | None, str | int | None, str | None]:
    """Pull ``(message, type, code, param)`` out of an error payload of any known shape.

    Shapes: OpenAI's ``{"error": {"message", "type", "code", "param"}}`` (API reference,
    "Error codes"); ``{"error": "text"}`` (Ollama, some gateways); vLLM's
    ``{"object": "error", "message": ...}``; FastAPI's ``{"detail": ...}``. A field of
    another type than the API's is shown as text, never trusted as-is.
    """
    if not isinstance(payload, dict):
        return None, None, None, None
    error = payload.get("error")
    if isinstance(error, dict):
        fields: Mapping[str, Any] = error
        message = error.get("message")
    elif isinstance(error, str):
        fields, message = payload, error
    else:
        fields = payload
        message = payload.get("message", payload.get("detail"))
        if message is None:
            return None, None, None, None
    return (
        _as_text(message),
        _as_text(fields.get("type")),
        _as_code(fields.get("code")),
        _as_text(fields.get("param")),
    )


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return bounded(json.dumps(value) if isinstance(value, (dict, list)) else str(value))


def _as_code(value: Any) -> str | int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _as_text(value)


def head_error(
    status_code: int, headers: Mapping[str, str] | None, body: bytes, *, response: Any = None
) -> SSEStreamError:
    """Build the error for a response head that :func:`needs_error_body` refused.

    Returns (does not raise) an :class:`APIStatusError` for status >= 400, parsing
    OpenAI's ``{"error": {"message", "type", "param", "code"}}`` when the body is one,
    else an :class:`UnexpectedContentTypeError`. ``body`` is the first bytes of the body
    (at most :data:`ERROR_BODY_BYTES` are used); the message shows at most
    :data:`MESSAGE_CHARS` of server text.
    """
    text = body[:ERROR_BODY_BYTES].decode("utf-8", "replace")
    if status_code >= 400:
        try:
            payload = decode_json(text)
        except ValueError:
            payload = None
        message, error_type, code, param = error_fields(payload)
        shown = bounded(message if message is not None else text.strip() or "(empty body)")
        return APIStatusError(
            f"HTTP {status_code}: {shown}",
            status_code=status_code,
            body=text,
            error_type=error_type,
            param=param,
            code=code,
            response=response,
        )
    content_type = (headers or {}).get("content-type") or ""
    shown = bounded(" ".join(text[:1000].split()), 200)
    return UnexpectedContentTypeError(
        f"expected an event stream, got Content-Type {bounded(content_type, 100)!r}: {shown!r}",
        content_type=content_type,
        body=text,
        response=response,
    )


class BaseStreamParser:
    """What every stream parser shares: the head, the body's modes and limits, failures.

    Subclasses (:class:`ChatStreamParser`, :class:`EventStreamParser`) pull events with
    :meth:`_next_event` and turn them into their own results. See the module docstring
    for the rules; the methods below are the input side, the same for every kind.

    Args:
        max_line_bytes: the :class:`SSEDecoder`'s line limit in bytes (``None``: none).
        max_event_bytes: its event limit in bytes, which also bounds a plain JSON body
            (``None``: none).
        clock: a monotonic clock in seconds for :attr:`timings` (``time.perf_counter``
            by default; inject a fake one to test timings exactly).

    Attributes:
        decoder: the :class:`SSEDecoder` (its ``last_event_id`` and ``retry`` are the
            stream's).
        timer: the ``StreamTimer`` that collects :attr:`timings`.
        events: how many events were pulled.
        response: the HTTP response, set by the caller, attached to errors.
    """

    _allow_json = False  # whether a JSON body is an answer (chat) or an error (events)

    def __init__(
        self,
        *,
        max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
        clock: Clock | None = None,
    ) -> None:
        self.timer = StreamTimer(clock)
        self._clock = self.timer.clock
        self._arrivals = self.timer.arrivals
        self._arrival = 0.0  # when the read that completed the pending events came
        self._looking = True  # the first token is not known yet
        self.decoder = SSEDecoder(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes)
        self._feed = self.decoder.feed
        self._max_body = max_event_bytes if max_event_bytes is not None else 1 << 62
        self._events: deque[ServerSentEvent] = deque()
        self._mode = _SNIFF
        self._body = bytearray()
        self._head: tuple[int, Mapping[str, str] | None] | None = None
        self._eof = False
        self._finished = False
        self._broken = False
        self._deferred: SSEStreamError | None = None
        self.events = 0
        self.streamed: bool | None = None
        self.response: Any = None

    # -- input

    def receive_head(self, status_code: int, headers: Mapping[str, str] | None) -> bool:
        """Check the response head (see :func:`needs_error_body`).

        Returns True when it is an error, not a stream. Keep feeding the body anyway:
        at most :data:`ERROR_BODY_BYTES` of it are kept, and the next pull raises
        :class:`APIStatusError` (status >= 400) or :class:`UnexpectedContentTypeError`
        once that budget is full or the body ends. Such errors have ``completion=None``:
        no stream began.
        """
        self.timer.head()
        if needs_error_body(status_code, headers, allow_json=self._allow_json):
            self._head = (status_code, headers)
            self._mode = _ERROR
            return True
        return False

    def receive_data(self, data: bytes) -> bool:
        """Take the next bytes of the body (any size; empty bytes are ignored).

        Returns whether the next pull now has something other than :data:`NEED_DATA`
        to give, so a reading loop can skip asking.

        Raises:
            TypeError: ``data`` is not bytes-like (caller misuse: a source that yields
                ``str``).
        """
        if type(data) is not bytes:
            data = _check_bytes(data)
        if self._mode == _SSE:
            try:
                events = self._feed(data)
            except LimitExceededError as exc:
                # The events the read completed before the limit are handed out
                # first, so the result does not depend on where the reads were cut.
                self._events.extend(exc.events)
                self._defer(exc)
                return True
            if events:
                self._events.extend(events)
                self._arrival = self._clock()
                self.timer.reads += 1
                return True
            return False
        if self._mode == _STOPPED:
            return True
        if data and self.timer.first_byte is None:
            self.timer.first_byte = self._clock()
        if self._mode == _SNIFF:
            stripped = data.lstrip(_BLANKS)
            if stripped[:1] != b"{" or not self._allow_json:
                # An event stream (or still nothing but blanks): the decoder takes it,
                # and keeps no complete blank line, so blanks cost no memory.
                if stripped:
                    self._mode = _SSE
                    self.streamed = True
                    return self.receive_data(data)
                try:
                    self._feed(data)
                except LimitExceededError as exc:
                    self._defer(exc)
                    return True
                return False
            self._mode = _JSON
            data = stripped
        body = self._body
        if self._mode == _ERROR:
            body += data[: ERROR_BODY_BYTES - len(body)]
            if len(body) >= ERROR_BODY_BYTES:
                self._defer(self._head_error(None))
                return True
            return False
        body += data
        if len(body) > self._max_body:
            self._body = bytearray()
            self._defer(LimitExceededError("max_event_bytes", self._max_body, len(body), 0))
            return True
        return False

    def receive_eof(self) -> None:
        """Signal the end of the body (the connection closed cleanly)."""
        if self._mode == _SSE or self._mode == _SNIFF:
            self._events.extend(self.decoder.close())
        elif self._mode == _ERROR and self._deferred is None:
            self._defer(self._head_error(None))
        self._eof = True

    def receive_failure(self, cause: BaseException) -> None:
        """Signal that the transport failed while the body was read.

        The next pull raises, after the results that came before it:
        :class:`StreamInterruptedError` mid-body, or the head error (status and the body
        so far) while an error body was read, with ``cause`` as ``__cause__``.
        """
        self._eof = True
        if self._deferred is not None:
            return  # an error is pending already: it came first
        if self._head is not None:
            error: SSEStreamError = self._head_error(cause)
        else:
            text = bounded(f"{type(cause).__name__}: {cause}")
            error = StreamInterruptedError(f"the stream broke off: {text}")
        error.__cause__ = cause
        self._defer(error)

    def _defer(self, error: SSEStreamError) -> None:
        """Keep ``error`` to raise after the events already decoded; ignore input now."""
        if self._deferred is None:
            self._deferred = error
        self._mode = _STOPPED

    def _head_error(self, cause: BaseException | None) -> SSEStreamError:
        assert self._head is not None
        status_code, headers = self._head
        error = head_error(status_code, headers, bytes(self._body), response=self.response)
        self._body = bytearray()
        if cause is not None:
            error.__cause__ = cause
        return error

    # -- ending

    def abort(self, error: _E) -> _E:
        """End the stream because of ``error`` and return it, to be raised.

        For errors found outside the parser too: the stream is over and
        ``interrupted``, and the error gets ``response`` and, except for a refused head,
        the partial result (see :meth:`_attach`).
        """
        head_refused = self._head is not None
        self.stop()
        if not head_refused:
            self._attach(error)
        if error.response is None:
            error.response = self.response
        return error

    def _attach(self, error: SSEStreamError) -> None:
        """Attach the partial result to ``error`` (a subclass's ``completion``)."""

    def stop(self) -> None:
        """End the stream without an error of its own (the reader gave up, or failed).

        Nothing more is handed out; ``interrupted`` is True unless the stream had
        already ended complete. Calling it again, or after the end, changes nothing.
        """
        if self._finished:
            return
        self._end()
        self._broken = not self._complete_end()
        self._events.clear()
        self._body = bytearray()
        self._mode = _STOPPED

    def _end(self) -> None:
        """The stream is over: nothing more is handed out; its end time is taken."""
        self._finished = True
        self.timer.finish()

    def _complete_end(self) -> bool:
        """Whether stopping now leaves a complete result (``[DONE]`` arrived)."""
        return False

    # -- output

    def _next_event(self) -> ServerSentEvent | _Sentinel:
        """The next decoded event, :data:`NEED_DATA` or :data:`END` (at the end of the
        body; a subclass with a JSON body reads it when this says END). Raises a
        deferred error once the events before it were pulled."""
        if self._events:
            self.events += 1
            return self._events.popleft()
        if self._deferred is not None:
            raise self.abort(self._deferred)
        if not self._eof:
            return NEED_DATA
        return END

    @property
    def finished(self) -> bool:
        """Whether the stream is over: its end marker, the end of the body, or an error."""
        return self._finished

    @property
    def timings(self) -> StreamTimings:
        """When each stage of the stream happened, read from the parser's ``clock``:
        a new :class:`StreamTimings` snapshot on each read (see it for definitions)."""
        return self.timer.snapshot(self._usage())

    def _usage(self) -> Mapping[str, Any] | None:
        """The stream's usage object so far (the chat parser's accumulator has it)."""
        return None


def _check_bytes(data: Any) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"a byte source must yield bytes, not {type(data).__name__}")
    return bytes(data)


class _Builder(Protocol):
    ended: bool


class TypedEvents:
    """The typed events a builder makes of a parser's items, queued: the one mechanism
    behind :meth:`ChatStreamParser.next_event` (chunks through a
    :class:`ChatEventBuilder`), ``ResponseStreamParser.next_unified_event`` and the
    ``events()`` iterators of every stream, sync and async.

    ``next_item`` is the parser's own pull (:data:`NEED_DATA` and :data:`END` pass
    through), ``add(item)`` the events of one item, ``end()`` those of the stream's end
    (empty when there are none left). An error raised by ``next_item`` ends the builder
    (``ended``): no ``*Done`` or ``StreamEnded`` follows an error.

    Attributes:
        queue: the events made and not handed out yet, oldest first (a ``deque``). An
            ``events()`` iterator pops them itself and calls :meth:`fill` only when it
            is empty, so that an error always comes after every event before it.
    """

    __slots__ = ("_add", "_builder", "_end", "_next_item", "queue")

    def __init__(
        self,
        next_item: Callable[[], Any],
        builder: _Builder,
        add: Callable[[Any], list[Any]],
        end: Callable[[], list[Any]],
    ) -> None:
        self._next_item = next_item
        self._builder = builder
        self._add = add
        self._end = end
        self.queue: deque[Any] = deque()

    def fill(self) -> _Sentinel | None:
        """Queue the events of the next item, or of the stream's end: ``None`` once
        some are queued, else :data:`NEED_DATA` or :data:`END` (no event is left).
        Call it only when :attr:`queue` is empty; raises what ``next_item`` raises."""
        while True:
            try:
                item = self._next_item()
            except BaseException:
                self._builder.ended = True  # no *Done or StreamEnded after an error
                raise
            if item is NEED_DATA:
                return item
            if item is END:
                events = self._end()
                if not events:
                    return item  # END: no event is left
            else:
                events = self._add(item)
            if events:
                self.queue.extend(events)
                return None

    def next(self) -> Any:
        """The next event, :data:`NEED_DATA` or :data:`END`; raises what ``next_item``
        raises, after every event of the items before it."""
        queue = self.queue
        if not queue:
            status = self.fill()
            if status is not None:
                return status
        return queue.popleft()


class EventStreamParser(BaseStreamParser):
    """Sans-IO generic event stream: the core of :func:`ssestream.iter_events`.

    No knowledge of chat completions: every dispatched :class:`ServerSentEvent` is handed
    out by :meth:`next_event`. A response head must have status < 400 and a
    ``Content-Type`` of ``text/event-stream`` (or none).
    """

    def next_event(self) -> ServerSentEvent | _Sentinel:
        """Return the next event, :data:`NEED_DATA` or :data:`END`.

        Raises:
            APIStatusError, UnexpectedContentTypeError: the head was refused.
            LimitExceededError: a line or event passed its limit.
            StreamInterruptedError: the transport failed (cause attached).
        """
        if self._finished:
            return END
        item = self._next_event()
        if item is END:
            self._end()
        return item


class ChatStreamParser(BaseStreamParser):
    """Sans-IO state of one chat-completion stream, shared by the sync and async streams.

    Args:
        max_line_bytes: the :class:`SSEDecoder`'s line limit in bytes (``None``: none).
        max_event_bytes: its event limit in bytes, which also bounds a plain JSON body
            (``None``: none).
        keep_chunks: keep every chunk in ``accumulator.chunks``.
        clock: a monotonic clock in seconds for :attr:`timings` (``time.perf_counter``
            by default).
        think_tags: move ``<think>`` text out of content into reasoning (off by
            default; see :class:`ChatCompletionAccumulator`).
        on_bad_chunk: for tools that report every problem of a stream (``ssestream
            check``): a data payload that is not a chunk (not JSON, not an object, a
            field of the wrong type) is handed to it as the :class:`ChunkParseError`
            that would have been raised, and the stream goes on with the next event;
            the accumulator is unchanged by it. Errors sent by the server, limits and a
            bad plain JSON body still raise. Default ``None``: raise.

    Attributes:
        accumulator: the :class:`ChatCompletionAccumulator` every chunk is added to.
        decoder: the :class:`SSEDecoder` (its ``last_event_id`` and ``retry`` are the
            stream's).
        done: ``data: [DONE]`` arrived.
        streamed: ``False`` when the body was one plain JSON ``chat.completion`` (the
            server ignored ``stream: true``), ``True`` once it is known to be an event
            stream, ``None`` before the body began.
        events: how many events were handled (``[DONE]`` and ignored ones included).
        ignored_events: events neither ``message`` nor ``error`` (e.g. ``event: ping``),
            and ``message`` events with empty data (keep-alives): not chunks, skipped.
        bad_chunks: bad chunks handed to ``on_bad_chunk`` and skipped.
        response: the HTTP response, set by the caller, attached to errors.
    """

    _allow_json = True

    def __init__(
        self,
        *,
        max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
        keep_chunks: bool = False,
        clock: Clock | None = None,
        think_tags: bool | ThinkTags = False,
        on_bad_chunk: Callable[[ChunkParseError], None] | None = None,
    ) -> None:
        super().__init__(
            max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes, clock=clock
        )
        self._on_bad_chunk = on_bad_chunk
        self.bad_chunks = 0
        self.accumulator = ChatCompletionAccumulator(keep_chunks=keep_chunks, think_tags=think_tags)
        self._add = self.accumulator.add
        self.done = False
        self.ignored_events = 0
        self._typed_events: TypedEvents | None = None  # made by next_event()

    def _attach(self, error: SSEStreamError) -> None:
        error.completion = self.completion

    def _complete_end(self) -> bool:
        return self.done

    def _usage(self) -> Mapping[str, Any] | None:
        return self.accumulator.usage

    # -- output

    def next_chunk(self) -> ChatCompletionChunk | _Sentinel:
        """Return the next chunk, :data:`NEED_DATA` or :data:`END`.

        Raises:
            APIStatusError, UnexpectedContentTypeError: the head was refused (once the
                error body is read; ``completion`` is ``None``).
            StreamAPIError: the server sent an error event or error payload.
            ChunkParseError: an event's data is not a chat-completion chunk (also for an
                OpenAI Responses API stream, which the error names).
            LimitExceededError: a line, an event or a plain JSON body was too large.
            StreamInterruptedError: the transport failed (see :meth:`receive_failure`).
        The stream is over after any of them; ``completion`` is attached.
        """
        if self._finished:
            return END
        events = self._events
        while True:
            event: ServerSentEvent | _Sentinel
            if events:  # the usual case, inlined: a call per chunk shows (measured 2%)
                self.events += 1
                event = events.popleft()
            else:
                event = self._next_event()
            if type(event) is not ServerSentEvent:
                if event is END:
                    self._end()
                    if self._mode == _JSON:
                        return self._json_body()
                    return END
                return NEED_DATA
            if event[0] != "message":
                if event[0] == "error":
                    raise self.abort(self._stream_error(event, event[1]))
                if looks_like_responses_event(event):
                    raise self.abort(self._responses_error(event))
                self.ignored_events += 1
                continue
            data = event[1]
            if data[:1] != "{":
                if data.strip() == "[DONE]":
                    self.done = True
                    self._end()
                    self._events.clear()
                    return END
                if not data.strip():
                    self.ignored_events += 1
                    continue
            fast = _fast_loads
            if fast is not None:
                # decode_json's first step, inlined: a Python call less per chunk, 0.1 us
                # of its 4.6 us through the parser (A/B, three interleaved runs).
                try:
                    payload = fast(data)
                except Exception:  # refused: the stdlib decides, value or error
                    fast = None
            if fast is None:
                try:
                    payload = _decode_stdlib(data)
                except ValueError as exc:
                    error = ChunkParseError(
                        f"event {self.events - 1} is not JSON ({exc}): {bounded(data, 200)!r}",
                        position=self.events - 1,
                        event=event,
                    )
                    error.__cause__ = exc
                    self._bad_chunk(error)
                    continue
            if (
                type(payload) is dict
                and "choices" in payload
                and not payload.get("error")
                and payload.get("object") != "error"
            ):
                # _chunk's usual case, inlined: a frame less per chunk, 0.07 us of the
                # 0.8 us the parser adds to JSON and merging (measured, 4096-byte reads).
                try:
                    self._add(payload)
                except ChunkParseError as exc:
                    self._rejected(exc, event)
                    continue
                self._arrivals.append(self._arrival)
                if self._looking:
                    self._looking = self.timer.look(payload)
                # ChatCompletionChunk(payload) without its __init__ frame (the two
                # slots it sets, set here): 60 of the view's 190 ns (measured).
                view = _view(ChatCompletionChunk)
                view._data = payload
                view._choices = None
                return view
            chunk = self._chunk(payload, event)
            if chunk is not None:
                return chunk

    def next_event(self) -> ChatStreamEvent | _Sentinel:
        """Return the next typed event (see :mod:`ssestream._events`), :data:`NEED_DATA`
        or :data:`END`.

        The events of each chunk come from a :class:`ChatEventBuilder` over this
        parser's accumulator, so they add up to :attr:`completion`; the stream's end
        gives the last ``*Done`` events and :class:`StreamEnded`. Use either this or
        :meth:`next_chunk` for a whole stream, not both: chunks taken with
        :meth:`next_chunk` give no events.

        It raises the errors of :meth:`next_chunk`, at the same point of the stream:
        after every event of the chunks before it. Nothing follows an error, not even
        :class:`StreamEnded`.
        """
        typed = self._typed_events
        if typed is None:
            typed = self.typed_events()
        return typed.next()  # type: ignore[no-any-return]

    def typed_events(self) -> TypedEvents:
        """The :class:`TypedEvents` behind :meth:`next_event` (made on first use):
        ``ChatStream.events()`` serves its queue directly."""
        typed = self._typed_events
        if typed is None:
            builder = ChatEventBuilder(self.accumulator)
            typed = self._typed_events = TypedEvents(
                self.next_chunk,
                builder,
                builder.added,
                lambda: builder.end(done=self.done, interrupted=self.interrupted),
            )
        return typed

    def _chunk(self, payload: Any, event: ServerSentEvent | None) -> ChatCompletionChunk | None:
        """Check one decoded payload, add it to the accumulator and wrap it; ``None``
        for a bad chunk that ``on_bad_chunk`` took."""
        if type(payload) is dict and not payload.get("error") and payload.get("object") != "error":
            if "choices" not in payload and event and looks_like_responses_event(event, payload):
                raise self.abort(self._responses_error(event))
            try:
                self._add(payload)
            except ChunkParseError as exc:
                self._rejected(exc, event)
                return None
            self._arrivals.append(self._arrival)
            if self._looking:
                self._looking = self.timer.look(payload)
            return ChatCompletionChunk(payload)
        position = self.events - 1
        if type(payload) is not dict:
            shown = bounded(event[1] if event else json.dumps(payload), 200)
            error = ChunkParseError(
                f"event {position} is JSON but not an object: {shown}",
                position=position,
                event=event,
            )
            self._bad_chunk(error)
            return None
        raise self.abort(self._stream_error(event, payload))

    def _rejected(self, error: ChunkParseError, event: ServerSentEvent | None) -> None:
        """A chunk the accumulator refused: the error gets the event and its position."""
        error.event = event
        error.position = self.events - 1
        self._bad_chunk(error)

    def _bad_chunk(self, error: ChunkParseError) -> None:
        """Raise ``error`` (the stream ends), or hand it to ``on_bad_chunk`` and go on
        (only in an event stream: a bad plain JSON body is the whole answer)."""
        if self._on_bad_chunk is None or not self.streamed:
            raise self.abort(error)
        self.bad_chunks += 1
        self._on_bad_chunk(error)

    def _responses_error(self, event: ServerSentEvent) -> ChunkParseError:
        name = event[0] if event[0] != "message" else "data-only"
        return ChunkParseError(
            f"event {self.events - 1} ({bounded(name, 80)}) belongs to an OpenAI Responses "
            "API stream (POST /v1/responses), not a chat-completion stream: read it with "
            "ssestream.ResponseStream / AsyncResponseStream",
            position=self.events - 1,
            event=event,
        )

    def _stream_error(self, event: ServerSentEvent | None, body: Any) -> StreamAPIError:
        payload = body
        if isinstance(body, str):
            try:
                payload = decode_json(body)
            except ValueError:
                payload = body
        message, error_type, code, param = error_fields(payload)
        if message is None:
            if isinstance(payload, str):
                message = payload.strip() or "the server sent an error event with no data"
            else:
                message = json.dumps(payload)
        return StreamAPIError(
            bounded(message),
            error_type=error_type,
            code=code,
            param=param,
            body=payload,
            event=event,
        )

    def _json_body(self) -> ChatCompletionChunk | _Sentinel:
        self._arrival = self._clock()  # a plain JSON body arrives whole, at its end
        self.timer.reads += 1
        body = bytes(self._body)
        self._body = bytearray()
        self.events += 1
        self.streamed = False
        try:
            payload = decode_json(body.decode("utf-8-sig", "replace"))
        except ValueError as exc:
            error = ChunkParseError(
                f"the body is not JSON ({exc}): {bounded(repr(body[:300]), 200)}", position=0
            )
            raise self.abort(error) from exc
        if isinstance(payload, dict) and isinstance(payload.get("choices"), list):
            # A whole chat.completion: each choice's message becomes its delta.
            choices = []
            for position, choice in enumerate(payload["choices"]):
                if isinstance(choice, dict) and "message" in choice and "delta" not in choice:
                    choice = dict(choice)
                    choice["delta"] = choice.pop("message")
                    choice.setdefault("index", position)
                choices.append(choice)
            payload = dict(payload)
            payload["choices"] = choices
            if payload.get("object") == "chat.completion":
                payload["object"] = "chat.completion.chunk"
        chunk = self._chunk(payload, None)
        assert chunk is not None  # a plain JSON body is never skipped (see _bad_chunk)
        return chunk

    # -- results

    @property
    def completion(self) -> ChatCompletion:
        """The completion rebuilt from every chunk handed out so far."""
        return self.accumulator.completion

    @property
    def interrupted(self) -> bool:
        """Whether the answer is incomplete.

        True after a transport error or any error raised by the stream, or when the body
        ended without ``[DONE]`` and either no chunk arrived or some choice has no
        ``finish_reason``. A body that ends without ``[DONE]`` once every choice has
        finished is complete: several providers never send ``[DONE]``.
        """
        if self._broken:
            return True
        if not self._finished or self.done:
            return False
        return not self.accumulator.finished
