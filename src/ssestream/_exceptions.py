"""The exceptions of ssestream: one root, every error typed and carrying what it knows.

The hierarchy::

    SSEStreamError                    root of everything ssestream raises on bad input
    ├── LimitExceededError            a line or event is larger than the decoder's limit
    ├── APIStatusError                HTTP status >= 400 before the stream began
    ├── UnexpectedContentTypeError    200, but the body is neither SSE nor JSON (a proxy's page)
    ├── StreamAPIError                the server sent an error inside a 200 stream
    ├── ChunkParseError               a data payload that is not a JSON object
    ├── StreamInterruptedError        the transport failed mid-body (the httpx error as cause)
    └── PartialJSONError              text that can never become JSON (also a ValueError)

Every error has the attributes ``completion`` (the :class:`ChatCompletion` rebuilt from
what arrived before the error, or ``None`` where no chat stream was involved),
``response`` (the ``httpx``/``httpx2`` response, or ``None`` for a plain byte source) and
``event`` (the :class:`ServerSentEvent` at fault, or ``None``).

None of them derives from httpx's exceptions: a retry policy written for transport errors
must not retry a wrong content type. :class:`StreamInterruptedError` keeps the transport
error as ``__cause__`` so that code that wants to retry it can look.

Caller misuse (a second iteration of a finished stream, a source of the wrong type)
raises the standard ``RuntimeError`` / ``TypeError`` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._decoder import ServerSentEvent
    from ._responses_types import Response
    from ._types import ChatCompletion

__all__ = [
    "APIStatusError",
    "ChunkParseError",
    "LimitExceededError",
    "PartialJSONError",
    "SSEStreamError",
    "StreamAPIError",
    "StreamInterruptedError",
    "UnexpectedContentTypeError",
]


class SSEStreamError(Exception):
    """Root of the errors ssestream raises for bad input from the server.

    Attributes:
        message: the human-readable description (also ``str(error)``).
        completion: the ``ChatCompletion`` rebuilt from everything received before the
            error, or ``None`` when no chat stream had begun: outside ``ChatStream``,
            and for a refused response head (``APIStatusError``,
            ``UnexpectedContentTypeError``).
        partial_response: for a Responses API stream (``ResponseStream``), the
            ``Response`` rebuilt before the error, else ``None``.
        response: the ``httpx.Response`` / ``httpx2.Response`` being read, or ``None``.
        event: the ``ServerSentEvent`` that caused the error, or ``None``.
    """

    partial_response: Response | None = None

    def __init__(
        self,
        message: str,
        *,
        completion: ChatCompletion | None = None,
        response: Any = None,
        event: ServerSentEvent | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.completion = completion
        self.response = response
        self.event = event


class LimitExceededError(SSEStreamError):
    """A line or an event grew past a size limit of the ``SSEDecoder``.

    Raised by ``SSEDecoder.feed`` so that a server that never ends a line cannot take
    all memory. Raise the limit (``max_line_bytes`` / ``max_event_bytes``, or ``None``
    for no limit) if the stream is legitimate. A chat stream whose body is plain JSON
    (not an event stream) raises it too when the body passes ``max_event_bytes``:
    then ``size`` is the body's length so far and ``offset`` is 0.

    Attributes:
        limit_name: ``"max_line_bytes"`` or ``"max_event_bytes"``.
        limit: the limit in bytes.
        size: the size in bytes when the check failed (at least ``limit + 1``): the
            line's bytes as received so far, or the UTF-8 length of the event's data.
        offset: the byte offset in the stream (counted from the first byte fed, BOM
            included) of the start of the line at which the limit was passed: the line
            that was too long, or the data line that made the event too large.
        events: the events that the same read completed before the limit was passed,
            in order (they are not returned by ``feed``, which raised): a caller that
            wants everything up to the error hands them on first.
    """

    def __init__(self, limit_name: str, limit: int, size: int, offset: int) -> None:
        what = "a line" if limit_name == "max_line_bytes" else "an event's data"
        super().__init__(
            f"{what} passed {limit_name}={limit} at the line starting at byte {offset} "
            f"({size} bytes); raise {limit_name}= or pass None to lift the limit"
        )
        self.limit_name = limit_name
        self.limit = limit
        self.size = size
        self.offset = offset
        self.events: list[ServerSentEvent] = []


class APIStatusError(SSEStreamError):
    """The server answered with HTTP status >= 400 instead of a stream.

    The body is parsed as OpenAI's error JSON, ``{"error": {"message", "type",
    "param", "code"}}`` (OpenAI API reference, "Error codes"), when it is one; otherwise
    ``message`` holds a bounded excerpt of the body (see ``body``).

    Attributes:
        status_code: the HTTP status code.
        body: the first bytes of the body (at most 64 KiB), decoded as UTF-8 with
            U+FFFD for invalid bytes, or "".
        error_type, param, code: the fields of the OpenAI error object, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str,
        error_type: str | None = None,
        param: str | None = None,
        code: str | int | None = None,
        response: Any = None,
    ) -> None:
        super().__init__(message, response=response)
        self.status_code = status_code
        self.body = body
        self.error_type = error_type
        self.param = param
        self.code = code


