"""Layer 2 I/O: sync and async streams over HTTP responses or any source of bytes.

This is the only module that reads bytes from the outside world. Every decision lives in
the sans-IO core (:mod:`ssestream._decoder`, :mod:`ssestream._parser`); the twins here
(``iter_events``/``aiter_events``, ``ChatStream``/``AsyncChatStream``,
``connect_chat``/``aconnect_chat``) are loops that read bytes, hand them to the core and
yield what it returns.

A source is an ``httpx.Response`` or an ``httpx2.Response`` (recognised by duck typing,
so neither library is imported here), or any iterable (sync twins) or async iterable
(async twins, which also take a sync iterable) of ``bytes``. A response's status and
``Content-Type`` are checked before its body is read, and its body is read with
``iter_bytes()`` / ``aiter_bytes()``, so ``Content-Encoding`` such as gzip is undone
(or with ``iter_raw()`` / ``aiter_raw()`` when they yield the same bytes: see
:func:`_raw_is_decoded`). The response is closed when the stream ends, fails or is
closed.

Transport failures while the body is read (``httpx.TransportError`` and
``httpx.DecodingError`` of either library, ``OSError``, anyio's broken-stream errors)
become :class:`StreamInterruptedError` with the original as ``__cause__``.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import TracebackType
from typing import Any, TypeVar

from typing_extensions import Self

from ._decoder import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_LINE_BYTES, ServerSentEvent
from ._events import ChatStreamEvent
from ._exceptions import ChunkParseError
from ._openai import sdk_stream_response
from ._parser import (
    END,
    NEED_DATA,
    BaseStreamParser,
    ChatStreamParser,
    EventStreamParser,
    TypedEvents,
    _Sentinel,
)
from ._think import ThinkTags
from ._timings import Clock, StreamTimings
from ._types import ChatCompletion, ChatCompletionChunk

__all__ = [
    "AsyncChatStream",
    "ChatStream",
    "aconnect_chat",
    "aiter_events",
    "connect_chat",
    "iter_events",
]

_T = TypeVar("_T")
_R = TypeVar("_R", bound="_SyncReader")
_A = TypeVar("_A", bound="_AsyncReader")

OnEnd = Callable[[Any, "BaseException | None"], None]
"""A hook called once when a stream is over: ``on_end(stream, error)``, where ``error``
is the exception the stream raised (``None`` when it ended without one, or was closed)."""

_SSE_HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-store"}


def _with_sse_headers(given: Any) -> list[tuple[str, str]]:
    """The caller's headers, plus the SSE defaults it does not set (names compared
    case-insensitively, as HTTP does)."""
    pairs = list(given.items() if hasattr(given, "items") else given or [])
    names = {str(name).lower() for name, _ in pairs}
    defaults = [(k, v) for k, v in _SSE_HEADERS.items() if k.lower() not in names]
    return defaults + pairs


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The exception types that mean "the transport failed", from the libraries loaded."""
    types: list[type[BaseException]] = [OSError]
    for name in ("httpx", "httpx2"):
        module = sys.modules.get(name)
        if module is not None:
            types += [module.TransportError, module.DecodingError]
    anyio = sys.modules.get("anyio")
    if anyio is not None:
        types += [anyio.BrokenResourceError, anyio.EndOfStream]
    return tuple(types)


def _is_response(source: Any) -> bool:
    return (
        hasattr(source, "status_code")
        and hasattr(source, "headers")
        and hasattr(source, "iter_bytes")
    )


def _raw_is_decoded(response: Any) -> bool:
    """Whether ``iter_raw()`` yields the bytes ``iter_bytes()`` would, for less.

    True for a body not read yet and without ``Content-Encoding``: then httpx's
    ``iter_bytes()`` only wraps ``iter_raw()`` in one more generator, an identity
    decoder and a chunker, which is half of its cost per read (measured: about 390
    against 190 ns per read).
    """
    return (
        getattr(response, "is_stream_consumed", None) is False
        and hasattr(response, "iter_raw")
        and response.headers.get("content-encoding", "identity").strip().lower() == "identity"
    )


async def _aiter_sync(iterator: Iterator[Any]) -> AsyncGenerator[Any, None]:
    """A sync iterator of reads, for an async twin; closing this closes it."""
    try:
        for data in iterator:
            yield data
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


