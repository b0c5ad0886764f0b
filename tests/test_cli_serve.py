"""``ssestream serve``: the replay server on real loopback sockets, healthy and with faults.

Each test starts the Starlette app with uvicorn in a thread on 127.0.0.1 (a free port,
:func:`running_server`) and reads it with httpx and :class:`ssestream.ChatStream`, or
with a raw socket where the HTTP framing itself is the point. Timing assertions compare
orders and proportions of the planned times, never absolute latencies: the machine is
shared. Every read has a timeout, so no test can hang.
"""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssestream import (
    APIStatusError,
    ChatCompletion,
    ChatStream,
    ChunkParseError,
    SSEStreamError,
    StreamAPIError,
    StreamInterruptedError,
    UnexpectedContentTypeError,
)
from ssestream.cli import main
from ssestream.testing import (
    FAULTS,
    PARTIAL_BUFFER_BURSTS,
    Exchange,
    Read,
    RecordedRequest,
    Recording,
    create_app,
    decoded_exchange,
    load_recording,
    running_server,
)
from ssestream.testing._plan import event_ends

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).parent
OPENAI = sorted((ROOT / "fixtures" / "openai").glob("*.sse"))
PROVIDERS = sorted((ROOT / "fixtures" / "providers").glob("*.sse"))
BUNDLED = sorted(
    path
    for path in (ROOT.parent / "src" / "ssestream" / "_data").glob("*.sse")
    if "-responses-" not in path.name
)
TEXT = ROOT / "fixtures" / "openai" / "parse_nothing__e2aad469b71d.sse"  # 33 chunks, usage
SMALL = ROOT / "fixtures" / "openai" / "parse_pydantic_model__7e5ea4d12e7c.sse"  # 18 events
MIDSTREAM_ERROR = ROOT.parent / "src" / "ssestream" / "_data" / "openai-gpt-4.1-midstream-error.sse"
CHAT = "/v1/chat/completions"
TIMEOUT = httpx.Timeout(10.0)


# --- helpers ----------------------------------------------------------------------------


@dataclass
class Expected:
    """What a client rebuilds from a recording's own bytes."""

    completion: ChatCompletion
    done: bool
    error: SSEStreamError | None


def expected(body: bytes) -> Expected:
    stream = ChatStream([body])
    try:
        for _ in stream:
            pass
    except SSEStreamError as exc:
        return Expected(stream.completion, stream.done, exc)
    return Expected(stream.completion, stream.done, None)


@dataclass
class Streamed:
    """One streamed response as a client saw it."""

    status: int
    headers: httpx.Headers
    stream: ChatStream
    chunks: int = 0
    error: SSEStreamError | None = None
    chunk_times: list[float] = field(default_factory=list)


def stream_chat(
    base: str, *, model: str = "any", timeout: httpx.Timeout = TIMEOUT, **extra: Any
) -> Streamed:
    """POST a streaming request and read it with ChatStream, timing each chunk."""
    body = {"model": model, "stream": True, "messages": [], **extra}
    with (
        httpx.Client(base_url=base, timeout=timeout) as client,
        client.stream("POST", CHAT, json=body) as response,
    ):
        start = time.monotonic()
        result = Streamed(response.status_code, response.headers, ChatStream(response))
        try:
            for _ in result.stream:
                result.chunks += 1
                result.chunk_times.append(time.monotonic() - start)
        except SSEStreamError as exc:
            result.error = exc
    return result


def raw_reads(base: str, *, model: str = "any") -> tuple[httpx.Headers, list[tuple[float, bytes]]]:
    """POST a streaming request; return the headers and each network read of the body
    (as httpx's ``iter_raw`` hands them out: still compressed) with its time."""
    body = {"model": model, "stream": True, "messages": []}
    reads: list[tuple[float, bytes]] = []
    with (
        httpx.Client(base_url=base, timeout=TIMEOUT) as client,
        client.stream("POST", CHAT, json=body) as response,
    ):
        start = time.monotonic()
        reads.extend((time.monotonic() - start, data) for data in response.iter_raw() if data)
    return response.headers, reads


@pytest.fixture
def serve() -> Iterator[Any]:
    """``serve(recordings, **create_app_kwargs) -> base_url``; every server stops at the end."""
    stack: list[Any] = []

    def start(recordings: list[Any], **kwargs: Any) -> str:
        context = running_server(create_app(recordings, **kwargs))
        stack.append(context)
        return context.__enter__()

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


