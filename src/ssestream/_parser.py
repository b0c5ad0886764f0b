"""The sans-IO core of a chat stream: response head, body bytes in; chunks and errors out.

:class:`ChatStreamParser` holds every decision that ``ChatStream`` and ``AsyncChatStream``
share, so that those twins are thin loops that only read bytes. It works like h11's
``Connection``: hand it the response head with :meth:`~ChatStreamParser.receive_head`,
body bytes with :meth:`~ChatStreamParser.receive_data` and the end of the body with
:meth:`~ChatStreamParser.receive_eof`, and pull results with
:meth:`~ChatStreamParser.next_chunk` until it says :data:`NEED_DATA` or :data:`END`.

Events are turned into chunks one at a time, as they are pulled, so an error event is
raised only after every chunk before it was handed out, and a ``[DONE]`` ends the stream
even if more bytes followed it in the same read.

The body is read as an event stream, except when its first non-blank byte is ``{``: a
provider or proxy that ignored ``stream: true`` (or sent an error as plain JSON). An event
stream cannot begin with ``{``, so this sniffing is safe; such a body is collected
(up to ``max_event_bytes``) and turned into one chunk at its end.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from ._accumulator import ChatCompletionAccumulator
from ._decoder import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_LINE_BYTES, ServerSentEvent, SSEDecoder
from ._exceptions import (
    APIStatusError,
    ChunkParseError,
    LimitExceededError,
    SSEStreamError,
    StreamAPIError,
    StreamInterruptedError,
    UnexpectedContentTypeError,
)
from ._types import ChatCompletion, ChatCompletionChunk

__all__ = [
    "END",
    "ERROR_BODY_BYTES",
    "NEED_DATA",
    "ChatStreamParser",
    "head_error",
    "needs_error_body",
]

_E = TypeVar("_E", bound=SSEStreamError)

_loads = json.loads
_raw_decode = json.JSONDecoder().raw_decode


def _decode_json(text: str) -> Any:
    """Return ``json.loads(text)``, sooner for the usual payload: an object, nothing after.

    ``json.loads`` matches a whitespace pattern before and after the document, which
    costs a quarter of decoding a typical chunk (measured); ``raw_decode``, the
    documented ``JSONDecoder`` method it calls in between, does not. Text with anything
    around the object (whitespace, which is valid, or extra data, which is not) goes
    to ``json.loads``, so results and errors are the same.
    """
    if text[:1] == "{":
        value, end = _raw_decode(text)
        if end == len(text):
            return value
    return _loads(text)


ERROR_BODY_BYTES = 64 * 1024
"""How much of an error response's body is read to explain it: 64 KiB."""


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NEED_DATA: Final = _Sentinel("NEED_DATA")
"""Returned by :meth:`ChatStreamParser.next_chunk`: feed more bytes or the end of the body."""

END: Final = _Sentinel("END")
"""Returned by :meth:`ChatStreamParser.next_chunk`: the stream is over; read the result."""

_SSE = 0  # reading an event stream
_SNIFF = 1  # nothing but blanks yet: event stream or JSON body?
_JSON = 2  # collecting a JSON body


def _media_type(headers: Mapping[str, str] | None) -> str:
    if headers is None:
        return ""
    value = headers.get("content-type") or ""
    return value.split(";", 1)[0].strip().lower()


def needs_error_body(
    status_code: int, headers: Mapping[str, str] | None, *, allow_json: bool = True
) -> bool:
    """Whether a response head means "no stream": the caller should read the body.

    True for HTTP status >= 400 and for a ``Content-Type`` other than
    ``text/event-stream`` or, with ``allow_json``, JSON (a chat stream reads a JSON
    body as a non-streamed answer); a missing one is accepted. Then read at most
    :data:`ERROR_BODY_BYTES` of the body and raise :func:`head_error`.
    """
    if status_code >= 400:
        return True
    media = _media_type(headers)
    if media in ("", "text/event-stream"):
        return False
    return not (allow_json and (media == "application/json" or media.endswith("+json")))


def _excerpt(body: bytes) -> str:
    text = body[:ERROR_BODY_BYTES].decode("utf-8", "replace")
    return text


def _error_fields(payload: Any) -> tuple[str | None, str | None, str | int | None, str | None]:
    """Pull (message, type, code, param) out of an error payload of any known shape."""
    if not isinstance(payload, dict):
        return None, None, None, None
    error = payload.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        return (
            str(message) if message is not None else None,
            error.get("type"),
            error.get("code"),
            error.get("param"),
        )
    if isinstance(error, str):  # {"error": "text"} (Ollama, some gateways)
        return error, payload.get("type"), payload.get("code"), None
    message = payload.get("message", payload.get("detail"))
    if message is not None:  # vLLM {"object": "error", "message": ...}; FastAPI "detail"
        return str(message), payload.get("type"), payload.get("code"), payload.get("param")
    return None, None, None, None


