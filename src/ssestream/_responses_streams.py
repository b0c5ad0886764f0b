"""Sync and async streams of OpenAI Responses API events over HTTP responses or bytes.

The twins here are the chat streams' readers (:mod:`ssestream._streams`: how a source is
read, closed and how transport failures become errors) around a
:class:`ResponseStreamParser`, which makes every decision. Each twin adds only the loop
step that pulls the parser's next event, and the results' read-only properties. No I/O
library is imported here: a source is an ``httpx.Response`` / ``httpx2.Response``
(recognised by duck typing) or an iterable (async iterable) of ``bytes``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from ._decoder import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_LINE_BYTES
from ._parser import END
from ._responses_events import StreamEvent
from ._responses_parser import ResponseMismatch, ResponseStreamParser
from ._responses_types import Response, ResponseStreamEvent
from ._streams import (
    OnEnd,
    _aconnect,
    _AsyncEvents,
    _AsyncReader,
    _connect,
    _events,
    _Reader,
    _SyncReader,
)
from ._timings import Clock

__all__ = ["AsyncResponseStream", "ResponseStream", "aconnect_responses", "connect_responses"]


class _ResponseStreamBase(_Reader):
    """What the Responses twins share: construction and the read-only results."""

    _parser: ResponseStreamParser

    def __init__(
        self,
        source: Any,
        *,
        max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
        clock: Clock | None = None,
        on_end: OnEnd | None = None,
    ) -> None:
        parser = ResponseStreamParser(
            max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes, clock=clock
        )
        super().__init__(source, parser, on_end)

    @property
    def snapshot(self) -> Response:
        """The :class:`Response` as known now: rebuilt from the events so far, and the
        terminal event's response once it came (see :class:`ResponseStreamParser` for
        which wins). Valid during iteration, after it, and after an exception (which
        carries it as ``partial_response``). Each read builds a new object."""
        return self._parser.snapshot

    @property
    def terminal_event(self) -> str | None:
        """``"response.completed"``, ``"response.incomplete"`` or ``"response.failed"``
        once it arrived, else ``None``."""
        return self._parser.terminal_event

    @property
    def interrupted(self) -> bool:
        """Whether the stream ended without its terminal event, or with an error
        (``error``, ``response.failed``, a transport failure...). A
        ``response.incomplete`` stream is complete: its response says why it stopped."""
        return self._parser.interrupted

    @property
    def mismatches(self) -> list[ResponseMismatch]:
        """Streamed texts that a later event stated differently (the later one won)."""
        return self._parser.mismatches

    @property
    def parser(self) -> ResponseStreamParser:
        """The sans-IO :class:`ResponseStreamParser` (decoder state, counts,
        ``sequence_gaps``, ``streamed``)."""
        return self._parser


class ResponseStream(_ResponseStreamBase, _SyncReader):
    """Iterate the typed events of a streamed OpenAI Responses API response.

    ``source`` is an ``httpx.Response`` / ``httpx2.Response`` (from
    ``client.stream("POST", "/responses", json={..., "stream": True})`` or
    :func:`connect_responses`) or any iterable of ``bytes``. Each item is a
    :class:`ResponseStreamEvent` (a subclass chosen by its ``type``); iteration stops
    after the terminal event (``response.completed`` / ``response.incomplete``; nothing
    after it is read, and the response is closed as it is handed out) or at the end of
    the body. The response rebuilt from the events is
    :attr:`snapshot`, with :attr:`terminal_event` and :attr:`interrupted`; ``response``
    is the HTTP response, as on every stream of ssestream. Use it as a context manager,
    or call :meth:`close`, to release the connection when you stop early.

    Args:
        source: an ``httpx.Response`` / ``httpx2.Response``, or an iterable of ``bytes``.
        max_line_bytes: the decoder's line limit in bytes (``None``: no limit).
        max_event_bytes: the decoder's event limit in bytes, also the limit of a plain
            JSON body (``None``: no limit).
        clock: a monotonic clock in seconds for ``timings`` (see
            :class:`ResponseStreamParser`).
        on_end: called once when the stream is over, as ``on_end(stream, error)``, as
            on a chat stream.

    Raises:
        APIStatusError: HTTP status >= 400 (``partial_response`` is ``None``: no stream
            began).
        UnexpectedContentTypeError: a 2xx body that is neither SSE nor JSON (likewise).
        StreamAPIError: an ``error`` event or ``response.failed`` (``code``,
            ``message``; ``body`` is the event's payload).
        ChunkParseError: an event that is not a JSON object with a ``type``, or a field
            the rebuild reads with the wrong type.
        StreamInterruptedError: the transport failed mid-body (cause attached).
        LimitExceededError: a line, an event or a JSON body passed a limit.
        TypeError: the source is not a response or an iterable, or yields non-bytes.
        RuntimeError: iterating again a stream that has ended (its result stays in
            :attr:`snapshot`).

    Every error above raised after the stream began carries ``partial_response`` (the
    :class:`Response` rebuilt until then) and ``response`` when the source was one.
    """

    def __iter__(self) -> ResponseStream:
        if self._parser.finished:
            raise RuntimeError("this ResponseStream has ended; its result is in .snapshot")
        return self

    def __next__(self) -> ResponseStreamEvent:
        item = self._pull(self._parser.next_event)
        if item is END:
            raise StopIteration
        if self._parser.finished:
            self.close()  # the terminal event: release the connection now
        return item  # type: ignore[return-value]

    def events(self) -> Iterator[StreamEvent]:
        """Iterate the chat stream events instead, so that one handler serves both APIs.

        ``for event in stream.events()``: each :class:`ResponseStreamEvent` (in place
        of a chat stream's :class:`ChunkEvent`), then the chat event records it gives
        (:class:`ContentDelta`, :class:`ReasoningDelta`, :class:`ToolCallStarted`,
        :class:`ToolCallArgumentsDelta` with ``partial``, :class:`ToolCallDone`, ...;
        the translation is in :mod:`ssestream._responses_events`); at the end the last
        ``*Done`` events and :class:`StreamEnded`, whose ``completion`` is the
        :class:`ChatCompletion` the events add up to and whose ``response`` is
        :attr:`snapshot`. Iterate either the stream or its events, not both. Raises the
        errors listed above at the same point as the stream itself, after every event
        before it; ``RuntimeError`` if the stream has ended.
        """
        if self._parser.finished:
            raise RuntimeError("this ResponseStream has ended; its result is in .snapshot")
        return _events(self, self._parser.typed_events())

    def get_final_response(self) -> Response:
        """Read the rest of the stream, if any, and return :attr:`snapshot`.

        Raises the errors listed above; on a stream that has already ended it only
        returns the result.
        """
        if not self._parser.finished:
            for _ in self:
                pass
        return self.snapshot


class AsyncResponseStream(_ResponseStreamBase, _AsyncReader):
    """The async twin of :class:`ResponseStream` (anyio: runs on asyncio and trio).

    ``source`` is an ``httpx.Response`` / ``httpx2.Response`` from an async client, an
    async iterable of ``bytes``, or a sync iterable of ``bytes``. Use ``async for``,
    ``async with``, ``aclose()``, :meth:`events` and :meth:`get_final_response`;
    everything else (arguments, results, errors) is as in :class:`ResponseStream`.
    """

    def __aiter__(self) -> AsyncResponseStream:
        if self._parser.finished:
            raise RuntimeError("this AsyncResponseStream has ended; its result is in .snapshot")
        return self

    async def __anext__(self) -> ResponseStreamEvent:
        item = await self._apull(self._parser.next_event)
        if item is END:
            raise StopAsyncIteration
        if self._parser.finished:
            await self.aclose()  # the terminal event: release the connection now
        return item  # type: ignore[return-value]

    def events(self) -> AsyncIterator[StreamEvent]:
        """The async twin of :meth:`ResponseStream.events`: ``async for event in
        stream.events()``."""
        if self._parser.finished:
            raise RuntimeError("this AsyncResponseStream has ended; its result is in .snapshot")
        return _AsyncEvents(self, self._parser.typed_events())

    async def get_final_response(self) -> Response:
        """Read the rest of the stream, if any, and return :attr:`snapshot`."""
        if not self._parser.finished:
            async for _ in self:
                pass
        return self.snapshot


@contextmanager
def connect_responses(
    client: Any,
    method: str,
    url: str,
    *,
    max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
    max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
    clock: Clock | None = None,
    on_end: OnEnd | None = None,
    **kwargs: Any,
) -> Iterator[ResponseStream]:
    """Send a streaming Responses request with an ``httpx``/``httpx2`` ``Client``.

    As :func:`connect_chat`: ``kwargs`` go to ``client.stream(method, url, ...)``,
    ``Accept: text/event-stream`` and ``Cache-Control: no-store`` are added unless given,
    the body is sent as given (include ``"stream": True``), the response is closed when
    the ``with`` block ends, failures before a response exists come through as the
    client raises them, and ``stream.timings.request_sent`` is the time just before the
    request was sent::

        with connect_responses(client, "POST", "/responses", json=body) as stream:
            for event in stream: ...
    """

    def make(response: Any, stream_clock: Clock) -> ResponseStream:
        return ResponseStream(
            response,
            max_line_bytes=max_line_bytes,
            max_event_bytes=max_event_bytes,
            clock=stream_clock,
            on_end=on_end,
        )

    with _connect(client, method, url, clock, kwargs, make) as stream:
        yield stream


@asynccontextmanager
async def aconnect_responses(
    client: Any,
    method: str,
    url: str,
    *,
    max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
    max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
    clock: Clock | None = None,
    on_end: OnEnd | None = None,
    **kwargs: Any,
) -> AsyncIterator[AsyncResponseStream]:
    """The async twin of :func:`connect_responses`, for an ``AsyncClient``."""

    def make(response: Any, stream_clock: Clock) -> AsyncResponseStream:
        return AsyncResponseStream(
            response,
            max_line_bytes=max_line_bytes,
            max_event_bytes=max_event_bytes,
            clock=stream_clock,
            on_end=on_end,
        )

    async with _aconnect(client, method, url, clock, kwargs, make) as stream:
        yield stream