def events_of(path: Path) -> int:
    return len(event_ends(path.read_bytes()))


# --- healthy serving of every recording kind -------------------------------------------


@pytest.mark.parametrize(
    "paths", [OPENAI, PROVIDERS, BUNDLED], ids=["openai", "providers", "bundled"]
)
def test_streams_and_json_equal_the_recordings_own_completion(
    serve: Any, paths: list[Path]
) -> None:
    # Requests whose model is not recorded take the exchanges in order, cycling: the
    # first round streams each recording, the second asks each for plain JSON.
    base = serve(paths, pace="none")
    wanted = [expected(path.read_bytes()) for path in paths]
    for path, want in zip(paths, wanted, strict=True):
        got = stream_chat(base)
        assert got.status == 200, path.name
        assert got.stream.completion == want.completion, path.name
        assert got.stream.done == want.done, path.name
        assert type(got.error) is type(want.error), path.name
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        for path, want in zip(paths, wanted, strict=True):
            response = client.post(CHAT, json={"model": "any", "messages": []})
            if want.error is None:
                assert response.status_code == 200, path.name
                assert response.headers["content-type"] == "application/json"
                assert response.json() == want.completion.to_dict(), path.name
                assert response.json()["object"] == "chat.completion"
            else:  # a stream that carried an error: a 500 with the error JSON
                assert response.status_code == 500, path.name
                assert response.json()["error"]["message"] == want.error.message


def _jsonl_recording(tmp_path: Path) -> Path:
    """A .jsonl recording with real timing, requests (two models) and a gzip exchange."""
    exchanges = []
    for path, model, encoding in (
        (SMALL, "model-a", None),
        (TEXT, "model-b", None),
        (SMALL, "model-a", "gzip"),
    ):
        body = path.read_bytes()
        ends = [0] + [end for end, _ in event_ends(body)]
        reads = tuple(
            Read(t=0.01 * number, data=body[start:end])
            for number, (start, end) in enumerate(itertools.pairwise(ends), start=1)
        )
        headers: tuple[tuple[str, str], ...] = (("content-type", "text/event-stream"),)
        if encoding:
            reads = (Read(t=reads[-1].t, data=gzip.compress(body)),)
            headers += (("content-encoding", encoding), ("content-length", "1"))
        request = RecordedRequest(
            method="POST",
            url="https://api.example.test/v1/chat/completions",
            json={"model": model, "stream": True},
        )
        exchanges.append(
            Exchange(
                request=request,
                headers=headers,
                response_t=0.005,
                reads=reads,
                end_t=reads[-1].t + 0.001,
            )
        )
    models = Exchange(
        request=RecordedRequest(method="GET", url="https://api.example.test/v1/models"),
        headers=(("content-type", "application/json"),),
        reads=(Read(t=0.0, data=b'{"data": []}'),),
    )
    target = tmp_path / "recording.jsonl"
    Recording((models, *exchanges)).dump(target)
    return target


def test_jsonl_recordings_are_matched_by_model(serve: Any, tmp_path: Path) -> None:
    path = _jsonl_recording(tmp_path)
    base = serve([path], pace=4.0)
    small, text = expected(SMALL.read_bytes()), expected(TEXT.read_bytes())
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        listed = client.get("/v1/models").json()
        assert [m["id"] for m in listed["data"]] == ["model-a", "model-b"]
    # model-a has two exchanges (the second gzip-encoded when recorded): cycled in order.
    for model, want in (("model-b", text), ("model-a", small), ("model-a", small)):
        got = stream_chat(base, model=model)
        assert got.stream.completion == want.completion
        assert got.stream.done
        assert "content-encoding" not in got.headers  # a recorded encoding is undone
    # An unknown model takes the next exchange of all, in order.
    assert stream_chat(base, model="other").stream.completion == small.completion


def test_models_lists_each_recorded_model_once(serve: Any) -> None:
    base = serve([*OPENAI[:3], *PROVIDERS[:3]], pace="none")
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        for path in ("/v1/models", "/models"):
            response = client.get(path)
            assert response.status_code == 200
            body = response.json()
            assert body["object"] == "list"
            ids = [model["id"] for model in body["data"]]
            assert ids == [
                "gpt-4o-2024-08-06",
                "qwen3-max",
                "claude-haiku-4-5-20251001",
                "moonshotai/kimi-k2.5",
            ]
            assert all(model["object"] == "model" for model in body["data"])


