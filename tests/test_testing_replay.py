"""ReplayTransport through real clients: httpx and httpx2, sync and async (asyncio, trio).

Every test body runs on the six combinations of ``lib`` x ``mode``; the async modes run
under anyio's pytest plugin, and ``serve`` reads the response the way each client does.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssestream import ServerSentEvent, SSEDecoder
from ssestream.testing import (
    BAD_GATEWAY_502,
    RATE_LIMIT_429,
    SERVER_ERROR_500,
    ErrorResponse,
    Exchange,
    Read,
    RecordedError,
    RecordedRequest,
    Recording,
    ReplayTransport,
    UnmatchedRequestError,
    load_recording,
)

FIXTURES = Path(__file__).parent / "fixtures"
TOOL_CALL = FIXTURES / "openai" / "parse_pydantic_tool__c6aa7e397b71.sse"
MULTI_TOOL = FIXTURES / "openai" / "parse_multiple_pydantic_tools__f82268f2fefd.sse"
NO_DONE = FIXTURES / "providers" / "openai-gpt-4.1-nano-text.sse"
KEEPALIVE = FIXTURES / "providers" / "openrouter-claude-haiku-4.5-thinking-tool-turn1.sse"
PROVIDERS = sorted((FIXTURES / "providers").glob("*.sse"))
URL = "https://api.openai.com/v1/chat/completions"


@pytest.fixture(params=["httpx", "httpx2"])
def lib(request: pytest.FixtureRequest) -> ModuleType:
    return importlib.import_module(request.param)


@pytest.fixture(params=["sync", "asyncio", "trio"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(mode: str) -> str:
    # The sync twin runs once (under asyncio); the async twin under asyncio and trio.
    return "asyncio" if mode == "sync" else mode


@dataclass
class Served:
    """What a client saw: status, headers, each read with its time, and the error."""

    status: int
    headers: Any
    pieces: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # seconds since the request
    headers_time: float = 0.0
    error: Exception | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.pieces)


async def serve(
    transport: Any,
    lib: ModuleType,
    mode: str,
    *,
    body: Any = None,
    timeout: float | None = 5.0,
    url: str = URL,
) -> Served:
    """POST ``body`` as JSON through a client of ``lib`` (sync or async per ``mode``)
    and read the response raw, timing each read; transport errors are kept, not raised."""
    body = {"model": "gpt-4o", "stream": True} if body is None else body
    if mode == "sync":
        with lib.Client(transport=transport, timeout=timeout) as client:
            start = time.monotonic()
            with client.stream("POST", url, json=body) as response:
                served = Served(response.status_code, response.headers)
                served.headers_time = time.monotonic() - start
                try:
                    for piece in response.iter_raw():
                        served.pieces.append(piece)
                        served.times.append(time.monotonic() - start)
                except lib.TransportError as exc:
                    served.error = exc
        return served
    async with lib.AsyncClient(transport=transport, timeout=timeout) as client:
        start = anyio.current_time()
        async with client.stream("POST", url, json=body) as response:
            served = Served(response.status_code, response.headers)
            served.headers_time = anyio.current_time() - start
            try:
                async for piece in response.aiter_raw():
                    served.pieces.append(piece)
                    served.times.append(anyio.current_time() - start)
            except lib.TransportError as exc:
                served.error = exc
    return served


def events_of(body: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return decoder.feed(body) + decoder.close()


def timed(
    *reads: tuple[float, bytes], response_t: float = 0.0, end_t: float | None = None
) -> Recording:
    """A one-exchange recording with the given ``(t, data)`` reads."""
    last = reads[-1][0] if reads else response_t
    return Recording(
        (
            Exchange(
                response_t=response_t,
                reads=tuple(Read(t=t, data=data) for t, data in reads),
                end_t=last if end_t is None else end_t,
            ),
        )
    )


pytestmark = pytest.mark.anyio


# --- The body as recorded, and re-split -------------------------------------------------


@pytest.mark.parametrize("path", PROVIDERS[::6], ids=lambda p: p.name)
async def test_default_serves_the_recorded_body_unchanged(
    lib: ModuleType, mode: str, path: Path
) -> None:
    served = await serve(ReplayTransport(path), lib, mode)
    assert served.status == 200
    assert served.headers["content-type"] == "text/event-stream"
    assert served.pieces == [path.read_bytes()]  # a .sse body is one read at t=0
    assert served.error is None
    assert served.times[-1] < 0.5  # no pacing by default


async def test_recorded_reads_keep_their_exact_boundaries(lib: ModuleType, mode: str) -> None:
    body = 'data: {"x": "\u00e9\u20ac"}\r\n\r\ndata: [DONE]\r\n\r\n'.encode()
    cuts = [3, body.index(b"\xe2") + 1, body.index(b"\r") + 1, len(body) - 1]
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    recording = timed(*((0.0, piece) for piece in pieces))
    served = await serve(ReplayTransport(recording), lib, mode)
    assert served.pieces == pieces


@pytest.mark.parametrize(
    ("split", "sizes"),
    [
        ("whole", lambda n: [n]),
        ("bytes", lambda n: [1] * n),
        (100, lambda n: [100] * (n // 100) + ([n % 100] if n % 100 else [])),
        (7, lambda n: [7] * (n // 7) + ([n % 7] if n % 7 else [])),
    ],
)
async def test_split_re_cuts_the_reads(lib: ModuleType, mode: str, split: Any, sizes: Any) -> None:
    body = MULTI_TOOL.read_bytes()
    served = await serve(ReplayTransport(MULTI_TOOL, split=split), lib, mode)
    assert served.body == body
    assert [len(p) for p in served.pieces] == sizes(len(body))


async def test_random_split_is_seeded(lib: ModuleType, mode: str) -> None:
    body = TOOL_CALL.read_bytes()
    first = await serve(ReplayTransport(TOOL_CALL, split="random", seed=3), lib, mode)
    again = await serve(ReplayTransport(TOOL_CALL, split="random", seed=3), lib, mode)
    other = await serve(ReplayTransport(TOOL_CALL, split="random", seed=4), lib, mode)
    assert first.body == other.body == body
    assert first.pieces == again.pieces
    assert first.pieces != other.pieces
    assert all(1 <= len(p) <= 64 for p in first.pieces)
    assert len({len(p) for p in first.pieces}) > 10
    assert events_of(body) == events_of(first.body)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split=st.one_of(st.integers(1, 400), st.sampled_from(["whole", "bytes", "random"])))
def test_any_split_delivers_the_same_bytes_and_events(split: Any) -> None:
    body = KEEPALIVE.read_bytes()
    transport = ReplayTransport(KEEPALIVE, split=split, seed=7)
    with httpx.Client(transport=transport) as client, client.stream("POST", URL) as response:
        got = b"".join(response.iter_raw())
    assert got == body


# --- Pacing -----------------------------------------------------------------------------

PACED = timed(
    (0.10, b"data: 1\n\n"),
    (0.20, b"data: 2\n\n"),
    (0.30, b"data: [DONE]\n\n"),
    response_t=0.06,
    end_t=0.32,
)


async def test_speed_scales_the_recorded_timing(lib: ModuleType, mode: str) -> None:
    served = await serve(ReplayTransport(PACED, speed=2.0), lib, mode)
    assert served.pieces == [r.data for r in PACED[0].reads]
    assert served.headers_time == pytest.approx(0.03, abs=0.025)
    for got, read in zip(served.times, PACED[0].reads, strict=True):
        assert got == pytest.approx(read.t / 2, abs=0.025)


async def test_resplit_reads_arrive_with_their_last_byte(lib: ModuleType, mode: str) -> None:
    # 9-byte reads recorded at 0.1/0.2/0.3 s, replayed as 4-byte reads at speed 4: a
    # read is due when the recorded read holding its last byte arrived.
    served = await serve(ReplayTransport(PACED, speed=4.0, split=4), lib, mode)
    ends = [4, 8, 12, 16, 20, 24, 28, 32]
    recorded_ends = [9, 18, 32]
    due = [
        [0.1, 0.2, 0.3][next(i for i, e in enumerate(recorded_ends) if e >= end)] / 4
        for end in ends
    ]
    assert [len(p) for p in served.pieces] == [4] * 8
    for got, want in zip(served.times, due, strict=True):
        assert got == pytest.approx(want, abs=0.02)


async def test_first_byte_and_gap(lib: ModuleType, mode: str) -> None:
    served = await serve(
        ReplayTransport(TOOL_CALL, split=1000, first_byte=0.05, gap=0.02), lib, mode
    )
    assert served.headers_time == pytest.approx(0.05, abs=0.02)
    assert len(served.pieces) == 6
    for index, got in enumerate(served.times):
        assert got == pytest.approx(0.05 + index * 0.02, abs=0.02)


async def test_a_wait_past_the_read_timeout_raises_read_timeout(lib: ModuleType, mode: str) -> None:
    # A socket raises ReadTimeout when one read takes longer than the read timeout;
    # so does the replay, after waiting exactly that long.
    started = time.monotonic()
    served = await serve(ReplayTransport(TOOL_CALL, split=1000, gap=10.0), lib, mode, timeout=0.1)
    assert isinstance(served.error, lib.ReadTimeout)
    assert len(served.pieces) == 1
    # At least the timeout, and far less than the 10 s gap (a loaded machine, coverage
    # on, took 0.39 s once: the bound says what matters, not how fast the machine is).
    assert 0.09 <= time.monotonic() - started < 5
    with pytest.raises(lib.ReadTimeout):
        await serve(ReplayTransport(TOOL_CALL, first_byte=10.0), lib, mode, timeout=0.05)


def test_the_async_twin_runs_on_the_event_loop_clock() -> None:
    # Under trio's autojump clock, an hour of recorded timing replays in no real time.
    import trio
    import trio.testing

    hour = timed((1800.0, b"data: 1\n\n"), (3600.0, b"data: 2\n\n"))

    async def main() -> Served:
        return await serve(ReplayTransport(hour, speed=1.0), httpx, "trio", timeout=None)

    started = time.monotonic()
    served = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert time.monotonic() - started < 5
    assert served.times == [1800.0, 3600.0]


# --- Faults -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cut_with", "error_name", "message"),
    [
        ("eof", None, None),
        ("reset", "ReadError", "[Errno 104] Connection reset by peer"),
        ("incomplete", "RemoteProtocolError", "incomplete chunked read"),
    ],
)
async def test_cut_after_bytes(
    lib: ModuleType, mode: str, cut_with: Any, error_name: str | None, message: str | None
) -> None:
    body = TOOL_CALL.read_bytes()
    transport = ReplayTransport(TOOL_CALL, split=100, cut_after_bytes=1234, cut_with=cut_with)
    served = await serve(transport, lib, mode)
    assert served.body == body[:1234]
    assert [len(p) for p in served.pieces][-1] == 34  # the cut read keeps its head
    if error_name is None:
        assert served.error is None
    else:
        assert type(served.error) is getattr(lib, error_name)
        assert message in str(served.error)


async def test_a_cut_after_every_byte_still_raises(lib: ModuleType, mode: str) -> None:
    body = TOOL_CALL.read_bytes()
    transport = ReplayTransport(TOOL_CALL, cut_after_bytes=len(body), cut_with="reset")
    served = await serve(transport, lib, mode)
    assert served.body == body
    assert type(served.error) is lib.ReadError


@pytest.mark.parametrize("events", [0, 1, 5, 7])
async def test_cut_after_events_ends_just_after_the_nth_event(
    lib: ModuleType, mode: str, events: int
) -> None:
    body = TOOL_CALL.read_bytes()
    served = await serve(ReplayTransport(TOOL_CALL, cut_after_events=events), lib, mode)
    assert events_of(served.body) == events_of(body)[:events]
    # Nothing of the next event was sent: the body is a prefix ending with its blank line.
    assert body.startswith(served.body)
    assert served.body == b"" or served.body.endswith(b"\n\n")
    assert len(body[len(served.body) :].split(b"\n\n")) > 1


async def test_cut_after_events_counts_with_the_decoder(lib: ModuleType, mode: str) -> None:
    # CRLF line ends, a comment, a multi-line event, an event with no data (not an event),
    # a BOM: the count is the SSEDecoder's, and a cut keeps the LF of a CRLF.
    body = b"\xef\xbb\xbf: keep-alive\r\n\r\ndata: a\r\ndata: b\r\n\r\nid: 7\r\n\r\ndata: c\r\n\r\n"
    recording = timed((0.0, body))
    served = await serve(ReplayTransport(recording, cut_after_events=1), lib, mode)
    assert served.body == body[: body.index(b"b\r\n\r\n") + 5]
    assert [e.data for e in events_of(served.body)] == ["a\nb"]
    served = await serve(ReplayTransport(recording, cut_after_events=2), lib, mode)
    assert served.body == body


async def test_a_cut_tool_call_leaves_partial_arguments(lib: ModuleType, mode: str) -> None:
    body = TOOL_CALL.read_bytes()
    chunks = [e.json() for e in events_of(body) if e.data != "[DONE]"]
    served = await serve(ReplayTransport(TOOL_CALL, cut_after_events=5), lib, mode)
    got = [e.json() for e in events_of(served.body)]
    arguments = "".join(
        c["choices"][0]["delta"].get("tool_calls", [{}])[0].get("function", {}).get("arguments", "")
        for c in got
    )
    assert got == chunks[:5]
    assert arguments == '{"city":"Ed'


async def test_stall_raises_read_timeout_after_the_read_timeout(lib: ModuleType, mode: str) -> None:
    body = TOOL_CALL.read_bytes()
    transport = ReplayTransport(TOOL_CALL, split=50, stall_after_events=2)
    started = time.monotonic()
    served = await serve(transport, lib, mode, timeout=0.15)
    assert isinstance(served.error, lib.ReadTimeout)
    assert events_of(served.body) == events_of(body)[:2]
    assert time.monotonic() - started == pytest.approx(0.15, abs=0.1)


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_stall_without_timeout_waits_for_the_callers_cancel(anyio_backend: str) -> None:
    for lib_name in ("httpx", "httpx2"):
        lib = importlib.import_module(lib_name)
        transport = ReplayTransport(TOOL_CALL, stall_after_bytes=100)
        with anyio.move_on_after(0.1) as scope:
            await serve(transport, lib, anyio_backend, timeout=None)
        assert scope.cancelled_caught


async def test_buffered_delivers_everything_in_one_read_at_the_end(
    lib: ModuleType, mode: str
) -> None:
    served = await serve(ReplayTransport(PACED, buffered=True, speed=2.0), lib, mode)
    assert served.pieces == [b"".join(r.data for r in PACED[0].reads)]
    assert served.headers_time == pytest.approx(0.03, abs=0.025)
    assert served.times[0] == pytest.approx(0.16, abs=0.03)  # end_t / 2: all delay first
    served = await serve(ReplayTransport(TOOL_CALL, split=1, buffered=True), lib, mode)
    assert served.pieces == [TOOL_CALL.read_bytes()]


@pytest.mark.parametrize(
    ("preset", "content_type", "code"),
    [
        (RATE_LIMIT_429, "application/json", "rate_limit_exceeded"),
        (SERVER_ERROR_500, "application/json", None),
        (BAD_GATEWAY_502, "text/html", None),
    ],
)
async def test_replace_response_presets(
    lib: ModuleType, mode: str, preset: ErrorResponse, content_type: str, code: str | None
) -> None:
    served = await serve(ReplayTransport(TOOL_CALL, replace_response=preset), lib, mode)
    assert served.status == preset.status_code
    assert served.headers["content-type"] == content_type
    assert served.body == preset.body
    if content_type == "application/json":
        error = json.loads(served.body)["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["code"] == code
    else:
        assert b"<title>502 Bad Gateway</title>" in served.body


def test_error_response_builders() -> None:
    custom = ErrorResponse.openai(400, "bad", error_type="invalid_request_error", param="model")
    assert json.loads(custom.body) == {
        "error": {"message": "bad", "type": "invalid_request_error", "param": "model", "code": None}
    }
    page = ErrorResponse.html(503, "<h1>down</h1>")
    assert (page.status_code, page.headers, page.body) == (
        503,
        (("content-type", "text/html"),),
        b"<h1>down</h1>",
    )


async def test_drop_done(lib: ModuleType, mode: str) -> None:
    body = MULTI_TOOL.read_bytes()
    served = await serve(ReplayTransport(MULTI_TOOL, split=13, drop_done=True), lib, mode)
    assert [e for e in events_of(body) if e.data != "[DONE]"] == events_of(served.body)
    assert served.body == body.replace(b"data: [DONE]\n\n", b"")
    # A body without [DONE] is served unchanged.
    served = await serve(ReplayTransport(NO_DONE, drop_done=True), lib, mode)
    assert served.body == NO_DONE.read_bytes()


async def test_drop_content_type(lib: ModuleType, mode: str) -> None:
    served = await serve(ReplayTransport(TOOL_CALL, drop_content_type=True), lib, mode)
    assert "content-type" not in served.headers
    assert served.body == TOOL_CALL.read_bytes()


async def test_a_recorded_transport_error_is_raised_again(lib: ModuleType, mode: str) -> None:
    for name, expected in [
        ("RemoteProtocolError", "RemoteProtocolError"),
        ("OSError", "ReadError"),
    ]:
        recording = Recording(
            (
                Exchange(
                    reads=(Read(t=0.0, data=b"data: 1\n\n"),),
                    error=RecordedError(type=name, message="boom"),
                ),
            )
        )
        served = await serve(ReplayTransport(recording), lib, mode)
        assert served.body == b"data: 1\n\n"
        assert type(served.error) is getattr(lib, expected)
        assert str(served.error) == "boom"
    # A cut replaces the recorded ending.
    served = await serve(ReplayTransport(recording, cut_after_bytes=3), lib, mode)
    assert (served.body, served.error) == (b"dat", None)


async def test_faults_on_picks_the_exchanges(lib: ModuleType, mode: str) -> None:
    good = load_recording(TOOL_CALL)[0]
    recording = Recording((good, good, good))
    transport = ReplayTransport(recording, replace_response=RATE_LIMIT_429, faults_on=[1])
    statuses = [(await serve(transport, lib, mode)).status for _ in range(3)]
    assert statuses == [200, 429, 200]


# --- Matching ---------------------------------------------------------------------------


def _exchange(method: str, url: str, model: str | None, text: str) -> Exchange:
    return Exchange(
        request=RecordedRequest(
            method=method, url=url, json=None if model is None else {"model": model}
        ),
        reads=(Read(t=0.0, data=f"data: {text}\n\n".encode()),),
    )


TWO = Recording(
    (
        _exchange("POST", "https://api.openai.com/v1/chat/completions", "gpt-4o", "first"),
        _exchange("POST", "https://api.openai.com/v1/completions", "gpt-4o-mini", "second"),
    ),
    "two.jsonl",
)


async def test_match_in_order_serves_each_exchange_once(lib: ModuleType, mode: str) -> None:
    transport = ReplayTransport(TWO)
    first = await serve(transport, lib, mode, url="https://elsewhere.test/v1/x")
    second = await serve(transport, lib, mode)
    assert (first.body, second.body) == (b"data: first\n\n", b"data: second\n\n")
    with pytest.raises(UnmatchedRequestError) as info:
        await serve(transport, lib, mode, body={"model": "gpt-5"})
    message = str(info.value)
    assert f"POST {URL} (model 'gpt-5'), matching by order" in message
    assert "two.jsonl holds 2 exchange(s)" in message
    assert (
        "#0 POST https://api.openai.com/v1/chat/completions (model 'gpt-4o') -> 200 [served]"
        in message
    )
    assert (info.value.method, info.value.url, info.value.model) == ("POST", URL, "gpt-5")
    assert [str(r.url) for r in transport.requests] == ["https://elsewhere.test/v1/x", URL, URL]
    assert all(type(r) is lib.Request for r in transport.requests)
    assert json.loads(transport.requests[2].content) == {"model": "gpt-5"}


async def test_match_by_path(lib: ModuleType, mode: str) -> None:
    transport = ReplayTransport(TWO, match="path")
    second = await serve(transport, lib, mode, url="https://other.test/v1/completions?x=1")
    first = await serve(transport, lib, mode)
    assert (first.body, second.body) == (b"data: first\n\n", b"data: second\n\n")
    with pytest.raises(UnmatchedRequestError, match="matching by path"):
        await serve(transport, lib, mode, url="https://api.openai.com/v1/embeddings")


async def test_match_by_model(lib: ModuleType, mode: str) -> None:
    transport = ReplayTransport(TWO, match="model")
    second = await serve(transport, lib, mode, body={"model": "gpt-4o-mini"})
    first = await serve(transport, lib, mode, body={"model": "gpt-4o"})
    assert (first.body, second.body) == (b"data: first\n\n", b"data: second\n\n")
    with pytest.raises(UnmatchedRequestError, match=r"\(model 'gpt-4o'\), matching by model"):
        await serve(transport, lib, mode, body={"model": "gpt-4o"})


async def test_an_sse_body_matches_any_request(lib: ModuleType, mode: str) -> None:
    transport = ReplayTransport(TOOL_CALL.read_bytes(), match="model")
    served = await serve(transport, lib, mode, body={"model": "anything"}, url="http://x.test/")
    assert served.body == TOOL_CALL.read_bytes()
    with pytest.raises(UnmatchedRequestError, match=r"#0 \(any request\) -> 200 \[served\]"):
        await serve(transport, lib, mode)


# --- Options checked up front -----------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"split": 0}, "split=0"),
        ({"split": "lines"}, "split='lines'"),
        ({"split": True}, "split=True"),
        ({"speed": 0}, "speed=0"),
        ({"speed": math.inf}, "speed=inf"),
        ({"speed": 2, "gap": 0.1}, "not both"),
        ({"gap": -1}, "gap=-1"),
        ({"cut_after_bytes": 1, "stall_after_events": 1}, "not several"),
        ({"cut_after_bytes": -1}, "cut_after_bytes=-1"),
        ({"cut_with": "crash"}, "cut_with='crash'"),
        ({"match": "url"}, "match='url'"),
        ({"faults_on": [1]}, "faults_on=[1]: the recording has exchanges 0 to 0"),
        ({"cut_after_bytes": 10**6}, "exchange 0: the body has only 5264 bytes, not 1000000"),
        ({"stall_after_events": 99}, "exchange 0: the body has only 18 events, not 99"),
    ],
)
def test_bad_options_fail_when_the_transport_is_built(options: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ReplayTransport(TOOL_CALL, **options)


def test_events_of_a_compressed_body_cannot_be_counted() -> None:
    recording = Recording((Exchange(headers=(("content-encoding", "gzip"),), reads=()),))
    with pytest.raises(ValueError, match="gzip-encoded"):
        ReplayTransport(recording, cut_after_events=1)
    ReplayTransport(recording, cut_after_bytes=0)  # bytes are fine


def test_replace_response_must_be_an_error_response() -> None:
    with pytest.raises(TypeError, match="ErrorResponse"):
        ReplayTransport(TOOL_CALL, replace_response=429)  # type: ignore[arg-type]


def test_a_non_httpx_request_is_refused() -> None:
    with pytest.raises(TypeError, match=r"expected an httpx\.Request or httpx2\.Request"):
        ReplayTransport(TOOL_CALL).handle_request(object())


async def test_the_transport_is_a_context_manager(anyio_backend: str) -> None:
    with ReplayTransport(TOOL_CALL) as transport:
        assert isinstance(transport, ReplayTransport)
    async with ReplayTransport(TOOL_CALL) as transport:
        assert isinstance(transport, ReplayTransport)
