"""RecordingTransport: record real exchanges, read by read, as they happen.

It wraps a real transport and passes every response through untouched and unbuffered:
each read is handed to the client as it arrives, after one line is appended to the
``.jsonl`` file and flushed. So a crash mid-stream leaves a file that loads, holding
every read that arrived (the loader accepts a last exchange without its ``end`` line).

Invariants: the lines of one exchange are contiguous in the file, in the order the
responses arrived. When exchanges overlap (concurrent requests), the oldest open one is
written through and the others wait in memory until it ends. A request is written
(redacted) together with its response line, so a request that failed before its
response (a connection error) leaves nothing. Times come from ``time.monotonic`` in
both twins: a recording measures the real network.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from ._httplib import TransportBase, library_of, stream_type
from ._recording import (
    FORMAT_VERSION,
    Read,
    RecordedError,
    RecordedRequest,
    end_line,
    read_line,
    redact_headers,
    redact_url,
    request_line,
    response_line,
)

__all__ = ["RecordingTransport"]


class RecordingTransport(TransportBase):
    """A transport that records every exchange of a real transport to a ``.jsonl`` file.

    Usable as ``transport=`` of httpx and httpx2 clients, sync and async, like the
    transport it wraps. The file is created (replacing any old one) at the first
    response, then appended to: one line per read, flushed at once. Secrets in the
    request (``authorization``, ``api-key``, ``x-api-key``, cookies, any header or
    query parameter whose name contains ``key``/``token``/``secret``) are written as
    ``"REDACTED"``.

    Args:
        transport: the real transport: an ``httpx.HTTPTransport`` (sync clients), an
            ``httpx.AsyncHTTPTransport`` (async clients), their httpx2 twins, or any
            object with ``handle_request`` and/or ``handle_async_request``.
        path: the ``.jsonl`` file to write.

    A transport error while the body is read (``ReadError``, ``RemoteProtocolError``,
    ``ReadTimeout``...) is written in the exchange's ``end`` line, then re-raised
    unchanged. Closing this transport closes the wrapped one and the file.

    Raises:
        TypeError: ``transport`` has neither ``handle_request`` nor
            ``handle_async_request``.
    """

    def __init__(self, transport: Any, path: str | os.PathLike[str]) -> None:
        if not (hasattr(transport, "handle_request") or hasattr(transport, "handle_async_request")):
            raise TypeError(
                f"transport must be an httpx/httpx2 transport, not {type(transport).__name__}"
            )
        self.transport = transport
        self.path = Path(path)
        self._file = _RecordingFile(self.path)

    def handle_request(self, request: Any) -> Any:
        """Send ``request`` through the wrapped transport and record the exchange.

        Raises:
            Exception: whatever the wrapped transport raises, unchanged.
        """
        start = time.monotonic()
        request.read()
        response = self.transport.handle_request(request)
        return self._wrap(request, response, start)

    async def handle_async_request(self, request: Any) -> Any:
        """The async twin of :meth:`handle_request`."""
        start = time.monotonic()
        await request.aread()
        response = await self.transport.handle_async_request(request)
        return self._wrap(request, response, start)

    def _wrap(self, request: Any, response: Any, start: float) -> Any:
        lib = library_of(request)
        log = self._file.begin(
            start,
            [
                request_line(_recorded_request(request)),
                response_line(
                    response.status_code,
                    redact_headers(response.headers.multi_items(), response=True),
                    time.monotonic() - start,
                ),
            ],
        )
        response.stream = stream_type(lib, _RecordingStream)(response.stream, log)
        return response

    def close(self) -> None:
        """Close the file and the wrapped transport (``close()``)."""
        self._file.close()
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    async def aclose(self) -> None:
        """Close the file and the wrapped transport (``aclose()``)."""
        self._file.close()
        aclose = getattr(self.transport, "aclose", None)
        if aclose is not None:
            await aclose()


def _recorded_request(request: Any) -> RecordedRequest:
    content: bytes = request.content
    body: Any = None
    if content:
        try:
            body = json.loads(content)
        except ValueError:
            body = None
    return RecordedRequest(
        method=request.method,
        url=redact_url(str(request.url)),
        headers=redact_headers(request.headers.multi_items()),
        json=body,
        content=b"" if body is not None else content,
    )


class _ExchangeLog:
    """The lines of one exchange on their way to the file."""

    __slots__ = ("done", "file", "pending", "start")

    def __init__(self, file: _RecordingFile, start: float) -> None:
        self.file = file
        self.start = start
        self.pending: list[dict[str, Any]] = []  # lines waiting for older exchanges
        self.done = False

    def read(self, data: bytes) -> None:
        self.file.emit(self, read_line(Read(t=time.monotonic() - self.start, data=data)))

    def end(self, exc: BaseException | None) -> None:
        if self.done:
            return
        error = None if exc is None else RecordedError(type=type(exc).__name__, message=str(exc))
        self.file.finish(self, end_line(time.monotonic() - self.start, error))


class _RecordingFile:
    """The ``.jsonl`` file: opened at the first exchange, every write flushed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._created = False
        self._open: list[_ExchangeLog] = []  # oldest first; the first is written through

    def begin(self, start: float, lines: list[dict[str, Any]]) -> _ExchangeLog:
        log = _ExchangeLog(self, start)
        with self._lock:
            self._open.append(log)
            for line in lines:
                self._emit(log, line)
        return log

    def emit(self, log: _ExchangeLog, line: dict[str, Any]) -> None:
        with self._lock:
            self._emit(log, line)

    def finish(self, log: _ExchangeLog, line: dict[str, Any]) -> None:
        with self._lock:
            self._emit(log, line)
            log.done = True
            while self._open and self._open[0].done:
                self._open.pop(0)
                if self._open:
                    head = self._open[0]
                    self._write(head.pending)
                    head.pending = []

    def _emit(self, log: _ExchangeLog, line: dict[str, Any]) -> None:
        if self._open[0] is log:
            self._write([line])
        else:
            log.pending.append(line)

    def _write(self, lines: list[dict[str, Any]]) -> None:
        if not lines:
            return
        if self._file is None:
            if self._created:
                self._file = self.path.open("a", encoding="utf-8")
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("w", encoding="utf-8")
                self._file.write(json.dumps({"ssestream_recording": FORMAT_VERSION}) + "\n")
                self._created = True
        self._file.write("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
        self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class _RecordingStream:
    """Passes the wrapped byte stream through, logging each read before yielding it."""

    def __init__(self, stream: Any, log: _ExchangeLog) -> None:
        self._stream = stream
        self._log = log

    def __iter__(self) -> Iterator[bytes]:
        try:
            for data in self._stream:
                self._log.read(data)
                yield data
        except Exception as exc:
            self._log.end(exc)
            raise
        self._log.end(None)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._stream:
                self._log.read(data)
                yield data
        except Exception as exc:
            self._log.end(exc)
            raise
        self._log.end(None)

    def close(self) -> None:
        self._log.end(None)
        self._stream.close()

    async def aclose(self) -> None:
        self._log.end(None)
        await self._stream.aclose()


class _NetworkTransport:
    """The real network through the request's own library: ``HTTPTransport()`` /
    ``AsyncHTTPTransport()`` of httpx or httpx2, made at first use (for the plugin)."""

    def __init__(self) -> None:
        self._transports: dict[tuple[str, bool], Any] = {}

    def _get(self, lib: ModuleType, is_async: bool) -> Any:
        key = (lib.__name__, is_async)
        if key not in self._transports:
            cls = lib.AsyncHTTPTransport if is_async else lib.HTTPTransport
            self._transports[key] = cls()
        return self._transports[key]

    def handle_request(self, request: Any) -> Any:
        return self._get(library_of(request), False).handle_request(request)

    async def handle_async_request(self, request: Any) -> Any:
        return await self._get(library_of(request), True).handle_async_request(request)

    def close(self) -> None:
        for (_, is_async), transport in self._transports.items():
            if not is_async:
                transport.close()

    async def aclose(self) -> None:
        for (_, is_async), transport in self._transports.items():
            if is_async:
                await transport.aclose()
            else:
                transport.close()