def head_error(
    status_code: int, headers: Mapping[str, str] | None, body: bytes, *, response: Any = None
) -> SSEStreamError:
    """Build the error for a response head that :func:`needs_error_body` refused.

    Returns (does not raise) an :class:`APIStatusError` for status >= 400, parsing
    OpenAI's ``{"error": {"message", "type", "param", "code"}}`` when the body is one,
    else an :class:`UnexpectedContentTypeError`. ``body`` is the first bytes of the body.
    """
    text = _excerpt(body)
    if status_code >= 400:
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        message, error_type, code, param = _error_fields(payload)
        shown = text.strip()
        if len(shown) > 500:
            shown = shown[:500] + "..."
        return APIStatusError(
            f"HTTP {status_code}: {message if message is not None else shown or '(empty body)'}",
            status_code=status_code,
            body=text,
            error_type=error_type,
            param=param,
            code=code,
            response=response,
        )
    content_type = (headers or {}).get("content-type") or ""
    shown = " ".join(text[:200].split())
    return UnexpectedContentTypeError(
        f"expected an event stream, got Content-Type {content_type!r}: {shown!r}",
        content_type=content_type,
        body=text,
        response=response,
    )


class ChatStreamParser:
    """Sans-IO state of one chat-completion stream, shared by the sync and async streams.

    Args:
        max_line_bytes: the :class:`SSEDecoder`'s line limit in bytes (``None``: none).
        max_event_bytes: its event limit in bytes, which also bounds a plain JSON body
            (``None``: none).
        keep_chunks: keep every chunk in ``accumulator.chunks``.

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
        response: the HTTP response, set by the caller, attached to errors.
    """

    def __init__(
        self,
        *,
        max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
        keep_chunks: bool = False,
    ) -> None:
        self.decoder = SSEDecoder(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes)
        self._feed = self.decoder.feed
        self.accumulator = ChatCompletionAccumulator(keep_chunks=keep_chunks)
        self._add = self.accumulator.add
        self._max_body = max_event_bytes if max_event_bytes is not None else 1 << 62
        self._events: deque[ServerSentEvent] = deque()
        self._mode = _SNIFF
        self._body = bytearray()
        self._eof = False
        self._finished = False
        self._broken = False
        self._deferred: LimitExceededError | None = None
        self.done = False
        self.streamed: bool | None = None
        self.events = 0
        self.ignored_events = 0
        self.response: Any = None

    # -- input

    def receive_head(self, status_code: int, headers: Mapping[str, str] | None) -> bool:
        """Check the response head. Returns True when it is an error, not a stream.

        In that case read at most :data:`ERROR_BODY_BYTES` of the body and raise
        :meth:`head_error` with it.
        """
        return needs_error_body(status_code, headers)

    def head_error(
        self, status_code: int, headers: Mapping[str, str] | None, body: bytes
    ) -> SSEStreamError:
        """The error for a refused head (see :func:`head_error`); also ends the stream."""
        self.stop()
        return head_error(status_code, headers, body, response=self.response)

    def receive_data(self, data: bytes) -> bool:
        """Take the next bytes of the body (any size; empty bytes are ignored).

        Returns whether :meth:`next_chunk` now has something other than
        :data:`NEED_DATA` to give, so a reading loop can skip asking.

        Raises:
            LimitExceededError: a line, an event or a JSON body passed its limit
                (``completion`` attached).
        """
        if self._mode == _SSE:
            try:
                events = self._feed(data)
            except LimitExceededError as exc:
                # The events the read completed before the limit are handed out
                # first, so the result does not depend on where the reads were cut.
                self._events.extend(exc.events)
                self._deferred = exc
                return True
            if events:
                self._events.extend(events)
                return True
            return False
        if self._mode == _SNIFF:
            stripped = data.lstrip(b" \t\r\n\xef\xbb\xbf")
            if not stripped:
                self._body += data
                return False
            if stripped[:1] == b"{":
                self._mode = _JSON
            else:
                self._mode = _SSE
                self.streamed = True
                data = bytes(self._body) + data
                self._body = bytearray()
                return self.receive_data(data)
        self._body += data
        if len(self._body) > self._max_body:
            error = LimitExceededError("max_event_bytes", self._max_body, len(self._body), 0)
            raise self.abort(error)
        return False

    def receive_eof(self) -> None:
        """Signal the end of the body (the connection closed cleanly)."""
        if self._mode == _SSE:
            self._events.extend(self.decoder.close())
        self._eof = True

    def interrupted_error(self, cause: BaseException) -> StreamInterruptedError:
        """Record a transport failure mid-body and return the error to raise from it."""
        error = StreamInterruptedError(f"the stream broke off: {type(cause).__name__}: {cause}")
        return self.abort(error)

    def abort(self, error: _E) -> _E:
        """End the stream because of ``error`` and return it, to be raised.

        For errors found outside the parser too (a refused response head, a transport
        failure): the stream is over and :attr:`interrupted`, and the error gets
        ``completion`` (everything rebuilt so far) and ``response``.
        """
        self.stop()
        error.completion = self.completion
        if error.response is None:
            error.response = self.response
        return error

    def stop(self) -> None:
        """End the stream without an error of its own (the reader gave up, or failed).

        Nothing more is handed out; :attr:`interrupted` is True unless ``[DONE]``
        had already arrived.
        """
        self._finished = True
        if not self.done:
            self._broken = True
        self._events.clear()

    # -- output

    def next_chunk(self) -> ChatCompletionChunk | _Sentinel:
        """Return the next chunk, :data:`NEED_DATA` or :data:`END`.

        Raises:
            StreamAPIError: the server sent an error event or error payload.
            ChunkParseError: an event's data is not a chat-completion chunk.
            LimitExceededError: a plain JSON body was too large.
        The stream is over after any of them; ``completion`` is attached.
        """
        if self._finished:
            return END
        events = self._events
        while events:
            event = events.popleft()
            self.events += 1
            if event[0] != "message":
                if event[0] == "error":
                    raise self.abort(self._stream_error(event, event[1]))
                self.ignored_events += 1
                continue
            data = event[1]
            if data[:1] != "{":
                if data.strip() == "[DONE]":
                    self.done = True
                    self._finished = True
                    events.clear()
                    return END
                if not data.strip():
                    self.ignored_events += 1
                    continue
            try:
                payload = _decode_json(data)
            except ValueError as exc:
                error = ChunkParseError(
                    f"event {self.events - 1} is not JSON ({exc}): {data[:200]!r}",
                    position=self.events - 1,
                    event=event,
                )
                raise self.abort(error) from exc
            return self._chunk(payload, event)
        if self._deferred is not None:
            raise self.abort(self._deferred)
        if not self._eof:
            return NEED_DATA
        if self._mode != _SSE:
            self._finished = True
            return self._json_body()
        self._finished = True
        return END

    def _chunk(self, payload: Any, event: ServerSentEvent | None) -> ChatCompletionChunk:
        """Check one decoded payload, add it to the accumulator and wrap it."""
        if type(payload) is dict and not payload.get("error") and payload.get("object") != "error":
            try:
                self._add(payload)
            except ChunkParseError as exc:
                exc.event = event
                exc.position = self.events - 1
                raise self.abort(exc) from exc.__cause__
            return ChatCompletionChunk(payload)
        position = self.events - 1
        if type(payload) is not dict:
            shown = event[1][:200] if event else repr(payload)[:200]
            error = ChunkParseError(
                f"event {position} is JSON but not an object: {shown}",
                position=position,
                event=event,
            )
            raise self.abort(error)
        raise self.abort(self._stream_error(event, payload))

    def _stream_error(self, event: ServerSentEvent | None, body: Any) -> StreamAPIError:
        payload = body
        if isinstance(body, str):
            try:
                payload = json.loads(body)
            except ValueError:
                payload = body
        message, error_type, code, param = _error_fields(payload)
        if message is None:
            if isinstance(payload, str):
                message = payload.strip() or "the server sent an error event with no data"
            else:
                message = json.dumps(payload)[:500]
        return StreamAPIError(
            message,
            error_type=error_type,
            code=code,
            param=param,
            body=payload,
            event=event,
        )

    def _json_body(self) -> ChatCompletionChunk | _Sentinel:
        body = bytes(self._body)
        self._body = bytearray()
        if not body.strip():
            return END  # an empty body: no chunk at all, the stream is interrupted
        self.events += 1
        self.streamed = False
        try:
            payload = json.loads(body.decode("utf-8-sig", "replace"))
        except ValueError as exc:
            error = ChunkParseError(f"the body is not JSON ({exc}): {body[:200]!r}", position=0)
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
        return self._chunk(payload, None)

    # -- results

    @property
    def completion(self) -> ChatCompletion:
        """The completion rebuilt from every chunk handed out so far."""
        return self.accumulator.completion

    @property
    def finished(self) -> bool:
        """Whether the stream is over: ``[DONE]``, end of body, or an error."""
        return self._finished

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