class _Reader:
    """What every twin shares: the source, the parser, and how reading begins and ends.

    ``_begin`` is the one place that decides how a source is read: for a response,
    the head goes to the parser and the body is read with ``iter_raw`` or
    ``iter_bytes`` (their ``a`` twins); anything else is iterated. The sync and async
    subclasses only loop over the reads it returns.
    """

    def __init__(self, source: Any, parser: BaseStreamParser, on_end: OnEnd | None = None) -> None:
        sdk_response = sdk_stream_response(source)  # an unread openai SDK stream
        if sdk_response is not None:
            source = sdk_response
        self._parser = parser
        self.response: Any = source if _is_response(source) else None
        parser.response = self.response
        self._source = source
        self._reads: Any = None  # the iterator of reads, once reading began
        self._failures: tuple[type[BaseException], ...] = ()
        self._on_end = on_end
        self.error: BaseException | None = None
        if self.response is not None:  # the head is here already: its time is now
            parser.receive_head(source.status_code, source.headers)

    def _ended(self) -> None:
        """Call ``on_end`` once, when the stream is over (after the response closed)."""
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            try:
                on_end(self, self.error)
            except Exception as exc:  # a hook must not turn a result into an error
                warnings.warn(
                    f"the stream's on_end hook raised {type(exc).__name__}: {exc}",
                    RuntimeWarning,
                    stacklevel=3,
                )

    @property
    def streamed(self) -> bool | None:
        """False when the server answered with one plain JSON body (a
        ``chat.completion``, or a Responses ``response``: it ignored ``stream: true``);
        True for an event stream; None before the body."""
        return self._parser.streamed

    @property
    def timings(self) -> StreamTimings:
        """When each stage of the stream happened: time to first token, inter-chunk
        gaps, output tokens per second (a :class:`StreamTimings` snapshot, valid during
        and after the stream; seconds from the stream's ``clock``)."""
        return self._parser.timings

    def _begin(self, asynchronous: bool) -> Any:
        source = self._source
        self._failures = _transport_errors()
        if self.response is not None:
            raw = _raw_is_decoded(source)
            if asynchronous:
                return source.aiter_raw() if raw else source.aiter_bytes()
            return source.iter_raw() if raw else source.iter_bytes()
        if asynchronous and isinstance(source, AsyncIterable):
            return aiter(source)
        try:
            iterator = iter(source)
        except TypeError:
            kind = type(source).__name__
            raise TypeError(
                f"source must be an httpx/httpx2 Response or an iterable of bytes, not {kind}"
            ) from None
        return _aiter_sync(iterator) if asynchronous else iterator


