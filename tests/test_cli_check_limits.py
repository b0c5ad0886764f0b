"""``check`` ends against a stream that never does, with its memory bounded (issue 12).

A stdlib HTTP server on loopback answers ``/models`` and the non-streaming request at
once, and the streaming requests with chunks every 5 ms, forever. ``--timeout`` alone
never fires (bytes keep coming); the deadline of the whole check (``--max-time``) ends
it, and :data:`MAX_CHUNKS` caps what is kept however fast the chunks come.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ssestream.check import _probe, analyse, probe

CHUNK = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",' + (
    b'"choices":[{"index":0,"delta":{"content":"1 "},"finish_reason":null}]}\n\n'
)
COMPLETION = json.dumps(
    {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "1"}, "finish_reason": "stop"}
        ],
    }
).encode()


class _Endless(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(b'{"object": "list", "data": [{"id": "m", "object": "model"}]}')

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if not request.get("stream"):
            self._send(COMPLETION)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        try:
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                self.wfile.flush()
                time.sleep(0.005)
        except OSError:  # the client stopped reading: the point of the test
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture
def endless() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Endless)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_deadline_ends_a_stream_that_keeps_sending(endless: str) -> None:
    data = probe(endless, "m", timeout=3.0, max_time=1.0)
    [record] = data.streams  # the deadline passed during the first stream: no second
    assert record.stopped == "max_time"
    assert not record.timed_out
    assert record.chunks  # what arrived is kept
    report = analyse(data)
    assert [p.code for p in report.problems] == ["too_long"]
    assert "--max-time" in report.problems[0].evidence[0]
    assert report.exit_status == 1


def test_a_stream_stops_being_kept_at_the_chunk_cap(
    endless: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_probe, "MAX_CHUNKS", 40)
    data = probe(endless, "m", timeout=3.0, max_time=30.0)
    assert [record.stopped for record in data.streams] == ["max_chunks", "max_chunks"]
    assert all(len(record.chunks) == 40 for record in data.streams)
    assert {p.code for p in analyse(data).problems} == {"too_long"}