def test_unknown_paths_and_bad_bodies_get_openai_errors(serve: Any) -> None:
    base = serve([SMALL], pace="none")
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        response = client.get("/v1/embeddings")
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "invalid_request_error"
        response = client.post(CHAT, content=b"not json")
        assert response.status_code == 400
        assert "JSON" in response.json()["error"]["message"]
        assert client.get(CHAT).status_code == 405
        # Without /v1 as well, as some clients' base URLs are set.
        assert client.post("/chat/completions", json={"stream": True}).status_code == 200


# --- timing and framing ----------------------------------------------------------------


def _http_chunks(data: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """Split a raw chunked HTTP/1.1 response: the head, and each chunk's (start, end)
    offsets of its data within ``data``; the terminating 0-size chunk is left out."""
    head_end = data.index(b"\r\n\r\n") + 4
    chunks = []
    pos = head_end
    while True:
        line_end = data.index(b"\r\n", pos)
        size = int(data[pos:line_end].split(b";")[0], 16)
        if size == 0:
            return data[:head_end], chunks
        start = line_end + 2
        chunks.append((start, start + size))
        pos = start + size + 2


def test_each_planned_read_is_its_own_http_chunk_and_arrives_while_streaming(
    serve: Any,
) -> None:
    # A raw socket: no client library between the wire and the test. With the default
    # pace a .sse recording gets one event per read, event_gap apart: each must travel
    # as its own HTTP chunk, and the reads must arrive spread over the stream's time,
    # not all at once (which is what a buffering server or proxy would do).
    gap = 0.03
    base = serve([SMALL], event_gap=gap)
    port = int(base.rsplit(":", 1)[1])
    events = [data for _, data in event_ends(SMALL.read_bytes())]
    request = json.dumps({"model": "any", "stream": True, "messages": []}).encode()
    received = bytearray()
    arrivals: list[tuple[float, int]] = []  # (time, total bytes so far)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(request), request)
        )
        start = time.monotonic()
        while data := sock.recv(65536):
            received += data
            arrivals.append((time.monotonic() - start, len(received)))
    head, chunks = _http_chunks(bytes(received))
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"content-type: text/event-stream" in head.lower()
    # One HTTP chunk per event, in order.
    assert len(chunks) == len(events)
    for (start_, end), data in zip(chunks, events, strict=True):
        chunk = bytes(received[start_:end])
        assert chunk.endswith(b"\n\n")
        assert len(event_ends(chunk)) == 1
        assert event_ends(chunk)[0][1] == data

    def arrival(offset: int) -> float:
        return next(t for t, total in arrivals if total > offset)

    times = [arrival(end - 1) for _, end in chunks]
    assert times == sorted(times)
    # Spread out: many separate arrivals, and the last chunk well after the first.
    assert len({round(t, 4) for t in times}) >= len(chunks) // 2
    assert times[-1] - times[0] >= 0.5 * gap * (len(chunks) - 1)


def test_pace_none_sends_at_once_and_speed_scales_the_recorded_timing(serve: Any) -> None:
    slow = serve([SMALL], event_gap=0.04)  # 18 events: 0.68 s
    fast = serve([SMALL], event_gap=0.04, pace=4.0)
    instant = serve([SMALL], event_gap=0.04, pace="none")
    spans = {}
    for name, base in (("slow", slow), ("fast", fast), ("instant", instant)):
        got = stream_chat(base)
        assert got.stream.done
        spans[name] = got.chunk_times[-1] - got.chunk_times[0]
    assert spans["instant"] < spans["fast"] < spans["slow"]
    assert spans["slow"] >= 0.5 * 0.04 * (events_of(SMALL) - 2)


# --- faults -----------------------------------------------------------------------------


def test_fault_names_are_the_contract() -> None:
    assert list(FAULTS) == [
        "none",
        "buffer",
        "partial-buffer",
        "gzip",
        "not-streamed",
        "malformed",
        "no-done",
        "no-usage",
        "slow-first-token",
        "error-in-stream",
        "html",
        "429",
        "500",
        "502",
        "auth",
        "cut",
        "reset",
        "stall",
        "no-content-type",
    ]


