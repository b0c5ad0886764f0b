"""RecordingTransport over a real loopback socket, and the round trip back through replay.

A stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) streams a chunked SSE body in
flushed pieces with small sleeps between them, so each piece is one network read.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

from ssestream.testing import REDACTED, RecordingTransport, ReplayTransport, load_recording

PIECES = [
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel',  # an event split mid-JSON
    b"lo \xc3",  # ... and mid UTF-8 sequence
    b'\xa9t\xc3\xa9"}}]}\n\ndata: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n',
    b"\ndata: [DONE]\n\n",
]
GAP = 0.06  # seconds between pieces


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        pieces, broken = self.server.bodies.get(self.path.split("?")[0], (PIECES, False))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("set-cookie", "session=s3cr3t")
        self.send_header("x-request-id", "req-1")
        self.end_headers()
        for piece in pieces:
            time.sleep(GAP)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        if not broken:  # else: close without the last chunk, mid-body
            self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    bodies: dict[str, tuple[list[bytes], bool]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early (a test of it) is no server error


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.bodies = {}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def url_of(server: _Server, path: str = "/v1/chat/completions") -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}{path}"


@pytest.fixture(params=["httpx", "httpx2"])
def lib(request: pytest.FixtureRequest) -> ModuleType:
    return importlib.import_module(request.param)


async def stream(
    client: Any, url: str, lib: ModuleType, *, is_async: bool, on_first: Any = None
) -> tuple[list[bytes], list[float], Exception | None]:
    """POST and read raw, timing each read from the request; keep a transport error."""
    kwargs: dict[str, Any] = {
        "json": {"model": "gpt-4o", "stream": True, "max_tokens": 9},
        "headers": {"authorization": "Bearer sk-secret", "x-api-key": "k"},
    }
    pieces: list[bytes] = []
    times: list[float] = []
    error: Exception | None = None
    start = time.monotonic()
    if is_async:
        async with client.stream("POST", url, **kwargs) as response:
            try:
                async for piece in response.aiter_raw():
                    pieces.append(piece)
                    times.append(time.monotonic() - start)
                    if on_first is not None and len(pieces) == 1:
                        on_first()
            except lib.TransportError as exc:
                error = exc
    else:
        with client.stream("POST", url, **kwargs) as response:
            try:
                for piece in response.iter_raw():
                    pieces.append(piece)
                    times.append(time.monotonic() - start)
                    if on_first is not None and len(pieces) == 1:
                        on_first()
            except lib.TransportError as exc:
                error = exc
    return pieces, times, error


async def record(
    lib: ModuleType, is_async: bool, path: Path, url: str, on_first: Any = None
) -> tuple[list[bytes], list[float], Exception | None]:
    if is_async:
        transport = RecordingTransport(lib.AsyncHTTPTransport(), path)
        async with lib.AsyncClient(transport=transport) as client:
            return await stream(client, url, lib, is_async=True, on_first=on_first)
    with lib.Client(transport=RecordingTransport(lib.HTTPTransport(), path)) as client:
        return await stream(client, url, lib, is_async=False, on_first=on_first)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_record_then_replay_gives_the_same_reads_and_timing(
    server: _Server, lib: ModuleType, is_async: bool, tmp_path: Path
) -> None:
    path = tmp_path / "rec" / "stream.jsonl"
    url = url_of(server) + "?api-version=1&api-key=abc"
    seen_mid_stream: list[Any] = []

    def on_first() -> None:
        # Flushed per read, so the file is usable while the stream is still open.
        seen_mid_stream.append(load_recording(path))

    pieces, times, error = anyio.run(record, lib, is_async, path, url, on_first)

    # Passed through untouched and unbuffered: one read per piece, as the server sent them.
    assert error is None
    assert pieces == PIECES
    assert times[0] >= GAP * 0.8
    for earlier, later in itertools.pairwise(times):
        assert later - earlier >= GAP * 0.5
    [partial] = seen_mid_stream[0]
    assert [read.data for read in partial.reads] == PIECES[:1]

    [exchange] = load_recording(path)
    assert exchange.status_code == 200
    assert ("set-cookie", REDACTED) in exchange.headers
    assert ("x-request-id", "req-1") in exchange.headers
    assert exchange.request is not None
    assert exchange.request.method == "POST"
    assert exchange.request.url == url_of(server) + f"?api-version=1&api-key={REDACTED}"
    headers = dict(exchange.request.headers)
    assert headers["authorization"] == REDACTED
    assert headers["x-api-key"] == REDACTED
    assert exchange.request.json == {"model": "gpt-4o", "stream": True, "max_tokens": 9}
    assert [read.data for read in exchange.reads] == PIECES
    for read, seen in zip(exchange.reads, times, strict=True):
        assert read.t == pytest.approx(seen, abs=0.05)  # reads are GAP = 60 ms apart
    assert 0 < exchange.response_t <= exchange.reads[0].t
    assert exchange.end_t >= exchange.reads[-1].t
    assert exchange.error is None
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"ssestream_recording": 1}
    assert [json.loads(line)["type"] for line in lines[1:]] == (
        ["request", "response"] + ["read"] * len(PIECES) + ["end"]
    )

    # Replayed at twice the speed: the same bytes and boundaries, at half the times.
    async def replay() -> tuple[list[bytes], list[float], Exception | None]:
        transport = ReplayTransport(path, speed=2.0)
        if is_async:
            async with lib.AsyncClient(transport=transport) as client:
                return await stream(client, url, lib, is_async=True)
        with lib.Client(transport=transport) as client:
            return await stream(client, url, lib, is_async=False)

    replayed, replay_times, error = anyio.run(replay)
    assert error is None
    assert replayed == PIECES
    for read, seen in zip(exchange.reads, replay_times, strict=True):
        assert seen == pytest.approx(read.t / 2, abs=0.025)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_broken_stream_is_recorded_and_replayed(
    server: _Server, lib: ModuleType, is_async: bool, tmp_path: Path
) -> None:
    server.bodies["/broken"] = (PIECES[:2], True)
    path = tmp_path / "broken.jsonl"
    pieces, _, error = anyio.run(record, lib, is_async, path, url_of(server, "/broken"))
    assert pieces == PIECES[:2]
    assert type(error) is lib.RemoteProtocolError  # re-raised unchanged

    [exchange] = load_recording(path)
    assert exchange.body == b"".join(PIECES[:2])
    assert exchange.error is not None
    assert exchange.error.type == "RemoteProtocolError"
    assert exchange.error.message == str(error)

    with lib.Client(transport=ReplayTransport(path)) as client:
        replayed, _, replay_error = anyio.run(
            lambda: stream(client, url_of(server), lib, is_async=False)
        )
    assert replayed == PIECES[:2]
    assert type(replay_error) is lib.RemoteProtocolError
    assert str(replay_error) == str(error)


def test_concurrent_exchanges_are_written_one_after_the_other(
    server: _Server, tmp_path: Path
) -> None:
    import httpx

    server.bodies["/a"] = ([b"data: a1\n\n", b"data: a2\n\n", b"data: a3\n\n"], False)
    server.bodies["/b"] = ([b"data: b1\n\n", b"data: b2\n\n"], False)
    path = tmp_path / "two.jsonl"

    async def main() -> None:
        transport = RecordingTransport(httpx.AsyncHTTPTransport(), path)
        async with (
            httpx.AsyncClient(transport=transport) as client,
            anyio.create_task_group() as tg,
        ):
            for name in ("a", "b"):
                url = url_of(server, f"/{name}")
                tg.start_soon(functools.partial(stream, client, url, httpx, is_async=True))

    anyio.run(main)
    recording = load_recording(path)
    bodies = sorted(exchange.body for exchange in recording)
    assert bodies == [b"data: a1\n\ndata: a2\n\ndata: a3\n\n", b"data: b1\n\ndata: b2\n\n"]
    paths = {exchange.request.path for exchange in recording if exchange.request}
    assert paths == {"/a", "/b"}


def test_a_second_client_session_appends(server: _Server, tmp_path: Path) -> None:
    import httpx

    path = tmp_path / "many.jsonl"
    transport = RecordingTransport(httpx.HTTPTransport(), path)
    for _ in range(2):
        with httpx.Client(transport=transport) as client:  # closes the transport each time
            anyio.run(lambda c=client: stream(c, url_of(server), httpx, is_async=False))
    assert [exchange.body for exchange in load_recording(path)] == [b"".join(PIECES)] * 2
    # A new RecordingTransport starts the file again.
    with httpx.Client(transport=RecordingTransport(httpx.HTTPTransport(), path)) as client:
        anyio.run(lambda: stream(client, url_of(server), httpx, is_async=False))
    assert len(load_recording(path)) == 1


def test_a_stream_closed_early_is_ended_at_close(server: _Server, tmp_path: Path) -> None:
    import httpx

    path = tmp_path / "early.jsonl"
    with (
        httpx.Client(transport=RecordingTransport(httpx.HTTPTransport(), path)) as client,
        client.stream("POST", url_of(server)) as response,
    ):
        first = next(response.iter_raw())
    [exchange] = load_recording(path)
    assert [read.data for read in exchange.reads] == [first]
    assert exchange.error is None
    assert path.read_text(encoding="utf-8").splitlines()[-1].startswith('{"type": "end"')


def test_recording_transport_needs_a_transport(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="must be an httpx/httpx2 transport"):
        RecordingTransport(object(), tmp_path / "x.jsonl")


def test_the_plugins_network_transport_serves_each_library(server: _Server, tmp_path: Path) -> None:
    # What --sse-record-mode uses: the request's own library's HTTPTransport or
    # AsyncHTTPTransport, made at first use, behind one RecordingTransport.
    import httpx
    import httpx2

    from ssestream.testing._record import NetworkTransport

    path = tmp_path / "net.jsonl"
    transport = RecordingTransport(NetworkTransport(), path)

    async def main() -> None:
        async with httpx2.AsyncClient(transport=transport) as client:
            response = await client.post(url_of(server), content=b"plain text body")
            assert response.content == b"".join(PIECES)

    with httpx.Client(transport=transport) as client:
        assert client.post(url_of(server)).content == b"".join(PIECES)
    anyio.run(main)
    anyio.run(main, backend="trio")
    recording = load_recording(path)
    assert [exchange.body for exchange in recording] == [b"".join(PIECES)] * 3
    request = recording[1].request
    assert request is not None
    assert (request.json, request.content) == (None, b"plain text body")