class _SyncReader(_Reader):
    """The sync loop: read until the parser has a result, and close at the end."""

    def _pull(self, next_item: Callable[[], _T | _Sentinel]) -> _T | _Sentinel:
        """Return the parser's next result (``next_item()``), reading as it needs;
        :data:`END` once the stream is over, which is then closed, as after any error."""
        parser = self._parser
        try:
            item = next_item()
            while item is NEED_DATA:
                reads = self._reads
                if reads is None:
                    reads = self._reads = self._begin(asynchronous=False)
                try:
                    # One loop per NEED_DATA, not a pull per read: it shows at small reads.
                    for data in reads:
                        if parser.receive_data(data):
                            break
                    else:
                        parser.receive_eof()
                except self._failures as exc:
                    parser.receive_failure(exc)
                item = next_item()
        except BaseException as exc:
            self._failed(exc)
            raise
        if item is END:
            self.close()
        return item

    def _failed(self, exc: BaseException) -> None:
        """The parser's own error (it carries the partial result), a bad source, or
        the reader's cancellation: the stream is over either way."""
        self.error = exc
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and close the response (or the source's iterator).

        Safe to call more than once. The stream is then over: nothing more is
        yielded, and ``interrupted`` is True unless it had already ended complete.
        """
        self._parser.stop()
        reads, self._reads = self._reads, ()
        close = getattr(reads, "close", None)
        if close is not None:
            close()
        if self.response is not None:
            self.response.close()
        self._ended()


class _AsyncReader(_Reader):
    """The async twin of :class:`_SyncReader`."""

    async def _apull(self, next_item: Callable[[], _T | _Sentinel]) -> _T | _Sentinel:
        parser = self._parser
        try:
            item = next_item()
            while item is NEED_DATA:
                reads = self._reads
                if reads is None:
                    reads = self._reads = self._begin(asynchronous=True)
                try:
                    async for data in reads:
                        if parser.receive_data(data):
                            break
                    else:
                        parser.receive_eof()
                except self._failures as exc:
                    parser.receive_failure(exc)
                item = next_item()
        except BaseException as exc:
            await self._afailed(exc)
            raise
        if item is END:
            await self.aclose()
        return item

    async def _afailed(self, exc: BaseException) -> None:
        """The async twin of ``_SyncReader._failed``."""
        self.error = exc
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and close the response (or the source's iterator).

        Safe to call more than once; the stream is then over, as after ``close()``.
        The response's own read generator is closed too: under trio, which has no
        hook to finalise async generators, one left open warns when collected.
        """
        self._parser.stop()
        reads, self._reads = self._reads, ()
        aclose = getattr(reads, "aclose", None)
        if aclose is not None:
            await aclose()
        if self.response is not None:
            await self.response.aclose()
        self._ended()


def iter_events(
    source: Any,
    *,
    max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
    max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
) -> Iterator[ServerSentEvent]:
    """Yield the :class:`ServerSentEvent` s of a response or of an iterable of bytes.

    Generic SSE: no knowledge of chat completions or ``[DONE]``. For a response, the
    status must be < 400 and the ``Content-Type`` ``text/event-stream`` or absent (a
    JSON body is not an event stream: :class:`ChatStream` reads those). The rules are
    :class:`EventStreamParser`'s.

    Raises:
        APIStatusError: status >= 400 (OpenAI's error JSON parsed when present).
        UnexpectedContentTypeError: a 2xx body of another type (an HTML page, JSON).
        StreamInterruptedError: the transport failed mid-body.
        LimitExceededError: a line or event passed the limits (see :class:`SSEDecoder`).
        TypeError: ``source`` is neither a response nor an iterable of bytes.
    """
    parser = EventStreamParser(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes)
    reader = _SyncReader(source, parser)
    try:
        while (event := reader._pull(parser.next_event)) is not END:
            yield event  # type: ignore[misc]
    finally:
        reader.close()


async def aiter_events(
    source: Any,
    *,
    max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
    max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
) -> AsyncIterator[ServerSentEvent]:
    """The async twin of :func:`iter_events` (an async response, an async or sync iterable)."""
    parser = EventStreamParser(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes)
    reader = _AsyncReader(source, parser)
    try:
        while (event := await reader._apull(parser.next_event)) is not END:
            yield event  # type: ignore[misc]
    finally:
        await reader.aclose()


class _ChatStreamBase(_Reader):
    """What the chat twins share: construction and the read-only results."""

    _parser: ChatStreamParser

    def __init__(
        self,
        source: Any,
        *,
        max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
        keep_chunks: bool = False,
        clock: Clock | None = None,
        on_end: OnEnd | None = None,
        think_tags: bool | ThinkTags = False,
        on_bad_chunk: Callable[[ChunkParseError], None] | None = None,
    ) -> None:
        parser = ChatStreamParser(
            max_line_bytes=max_line_bytes,
            max_event_bytes=max_event_bytes,
            keep_chunks=keep_chunks,
            clock=clock,
            think_tags=think_tags,
            on_bad_chunk=on_bad_chunk,
        )
        super().__init__(source, parser, on_end)
        self._next_chunk = parser.next_chunk
        self._queued = parser._events  # the decoded events the parser has not used

    @property
    def completion(self) -> ChatCompletion:
        """The :class:`ChatCompletion` rebuilt from the chunks so far.

        Valid during iteration, after it, and after an exception (which also carries it).
        """
        return self._parser.completion

    @property
    def done(self) -> bool:
        """Whether ``data: [DONE]`` arrived."""
        return self._parser.done

    @property
    def interrupted(self) -> bool:
        """Whether the answer is incomplete (see :attr:`ChatStreamParser.interrupted`).

        True after a transport error or any error raised while reading, or when the body
        ended without ``[DONE]`` while no chunk arrived or some choice had no
        ``finish_reason``. Several providers never send ``[DONE]``: a body that ends
        with every choice finished is complete.
        """
        return self._parser.interrupted

    @property
    def parser(self) -> ChatStreamParser:
        """The sans-IO :class:`ChatStreamParser` (decoder state, event counts)."""
        return self._parser

    @property
    def chunks(self) -> list[ChatCompletionChunk]:
        """Every chunk so far when the stream was made with ``keep_chunks=True``, else []."""
        return self._parser.accumulator.chunks


class ChatStream(_ChatStreamBase, _SyncReader):
    """Iterate the :class:`ChatCompletionChunk` s of a streamed chat completion.

    ``source`` is an ``httpx.Response`` / ``httpx2.Response`` (from ``client.stream(...)``
    or :func:`connect_chat`) or any iterable of ``bytes``. Iteration stops at
    ``data: [DONE]`` (anything after it is not read) or at the end of the body; the
    result is in :attr:`completion`, with :attr:`done`, :attr:`interrupted` and
    :attr:`streamed`. Use it as a context manager, or call :meth:`close`, to release the
    connection when you stop early.

    Args:
        source: an ``httpx.Response`` / ``httpx2.Response``, an iterable of ``bytes``, or
            an unread openai SDK stream (``openai.Stream`` from ``create(...,
            stream=True)``, or the ``APIResponse`` of ``with_streaming_response``): its
            HTTP response is read, and a ``TypeError`` says so if the SDK already read it.
        max_line_bytes: the decoder's line limit in bytes (``None``: no limit).
        max_event_bytes: the decoder's event limit in bytes, also the limit of a plain
            JSON body (``None``: no limit).
        keep_chunks: keep every chunk in :attr:`chunks` (off: memory stays proportional
            to the output).
        clock: a monotonic clock in seconds for :attr:`timings` (``time.perf_counter``
            by default).
        on_end: called once when the stream is over, as ``on_end(stream, error)``
            (``error``: the exception raised, or ``None``), after the response is
            closed: for logging, billing, tracing. An exception it raises is turned
            into a ``RuntimeWarning``, never into the stream's error.
        think_tags: move ``<think>...</think>`` text out of ``content`` into
            reasoning (MiniMax, Qwen3, DeepSeek-R1 distills served without a reasoning
            parser); off by default. See :class:`ThinkTags`.
        on_bad_chunk: report a data payload that is not a chunk to this callback and
            go on, instead of raising :class:`ChunkParseError` (see
            :class:`ChatStreamParser`); for tools that list every problem of a stream.

    Attributes:
        error: the exception the stream raised, once it did, else ``None``.

    Raises:
        APIStatusError: HTTP status >= 400 (raised on the first ``next()``; no stream
            began, so its ``completion`` is ``None``).
        UnexpectedContentTypeError: a 2xx body that is neither SSE nor JSON (likewise).
        StreamAPIError: an error sent mid-stream (``{"error": ...}``, vLLM's
            ``{"object": "error"}``, ``event: error``), with ``completion`` and ``event``.
        ChunkParseError: a data payload that is not a chunk (not JSON, not an object,
            a field of the wrong type), with ``completion`` and ``event``.
        StreamInterruptedError: the transport failed mid-body (cause attached), with
            ``completion``.
        LimitExceededError: a line, an event or a JSON body passed a limit, with
            ``completion``.
        TypeError: the source is not a response or an iterable, or yields non-bytes.
        RuntimeError: iterating again a stream that has ended (its result stays in
            :attr:`completion`).

    Every error above that the stream raises has ``response`` set when the source was
    a response.
    """

    def __iter__(self) -> ChatStream:
        if self._parser.finished:
            raise RuntimeError("this ChatStream has ended; its result is in .completion")
        return self

    def __next__(self) -> ChatCompletionChunk:
        # While the parser holds decoded events (several per large read), the next
        # chunk is taken without the reader's pull, which is for reading and the end:
        # a frame less per chunk: 0.96-0.98x the headline stream's time at 4096-byte
        # reads (alternating processes, five rounds). With none queued (one event per
        # read), the pull comes first, as before: trying the parser first there cost
        # 3% (measured). An error ends the stream as in the pull.
        if self._queued:
            try:
                item = self._next_chunk()
            except BaseException as exc:
                self._failed(exc)
                raise
            if type(item) is ChatCompletionChunk:
                return item
        item = self._pull(self._next_chunk)
        if item is END:
            raise StopIteration
        return item  # type: ignore[return-value]

    def events(self) -> Iterator[ChatStreamEvent]:
        """Iterate typed events instead of chunks (see :mod:`ssestream._events`).

        ``for event in stream.events()``: each chunk's :class:`ChunkEvent` and the
        events it gives, routed as the completion is; at the end the last ``*Done``
        events and :class:`StreamEnded`. Iterate either the chunks or the events of a
        stream, not both. Raises the errors listed above, at the same point as the
        chunk iterator, after every event before it; ``RuntimeError`` if the stream
        has ended.
        """
        if self._parser.finished:
            raise RuntimeError("this ChatStream has ended; its result is in .completion")
        return _events(self, self._parser.typed_events())

    def get_final_completion(self) -> ChatCompletion:
        """Read the rest of the stream, if any, and return :attr:`completion`.

        Raises the errors listed above; on a stream that has already ended it only
        returns the result.
        """
        if not self._parser.finished:
            for _ in self:
                pass
        return self.completion


class AsyncChatStream(_ChatStreamBase, _AsyncReader):
    """The async twin of :class:`ChatStream` (anyio: runs on asyncio and trio).

    ``source`` is an ``httpx.Response`` / ``httpx2.Response`` from an async client, an
    async iterable of ``bytes``, or a sync iterable of ``bytes``. Use ``async for``,
    ``async with``, :meth:`aclose` and :meth:`get_final_completion`; everything else
    (arguments, results, errors) is as in :class:`ChatStream`.
    """

    def __aiter__(self) -> AsyncChatStream:
        if self._parser.finished:
            raise RuntimeError("this AsyncChatStream has ended; its result is in .completion")
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        # As ChatStream.__next__; the pull spared here is a coroutine made and run:
        # 0.96x at 4096-byte reads, 1.00x at one event per read (asyncio, measured).
        if self._queued:
            try:
                item = self._next_chunk()
            except BaseException as exc:
                await self._afailed(exc)
                raise
            if type(item) is ChatCompletionChunk:
                return item
        item = await self._apull(self._next_chunk)
        if item is END:
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    def events(self) -> AsyncIterator[ChatStreamEvent]:
        """The async twin of :meth:`ChatStream.events`: ``async for event in
        stream.events()``."""
        if self._parser.finished:
            raise RuntimeError("this AsyncChatStream has ended; its result is in .completion")
        return _AsyncEvents(self, self._parser.typed_events())

    async def get_final_completion(self) -> ChatCompletion:
        """Read the rest of the stream, if any, and return :attr:`completion`.

        Raises the errors listed above; on a stream that has already ended it only
        returns the result.
        """
        if not self._parser.finished:
            async for _ in self:
                pass
        return self.completion


def _events(stream: _SyncReader, typed: TypedEvents) -> Iterator[Any]:
    """The iterator of ``events()`` on a sync stream: the events queued in ``typed``
    (``ChatStreamParser.typed_events()``, ``ResponseStreamParser.typed_events()``),
    handed out from the queue, and the reader's pull around ``typed.fill`` when the
    queue is empty, so that an error comes after every event before it.

    A generator serving the queue itself, instead of a pull per event: a chunk's two
    events cost one generator resume each, not four Python calls (``__next__``,
    ``_pull``, ``next_event``, ``TypedEvents.next``); the events path went to
    0.93-0.96x its time (0.3-0.4 us a chunk; alternating processes, two runs). The
    queue is the parser's, not this generator's: events left by a ``break`` are
    handed out by the next ``events()`` iterator, as by ``next_event``.

    As in ``ChatStream.__next__``, while the parser holds decoded events (several per
    large read) the queue is filled without the pull, which is for reading and the
    end (an error ends the stream as in the pull, through ``_failed``); anything but
    queued events (more data needed, the end) goes through the pull.
    """
    pull = stream._pull
    fill = typed.fill
    queue = typed.queue
    popleft = queue.popleft
    held = stream._parser._events  # the decoded events the parser has not used
    while True:
        if queue:
            yield popleft()
            continue
        if held:
            try:
                status = fill()
            except BaseException as exc:
                stream._failed(exc)
                raise
            if status is None:
                continue
        if pull(fill) is END:
            return


class _AsyncEvents:
    """The iterator of ``events()`` on an async stream, as :func:`_events`: a class,
    not an async generator, which trio warns about when one is left before its end
    (a ``break``)."""

    __slots__ = ("_afailed", "_apull", "_fill", "_held", "_queue")

    def __init__(self, stream: _AsyncReader, typed: TypedEvents) -> None:
        self._apull = stream._apull
        self._afailed = stream._afailed
        self._fill = typed.fill
        self._queue = typed.queue
        self._held = stream._parser._events

    def __aiter__(self) -> _AsyncEvents:
        return self

    async def __anext__(self) -> Any:
        queue = self._queue
        if queue:
            return queue.popleft()
        if self._held:
            try:
                status = self._fill()
            except BaseException as exc:
                await self._afailed(exc)
                raise
            if status is None:
                return queue.popleft()
        if await self._apull(self._fill) is not END:
            return queue.popleft()
        raise StopAsyncIteration


def _open(
    client: Any, method: str, url: str, clock: Clock | None, kwargs: dict[str, Any]
) -> tuple[Any, Clock, float]:
    """What every ``connect_*`` does before the request: the SSE headers added, the
    stream's clock chosen, and the time just before the request was sent (for
    ``timings.request_sent``). Returns ``(client.stream(...) context, clock, sent)``."""
    headers = _with_sse_headers(kwargs.pop("headers", None))
    clock = clock or time.perf_counter
    sent = clock()
    return client.stream(method, url, headers=headers, **kwargs), clock, sent


@contextmanager
def _connect(
    client: Any,
    method: str,
    url: str,
    clock: Clock | None,
    kwargs: dict[str, Any],
    make: Callable[[Any, Clock], _R],
) -> Iterator[_R]:
    """Send the request and yield ``make(response, clock)``, a sync stream, closed when
    the block ends: the body of :func:`connect_chat` and ``connect_responses``."""
    request, clock, sent = _open(client, method, url, clock, kwargs)
    with request as response:
        stream = make(response, clock)
        stream._parser.timer.request_sent = sent
        try:
            yield stream
        finally:
            stream.close()


@asynccontextmanager
async def _aconnect(
    client: Any,
    method: str,
    url: str,
    clock: Clock | None,
    kwargs: dict[str, Any],
    make: Callable[[Any, Clock], _A],
) -> AsyncIterator[_A]:
    """The async twin of :func:`_connect`."""
    request, clock, sent = _open(client, method, url, clock, kwargs)
    async with request as response:
        stream = make(response, clock)
        stream._parser.timer.request_sent = sent
        try:
            yield stream
        finally:
            await stream.aclose()


@contextmanager
def connect_chat(
    client: Any,
    method: str,
    url: str,
    *,
    max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
    max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
    keep_chunks: bool = False,
    clock: Clock | None = None,
    on_end: OnEnd | None = None,
    think_tags: bool | ThinkTags = False,
    **kwargs: Any,
) -> Iterator[ChatStream]:
    """Send a streaming request with an ``httpx.Client`` or ``httpx2.Client``: a ChatStream.

    ``kwargs`` go to ``client.stream(method, url, ...)`` (e.g. ``json=``, ``headers=``);
    ``Accept: text/event-stream`` and ``Cache-Control: no-store`` are added unless given.
    The request body is sent as you give it: include ``"stream": True``. The response
    is closed when the ``with`` block ends. Failures before a response exists
    (``httpx.ConnectError``, ``ConnectTimeout``, TLS errors) come through as the
    client raises them, unwrapped: they are transport errors that retry logic may
    retry; the stream's own errors (see :class:`ChatStream`) are raised while iterating.
    ``stream.timings.request_sent`` is the time just before the request was sent, so
    TTFT counts the whole wait; ``clock`` is the stream's (see :class:`ChatStream`).
    In the manner of httpx-sse's ``connect_sse``::

        with connect_chat(client, "POST", "/chat/completions", json=body) as stream:
            for chunk in stream: ...
    """

    def make(response: Any, stream_clock: Clock) -> ChatStream:
        return ChatStream(
            response,
            max_line_bytes=max_line_bytes,
            max_event_bytes=max_event_bytes,
            keep_chunks=keep_chunks,
            clock=stream_clock,
            on_end=on_end,
            think_tags=think_tags,
        )

    with _connect(client, method, url, clock, kwargs, make) as stream:
        yield stream


@asynccontextmanager
async def aconnect_chat(
    client: Any,
    method: str,
    url: str,
    *,
    max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
    max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
    keep_chunks: bool = False,
    clock: Clock | None = None,
    on_end: OnEnd | None = None,
    think_tags: bool | ThinkTags = False,
    **kwargs: Any,
) -> AsyncIterator[AsyncChatStream]:
    """The async twin of :func:`connect_chat`, for ``httpx``/``httpx2`` ``AsyncClient``."""

    def make(response: Any, stream_clock: Clock) -> AsyncChatStream:
        return AsyncChatStream(
            response,
            max_line_bytes=max_line_bytes,
            max_event_bytes=max_event_bytes,
            keep_chunks=keep_chunks,
            clock=stream_clock,
            on_end=on_end,
            think_tags=think_tags,
        )

    async with _aconnect(client, method, url, clock, kwargs, make) as stream:
        yield stream