def test_fault_none_is_healthy(serve: Any) -> None:
    want = expected(TEXT.read_bytes())
    got = stream_chat(serve([TEXT], pace=2.0, fault="none"))
    assert got.error is None
    assert got.stream.completion == want.completion
    assert got.stream.done
    assert not got.stream.interrupted
    assert got.headers["content-type"] == "text/event-stream"


def test_fault_buffer_delivers_the_body_in_one_piece_at_the_end(serve: Any) -> None:
    gap = 0.02
    _healthy_headers, healthy = raw_reads(serve([TEXT], event_gap=gap))
    _headers, reads = raw_reads(serve([TEXT], event_gap=gap, fault="buffer"))
    total = gap * (events_of(TEXT) - 1)
    assert len(healthy) >= events_of(TEXT) // 2
    assert len(reads) <= 2  # one HTTP chunk (a socket may split it once)
    assert reads[0][0] >= 0.5 * total  # nothing before the end of the recorded time
    assert b"".join(d for _, d in reads) == b"".join(d for _, d in healthy)


def test_fault_partial_buffer_releases_a_few_bursts(serve: Any) -> None:
    gap = 0.02
    _, reads = raw_reads(serve([TEXT], event_gap=gap, fault="partial-buffer"))
    assert 2 <= len(reads) <= PARTIAL_BUFFER_BURSTS + 1
    assert len(reads) < events_of(TEXT) // 4
    # The gaps between bursts are long: each about a quarter of the stream.
    total = gap * (events_of(TEXT) - 1)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(reads)]
    assert max(gaps) >= 0.5 * total / PARTIAL_BUFFER_BURSTS
    assert b"".join(d for _, d in reads) == TEXT.read_bytes()


def test_fault_gzip_compresses_the_whole_stream_and_holds_it_back(serve: Any) -> None:
    gap = 0.02
    base = serve([TEXT], event_gap=gap, fault="gzip")
    headers, reads = raw_reads(base)
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(b"".join(d for _, d in reads)) == TEXT.read_bytes()
    # The compressor writes its 10-byte header, then nothing until the end.
    assert len(reads) <= 3
    assert reads[-1][0] >= 0.5 * gap * (events_of(TEXT) - 1)
    # A client that undoes Content-Encoding still rebuilds the completion.
    got = stream_chat(base)
    assert got.stream.completion == expected(TEXT.read_bytes()).completion


def test_fault_not_streamed_answers_plain_json(serve: Any) -> None:
    got = stream_chat(serve([TEXT], pace="none", fault="not-streamed"))
    assert got.headers["content-type"] == "application/json"
    assert got.stream.streamed is False
    assert got.stream.completion.choices == expected(TEXT.read_bytes()).completion.choices


def test_fault_malformed_breaks_some_chunks_and_keeps_the_rest(serve: Any) -> None:
    base = serve([TEXT], pace="none", fault="malformed")
    got = stream_chat(base)
    assert isinstance(got.error, ChunkParseError)
    assert got.chunks > 0
    assert not got.stream.done
    _, reads = raw_reads(base)
    datas = [data for _, data in event_ends(b"".join(d for _, d in reads))]
    assert len(datas) == events_of(TEXT)  # every event is still there
    payloads = [_json_or_none(data) for data in datas[:-1]]
    assert payloads.count(None) == 1  # one is not JSON
    assert sum(1 for p in payloads if p is not None and "choices" not in p) == 1
    assert datas[-1] == "[DONE]"


