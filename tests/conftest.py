"""Shared fixtures: one test body runs through every twin of the chat streams.

The ``twin`` fixture is parametrised over ``"sync"``, ``"asyncio"`` and ``"trio"``. Its
:meth:`Twin.read` takes a response body described as data (the pieces the transport hands
out, then optionally an exception) and reads it to the end:

* ``"sync"``: with :class:`ssestream.ChatStream`, in the calling thread;
* ``"asyncio"`` / ``"trio"``: with :class:`ssestream.AsyncChatStream` under
  ``anyio.run(..., backend=...)``.

``via`` picks how the body reaches the stream: a plain byte iterable (an async generator
for the async twins), a sync iterable given to the async twin, or a real ``httpx`` /
``httpx2`` client (``Client`` or ``AsyncClient``) over a ``MockTransport`` whose response
streams the pieces one by one, opened with ``client.stream(...)`` or with
``connect_chat`` / ``aconnect_chat``. So one test body covers the sync twin, asyncio and
trio, over every kind of source.

``anyio_backend`` (asyncio, trio) serves the tests written as ``async def`` with
``@pytest.mark.anyio``, for what only the async twin has (``aclose``, ``async with``).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from hypothesis import HealthCheck, settings

from ssestream import (
    AsyncChatStream,
    ChatCompletion,
    ChatCompletionChunk,
    ChatStream,
    aconnect_chat,
    connect_chat,
)

# Hypothesis budgets: "default" keeps the regular run (and CI) quick; the long run is
# opt-in: `python -m pytest --hypothesis-profile=long`. Tests that set their own
# max_examples keep it.
_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=_SLOW)
settings.register_profile("long", max_examples=5_000, deadline=None, suppress_health_check=_SLOW)
settings.load_profile("default")


def pytest_configure(config: pytest.Config) -> None:
    """Load the profile named by ``--hypothesis-profile`` after ours were registered."""
    name = config.getoption("hypothesis_profile", default=None)
    if name:
        settings.load_profile(name)


URL = "https://api.example.test/v1/chat/completions"
SSE_HEADERS = {"content-type": "text/event-stream"}
REQUEST_BODY = {"model": "test-model", "stream": True, "messages": []}

HTTP_LIBS = {"httpx": httpx, "httpx2": httpx2}
VIAS = ("iterable", "sync-iterable", "httpx", "httpx2", "connect:httpx", "connect:httpx2")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run ``@pytest.mark.anyio`` tests on asyncio and on trio."""
    return str(request.param)