class UnexpectedContentTypeError(SSEStreamError):
    """A 2xx response whose ``Content-Type`` is neither ``text/event-stream`` nor JSON.

    Typically an HTML page from a proxy, a captive portal or a web UI served at the
    base URL. Check the base URL.

    Attributes:
        content_type: the ``Content-Type`` header as sent.
        body: the first bytes of the body (at most 64 KiB) as text.
    """

    def __init__(self, message: str, *, content_type: str, body: str, response: Any = None) -> None:
        super().__init__(message, response=response)
        self.content_type = content_type
        self.body = body


class StreamAPIError(SSEStreamError):
    """The server reported an error inside a stream that had begun with HTTP 200.

    Recognised shapes: OpenAI's ``data: {"error": {...}}``, vLLM's
    ``data: {"object": "error", "message": ...}`` and an ``event: error`` event (whatever
    its data). ``completion`` holds everything received before the error.

    Attributes:
        message: the server's error message.
        error_type, code, param: the error's fields, where it had them, else ``None``.
        body: the error payload as decoded JSON (a ``dict``), or the raw data string.
    """

    def __init__(
        self,
        message: str,
        *,
        error_type: str | None = None,
        code: str | int | None = None,
        param: str | None = None,
        body: Any = None,
        completion: ChatCompletion | None = None,
        response: Any = None,
        event: ServerSentEvent | None = None,
    ) -> None:
        super().__init__(message, completion=completion, response=response, event=event)
        self.error_type = error_type
        self.code = code
        self.param = param
        self.body = body


class ChunkParseError(SSEStreamError):
    """An event's data is not a JSON object, so it cannot be a chat-completion chunk.

    ``event`` holds the event (its ``data`` is the payload as received) and
    ``completion`` everything rebuilt before it. ``__cause__`` is the
    ``json.JSONDecodeError`` where the data was not JSON at all.

    Attributes:
        position: where the bad payload was, 0-based: the number of the event in the
            stream when raised by a stream, the number of the chunk when raised by
            ``ChatCompletionAccumulator.add``, 0 for a plain JSON body.
    """

    def __init__(
        self,
        message: str,
        *,
        position: int,
        completion: ChatCompletion | None = None,
        response: Any = None,
        event: ServerSentEvent | None = None,
    ) -> None:
        super().__init__(message, completion=completion, response=response, event=event)
        self.position = position


class StreamInterruptedError(SSEStreamError):
    """The transport failed while the body was being read: reset, timeout, bad chunking.

    ``__cause__`` is the transport's exception (``httpx.ReadError``,
    ``httpx.RemoteProtocolError``, ``httpx.ReadTimeout``, an ``OSError`` ...), and
    ``completion`` holds everything received before the failure. A body that merely
    ends early without an error is not an exception: the stream's ``interrupted``
    flag says so instead.

    Attributes:
        completion: set when raised by a chat stream; ``None`` from ``iter_events``.
        response: the response being read, or ``None`` for a byte iterable.
        event: always ``None``.
    """


class PartialJSONError(SSEStreamError, ValueError):
    """Text that can never become one JSON value (RFC 8259), or ended too early.

    Raised by :meth:`PartialJSONParser.feed` at the first character that no continuation
    can make valid, and by :meth:`PartialJSONParser.finish` when the text ends before the
    value does. It is a ``ValueError`` (like ``json.JSONDecodeError``) and an
    ``SSEStreamError`` (the root of ssestream's errors on bad input).

    Attributes:
        position: the offset, in characters (code points) from the start of all the text
            fed, of the offending character; for an early end, the length of the text.
        message: what was wrong and where (also ``str(error)``).
    """

    def __init__(self, message: str, *, position: int) -> None:
        super().__init__(message)
        self.position = position