def _json_or_none(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def test_fault_no_done_drops_the_done_event(serve: Any) -> None:
    got = stream_chat(serve([TEXT], pace="none", fault="no-done"))
    assert got.error is None
    assert not got.stream.done
    assert not got.stream.interrupted  # every choice finished: complete without [DONE]
    assert got.stream.completion == expected(TEXT.read_bytes()).completion


def test_fault_no_usage_strips_usage(serve: Any) -> None:
    assert expected(TEXT.read_bytes()).completion.usage is not None
    base = serve([TEXT], pace="none", fault="no-usage")
    got = stream_chat(base)
    assert got.error is None
    assert got.stream.done
    assert got.stream.completion.usage is None
    assert got.chunks == events_of(TEXT) - 2  # [DONE] and the usage-only chunk
    _, reads = raw_reads(base)
    assert b'"usage"' not in b"".join(d for _, d in reads)


def test_fault_slow_first_token_delays_the_first_text(serve: Any) -> None:
    delay = 0.6
    got = stream_chat(serve([TEXT], pace="none", fault="slow-first-token", first_token_delay=delay))
    assert got.stream.done
    role_chunk, first_text = got.chunk_times[0], got.chunk_times[1]
    assert first_text - role_chunk >= 0.9 * delay
    assert got.chunk_times[-1] - first_text < delay  # the rest is not delayed further


def test_fault_error_in_stream_sends_an_error_event(serve: Any) -> None:
    got = stream_chat(serve([TEXT], pace="none", fault="error-in-stream"))
    assert isinstance(got.error, StreamAPIError)
    assert got.error.error_type == "server_error"
    assert 1 <= got.chunks <= 3
    assert not got.stream.done
    assert got.stream.interrupted


def test_fault_html_answers_a_web_page(serve: Any) -> None:
    got = stream_chat(serve([TEXT], pace="none", fault="html"))
    assert got.status == 200
    assert got.headers["content-type"] == "text/html"
    assert isinstance(got.error, UnexpectedContentTypeError)


@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [("429", 429, "application/json"), ("500", 500, "application/json"), ("502", 502, "text/html")],
)
def test_fault_error_statuses(serve: Any, fault: str, status: int, content_type: str) -> None:
    base = serve([TEXT], pace="none", fault=fault)
    got = stream_chat(base)
    assert isinstance(got.error, APIStatusError)
    assert got.error.status_code == status
    assert got.headers["content-type"] == content_type
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        assert client.post(CHAT, json={"model": "any"}).status_code == status
        assert client.get("/v1/models").status_code == 200  # only completions fail


def test_fault_auth_refuses_every_request(serve: Any) -> None:
    base = serve([TEXT], pace="none", fault="auth")
    got = stream_chat(base)
    assert isinstance(got.error, APIStatusError)
    assert got.error.status_code == 401
    assert got.error.code == "invalid_api_key"
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        response = client.get("/v1/models")
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert client.post(CHAT, json={"model": "any"}).status_code == 401


def test_fault_cut_ends_the_body_cleanly_after_half_the_events(serve: Any) -> None:
    got = stream_chat(serve([TEXT], pace="none", fault="cut"))
    assert got.error is None  # a clean end...
    assert not got.stream.done
    assert got.stream.interrupted
    assert got.chunks == events_of(TEXT) // 2


def test_fault_reset_closes_the_connection_mid_body(serve: Any) -> None:
    got = stream_chat(serve([TEXT], pace="none", fault="reset"))
    assert isinstance(got.error, StreamInterruptedError)
    assert isinstance(got.error.__cause__, httpx.TransportError)
    assert got.chunks == events_of(TEXT) // 2
    assert got.stream.interrupted


def test_fault_stall_hangs_until_the_client_gives_up(serve: Any) -> None:
    base = serve([TEXT], pace="none", fault="stall")
    start = time.monotonic()
    got = stream_chat(base, timeout=httpx.Timeout(10.0, read=0.5))
    assert time.monotonic() - start >= 0.5
    assert isinstance(got.error, StreamInterruptedError)
    assert isinstance(got.error.__cause__, httpx.ReadTimeout)
    assert got.chunks == events_of(TEXT) // 2
    # The server is still fine for the next client.
    got = stream_chat(base, timeout=httpx.Timeout(10.0, read=0.5))
    assert got.chunks == events_of(TEXT) // 2


def test_fault_no_content_type_drops_the_header(serve: Any) -> None:
    got = stream_chat(serve([TEXT], pace="none", fault="no-content-type"))
    assert "content-type" not in got.headers
    assert got.error is None
    assert got.stream.done


def test_faults_on_a_recording_that_ends_in_an_error(serve: Any) -> None:
    # Faults that need chunks leave alone what has none, and never fail to build.
    for fault in FAULTS:
        base = serve([MIDSTREAM_ERROR, SMALL], pace="none", fault=fault)
        with httpx.Client(base_url=base, timeout=httpx.Timeout(5.0, read=0.3)) as client:
            response = client.post(CHAT, json={"model": "any", "stream": False})
            assert response.status_code in (200, 401, 429, 500, 502), fault


# --- building the app -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fault": "flaky"}, "unknown fault 'flaky'"),
        ({"pace": 0}, "speed factor > 0"),
        ({"pace": "fast"}, "expected 'recorded', 'none'"),
        ({"event_gap": -1.0}, "event_gap"),
        ({"first_token_delay": math.inf}, "first_token_delay"),
    ],
)
def test_create_app_rejects_bad_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_app([SMALL], **kwargs)