@dataclass
class Source:
    """A response body as the transport hands it out: ``pieces``, then ``error`` if set.

    ``pulled`` counts the pieces handed out, so that a test can prove that the stream
    stopped reading (for instance at ``[DONE]``).
    """

    pieces: Sequence[bytes]
    error: BaseException | None = None
    pulled: int = 0

    def sync(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.pulled += 1
            yield piece
        if self.error is not None:
            raise self.error

    async def asynchronous(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            self.pulled += 1
            yield piece
        if self.error is not None:
            raise self.error


@dataclass
class Run:
    """What reading one body gave.

    Attributes:
        chunks: the chunks the stream yielded, in order.
        stream: the ``ChatStream`` / ``AsyncChatStream`` (read its results after the run).
        error: the exception raised while reading (only when ``raises`` was given).
        source: the :class:`Source` (see ``pulled``).
        response: the ``httpx``/``httpx2`` response, or ``None`` for a byte iterable.
        closed: ``response.is_closed`` right after reading, still inside the client's
            ``stream()`` block (``None`` without a response).
        requests: the requests the mock transport received.
    """

    chunks: list[ChatCompletionChunk]
    stream: ChatStream | AsyncChatStream
    error: BaseException | None
    source: Source
    response: Any = None
    closed: bool | None = None
    requests: list[Any] = field(default_factory=list)

    @property
    def completion(self) -> ChatCompletion:
        return self.stream.completion


class Twin:
    """Reads a body with the sync twin or with the async twin on one anyio backend."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    @property
    def is_async(self) -> bool:
        return self.mode != "sync"

    def __repr__(self) -> str:
        return f"Twin({self.mode!r})"

    def read(
        self,
        pieces: Sequence[bytes],
        *,
        via: str = "iterable",
        status: int = 200,
        headers: dict[str, str] | None = None,
        error: BaseException | None = None,
        raises: type[BaseException] | tuple[type[BaseException], ...] | None = None,
        final: bool = False,
        **stream_kwargs: Any,
    ) -> Run:
        """Read a whole body and return the :class:`Run`.

        Args:
            pieces: the body, as the reads the transport makes.
            via: one of :data:`VIAS`.
            status, headers: the HTTP response head (ignored for iterables).
            error: raised by the source after the last piece.
            raises: the exception the read must end with (else any exception escapes).
            final: read with ``get_final_completion()`` instead of iterating (the result
                must then be ``stream.completion``).
            stream_kwargs: passed to the stream (``keep_chunks``, limits).
        """
        if via not in VIAS:
            raise ValueError(f"unknown via {via!r}")
        source = Source(pieces, error)
        head = (status, SSE_HEADERS if headers is None else headers)
        if self.is_async:
            run = anyio.run(
                functools.partial(_read_async, source, via, head, raises, final, stream_kwargs),
                backend=self.mode,
            )
        else:
            run = _read_sync(source, via, head, raises, final, stream_kwargs)
        return run


@pytest.fixture(params=["sync", "asyncio", "trio"])
def twin(request: pytest.FixtureRequest) -> Twin:
    """The stream twin a test body runs through: sync, async on asyncio, async on trio."""
    return Twin(str(request.param))


# ------------------------------------------------------------------------------ internals


def _expect(raises: Any) -> Callable[[BaseException], bool]:
    """Whether an exception is the one the caller expects (none expected: never)."""
    return lambda exc: raises is not None and isinstance(exc, raises)


def _drain_sync(stream: ChatStream, chunks: list[ChatCompletionChunk], final: bool) -> None:
    if final:
        assert stream.get_final_completion() == stream.completion
    else:
        for chunk in stream:
            assert isinstance(chunk, ChatCompletionChunk)
            chunks.append(chunk)


async def _drain_async(
    stream: AsyncChatStream, chunks: list[ChatCompletionChunk], final: bool
) -> None:
    if final:
        assert await stream.get_final_completion() == stream.completion
    else:
        async for chunk in stream:
            assert isinstance(chunk, ChatCompletionChunk)
            chunks.append(chunk)


def _handler(
    lib: Any,
    source: Source,
    head: tuple[int, dict[str, str]],
    requests: list[Any],
    *,
    is_async: bool,
) -> Callable[[Any], Any]:
    status, headers = head

    def handler(request: Any) -> Any:
        requests.append(request)
        content = source.asynchronous() if is_async else source.sync()
        return lib.Response(status, headers=headers, content=content)

    if not is_async:
        return handler

    async def ahandler(request: Any) -> Any:
        return handler(request)

    return ahandler


def _read_sync(
    source: Source,
    via: str,
    head: tuple[int, dict[str, str]],
    raises: Any,
    final: bool,
    stream_kwargs: dict[str, Any],
) -> Run:
    matches = _expect(raises)
    chunks: list[ChatCompletionChunk] = []
    error: BaseException | None = None
    if via in ("iterable", "sync-iterable"):
        stream = ChatStream(source.sync(), **stream_kwargs)
        try:
            _drain_sync(stream, chunks, final)
        except BaseException as exc:
            if not matches(exc):
                raise
            error = exc
        run = Run(chunks, stream, error, source)
    else:
        lib = HTTP_LIBS[via.removeprefix("connect:")]
        requests: list[Any] = []
        transport = lib.MockTransport(_handler(lib, source, head, requests, is_async=False))
        with lib.Client(transport=transport) as client:
            if via.startswith("connect:"):
                with connect_chat(client, "POST", URL, json=REQUEST_BODY, **stream_kwargs) as s:
                    stream = s
                    try:
                        _drain_sync(stream, chunks, final)
                    except BaseException as exc:
                        if not matches(exc):
                            raise
                        error = exc
                    response = stream.response
                    closed = response.is_closed
            else:
                with client.stream("POST", URL, json=REQUEST_BODY) as response:
                    stream = ChatStream(response, **stream_kwargs)
                    try:
                        _drain_sync(stream, chunks, final)
                    except BaseException as exc:
                        if not matches(exc):
                            raise
                        error = exc
                    closed = response.is_closed
        run = Run(chunks, stream, error, source, response, closed, requests)
    if raises is not None and error is None:
        pytest.fail(f"reading did not raise {raises}")
    return run


async def _read_async(
    source: Source,
    via: str,
    head: tuple[int, dict[str, str]],
    raises: Any,
    final: bool,
    stream_kwargs: dict[str, Any],
) -> Run:
    matches = _expect(raises)
    chunks: list[ChatCompletionChunk] = []
    error: BaseException | None = None
    if via in ("iterable", "sync-iterable"):
        body = source.asynchronous() if via == "iterable" else source.sync()
        astream = AsyncChatStream(body, **stream_kwargs)
        try:
            await _drain_async(astream, chunks, final)
        except BaseException as exc:
            if not matches(exc):
                raise
            error = exc
        run = Run(chunks, astream, error, source)
    else:
        lib = HTTP_LIBS[via.removeprefix("connect:")]
        requests: list[Any] = []
        transport = lib.MockTransport(_handler(lib, source, head, requests, is_async=True))
        async with lib.AsyncClient(transport=transport) as client:
            if via.startswith("connect:"):
                async with aconnect_chat(
                    client, "POST", URL, json=REQUEST_BODY, **stream_kwargs
                ) as s:
                    astream = s
                    try:
                        await _drain_async(astream, chunks, final)
                    except BaseException as exc:
                        if not matches(exc):
                            raise
                        error = exc
                    response = astream.response
                    closed = response.is_closed
            else:
                async with client.stream("POST", URL, json=REQUEST_BODY) as response:
                    astream = AsyncChatStream(response, **stream_kwargs)
                    try:
                        await _drain_async(astream, chunks, final)
                    except BaseException as exc:
                        if not matches(exc):
                            raise
                        error = exc
                    closed = response.is_closed
        run = Run(chunks, astream, error, source, response, closed, requests)
    if raises is not None and error is None:
        pytest.fail(f"reading did not raise {raises}")
    return run
