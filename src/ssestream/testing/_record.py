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

import dataclasses
import json
import os
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from .._redact import redact_headers, redact_json, redact_text, redact_url
from ._httplib import TransportBase, library_of, stream_type
from ._recording import (
    FORMAT_VERSION,
    Read,
    RecordedError,
    RecordedRequest,
    end_line,
    read_line,
    request_line,
    response_line,
)

__all__ = ["NetworkTransport", "RecordingTransport", "RecordingWarning"]


class RecordingWarning(UserWarning):
    """Part of an exchange could not be recorded as it was (the recording says how).

    Issued by :class:`RecordingTransport` instead of failing the request or dropping the
    exchange: e.g. a request body too deeply nested to write as JSON is recorded without
    its body. Turn it into an error with ``-W error::ssestream.testing.RecordingWarning``
    (or pytest's ``filterwarnings``) to make such a recording fail a test.
    """


class RecordingTransport(TransportBase):
    """A transport that records every exchange of a real transport to a ``.jsonl`` file.

    Usable as ``transport=`` of httpx and httpx2 clients, sync and async, like the
    transport it wraps. The file is created (replacing any old one) at the first
    response, then appended to: one line per read, flushed at once. Secrets are written
    as ``"REDACTED"``, deny by default (see ``ssestream._redact``): every header, query
    parameter and JSON body field whose name looks like a credential (``authorization``,
    ``cf-aig-authorization``, ``x-api-key``, ``?sig=``, ``?code=``, ``"api_key"``...),
    the URL's userinfo, ``set-cookie`` and the like in the response, and any header
    value an error message quotes.

    Every exchange is recorded. A request body string that is not valid Unicode (a lone
    surrogate escape such as ``"\\ud800"``) is written with ASCII escapes, so it loads
    back exactly; a body that cannot be written as JSON at all (nested past Python's
    recursion limit) is left out and a :class:`RecordingWarning` says so.

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
        try:
            return self._wrap(request, response, start)
        except BaseException:  # the file could not be written: free the connection
            response.close()
            raise

    async def handle_async_request(self, request: Any) -> Any:
        """The async twin of :meth:`handle_request`."""
        start = time.monotonic()
        await request.aread()
        response = await self.transport.handle_async_request(request)
        try:
            return self._wrap(request, response, start)
        except BaseException:
            await response.aclose()
            raise

    def _wrap(self, request: Any, response: Any, start: float) -> Any:
        lib = library_of(request)
        response_t = time.monotonic() - start
        log = self._begin(request, response, start, response_t)
        response.stream = stream_type(lib, _RecordingStream)(response.stream, log)
        return response

    def _begin(self, request: Any, response: Any, start: float, response_t: float) -> _ExchangeLog:
        return self._file.begin(
            start,
            [
                _request_bytes(_recorded_request(request)),
                _line_bytes(
                    response_line(
                        response.status_code,
                        redact_headers(_raw_headers(response), response=True),
                        response_t,
                    )
                ),
            ],
        )

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


def _raw_headers(message: Any) -> list[tuple[str, str]]:
    """The headers as sent on the wire: each value's exact bytes, decoded as UTF-8 with
    ``surrogateescape`` (so any byte survives, and a replay re-encodes the same way)."""
    return [
        (name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))
        for name, value in message.headers.raw
    ]


def _recorded_request(request: Any) -> RecordedRequest:
    content: bytes = request.content
    body: Any = None
    if content:
        try:
            body = json.loads(content)
        except (ValueError, RecursionError):  # not JSON (or nested past the stack)
            body = None
    return RecordedRequest(
        method=request.method,
        url=redact_url(str(request.url)),
        headers=redact_headers(_raw_headers(request)),
        json=redact_json(body),
        content=b"" if body is not None else content,
    )


def _line_bytes(line: dict[str, Any]) -> bytes:
    """One JSON line, UTF-8, readable (non-ASCII kept) when it can be, else escaped.

    ``ensure_ascii=True`` writes a lone surrogate as ``\\udXXX``, which loads back as the
    same string: the line is recorded exactly either way.
    """
    text = json.dumps(line, ensure_ascii=False)
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(line) + "\n").encode("ascii")


def _request_bytes(request: RecordedRequest) -> bytes:
    """The request line. A JSON body string that is not valid Unicode (a lone surrogate
    escape, which ``load_recording`` refuses) is recorded with U+FFFD in its place; a
    body that cannot be written as JSON at all is left out. Either way with a warning."""
    try:
        text = json.dumps(request_line(request), ensure_ascii=False)
    except (ValueError, RecursionError) as exc:
        _warn(
            f"the body of {request.method} {request.url} cannot be written as JSON "
            f"({type(exc).__name__}); recorded without it"
        )
        bare = RecordedRequest(method=request.method, url=request.url, headers=request.headers)
        return _line_bytes(request_line(bare))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        _warn(
            f"the JSON body of {request.method} {request.url} holds a string that is not "
            "valid Unicode (a lone surrogate escape); recorded with U+FFFD in its place"
        )
        body = json.dumps(request.json, ensure_ascii=False)
        fixed = json.loads(body.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
        return _line_bytes(request_line(dataclasses.replace(request, json=fixed)))


def _warn(message: str) -> None:
    warnings.warn(f"ssestream recording: {message}", RecordingWarning, stacklevel=5)


class _ExchangeLog:
    """The lines of one exchange on their way to the file."""

    __slots__ = ("done", "file", "pending", "start")

    def __init__(self, file: _RecordingFile, start: float) -> None:
        self.file = file
        self.start = start
        self.pending: list[bytes] = []  # lines waiting for older exchanges
        self.done = False

    def read(self, data: bytes) -> None:
        line = read_line(Read(t=time.monotonic() - self.start, data=data))
        self.file.emit(self, _line_bytes(line))

    def end(self, exc: BaseException | None) -> None:
        if self.done:
            return
        error = None
        if exc is not None:
            error = RecordedError(type=type(exc).__name__, message=redact_text(str(exc)))
        self.file.finish(self, _line_bytes(end_line(time.monotonic() - self.start, error)))


class _RecordingFile:
    """The ``.jsonl`` file: opened at the first exchange, every write flushed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._created = False
        self._open: list[_ExchangeLog] = []  # oldest first; the first is written through

    def begin(self, start: float, lines: list[bytes]) -> _ExchangeLog:
        log = _ExchangeLog(self, start)
        with self._lock:
            self._open.append(log)
            try:
                for line in lines:
                    self._emit(log, line)
            except BaseException:
                log.done = True
                self._retire()
                raise
        return log

    def emit(self, log: _ExchangeLog, line: bytes) -> None:
        with self._lock:
            self._emit(log, line)

    def finish(self, log: _ExchangeLog, line: bytes) -> None:
        with self._lock:
            log.done = True  # first: a failed write must not hold the later exchanges back
            try:
                self._emit(log, line)
            finally:
                self._retire()

    def _retire(self) -> None:
        """Drop the finished exchanges at the head; write the next one's waiting lines."""
        while self._open and self._open[0].done:
            self._open.pop(0)
            if self._open:
                head = self._open[0]
                lines, head.pending = head.pending, []
                self._write(lines)

    def _emit(self, log: _ExchangeLog, line: bytes) -> None:
        if self._open[0] is log:
            self._write([line])
        else:
            log.pending.append(line)

    def _write(self, lines: list[bytes]) -> None:
        if not lines:
            return
        if self._file is None:
            if self._created:
                self._file = self.path.open("ab")
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("wb")
                self._file.write(_line_bytes({"ssestream_recording": FORMAT_VERSION}))
                self._created = True
        self._file.write(b"".join(lines))
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


class NetworkTransport:
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