def test_create_app_needs_a_chat_exchange() -> None:
    with pytest.raises(ValueError, match="no chat-completion or Responses exchange"):
        create_app([Recording(())])


def test_decoded_exchange_undoes_gzip_read_by_read() -> None:
    body = SMALL.read_bytes()
    packed = gzip.compress(body)
    exchange = Exchange(
        headers=(("content-type", "text/event-stream"), ("content-encoding", "gzip")),
        reads=(Read(t=0.1, data=packed[:20]), Read(t=0.2, data=packed[20:])),
        end_t=0.3,
    )
    decoded = decoded_exchange(exchange)
    assert decoded.body == body
    assert decoded.headers == (("content-type", "text/event-stream"),)
    assert [read.t for read in decoded.reads] in ([0.2], [0.1, 0.2])
    plain = dataclasses.replace(exchange, headers=())
    assert decoded_exchange(plain) is plain
    with pytest.raises(ValueError, match="br"):
        decoded_exchange(dataclasses.replace(exchange, headers=(("content-encoding", "br"),)))
    with pytest.raises(ValueError, match="corrupt"):
        decoded_exchange(dataclasses.replace(exchange, reads=(Read(t=0, data=b"nope"),)))


# --- the command ------------------------------------------------------------------------


def _script() -> str:
    script = shutil.which("ssestream", path=os.path.dirname(sys.executable))
    assert script is not None, "the ssestream console script is not installed"
    return script


def test_console_entry_point_help() -> None:
    for command in (["--help"], ["serve", "--help"], ["record", "--help"]):
        result = subprocess.run(
            [_script(), *command], capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "usage: ssestream" in result.stdout
    serve_help = subprocess.run(
        [_script(), "serve", "--help"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    for name in FAULTS:
        assert f"  {name} " in serve_help


def test_serve_command_runs_until_interrupted(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [_script(), "serve", str(SMALL), str(TEXT), "--port", "0", "--pace", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        base = None
        deadline = time.monotonic() + 20
        while base is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if line.startswith("base URL: "):
                base = line.split()[2]
        assert base is not None
        assert base.endswith("/v1")
        with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
            assert client.get("/models").json()["data"][0]["id"] == "gpt-4o-2024-08-06"
        got = stream_chat(base.removesuffix("/v1"))
        assert got.stream.completion == expected(SMALL.read_bytes()).completion
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 130  # the status of an interrupted command


def test_serve_command_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(tmp_path / "missing.sse")]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"ssestream_recording": 1}\n{"type": "read"}\n')
    assert main(["serve", str(bad)]) == 2
    assert "bad.jsonl, line 2" in capsys.readouterr().err
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", str(SMALL), "--port", str(port)]) == 2
    assert "cannot listen" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", str(SMALL), "--pace", "0"])
    assert "speed factor > 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", str(SMALL), "--fault", "flaky"])


def test_replay_reads_a_jsonl_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _jsonl_recording(tmp_path)
    assert load_recording(path)[0].request is not None
    status = main(["replay", str(path), "--json"])
    out = capsys.readouterr().out
    # JSON Lines: one valid document per line, one line per chat exchange (the
    # /v1/models exchange is left out: only chat completions are replayed).
    docs = [json.loads(line) for line in out.splitlines()]
    small, text = expected(SMALL.read_bytes()), expected(TEXT.read_bytes())
    assert [doc["completion"] for doc in docs] == [
        small.completion.to_dict(),
        text.completion.to_dict(),
        small.completion.to_dict(),  # the gzip-encoded one, decoded
    ]
    assert [doc["exchange"] for doc in docs] == [0, 1, 2]
    assert all(doc["error"] is None and doc["done"] for doc in docs)
    assert status == 0


def test_replay_of_a_recording_without_chat_exchanges_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = Exchange(
        request=RecordedRequest(method="GET", url="https://api.example.test/v1/models"),
        reads=(Read(t=0.0, data=b'{"data": []}'),),
    )
    path = tmp_path / "models.jsonl"
    Recording((models,)).dump(path)
    assert main(["replay", str(path)]) == 2
    assert "no chat-completion or Responses exchange" in capsys.readouterr().err
