"""ReplayTransport's options on Responses API recordings, read by ResponseStream.

Every option is tried on real Responses recordings from ``tests/fixtures/responses``
(OpenAI's framing with ``event:`` lines and no ``[DONE]``; OpenRouter's data-only
framing with a ``[DONE]`` after the terminal event), through httpx and httpx2 clients,
read by :class:`ssestream.ResponseStream` (sync) and :class:`ssestream.AsyncResponseStream`
(asyncio, trio). The byte-level options (splits, pacing, cuts, stalls, buffering, error
responses, the content type) must give what a client of the Responses API would get
from such a server; ``drop_done`` removes a ``[DONE]`` a compatible server sent and is
refused, with the option and the API named, on a stream that has none.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ssestream import (
    APIStatusError,
    AsyncResponseStream,
    ResponseStream,
    SSEDecoder,
    SSEStreamError,
    StreamInterruptedError,
)
from ssestream.testing import (
    BAD_GATEWAY_502,
    RATE_LIMIT_429,
    SERVER_ERROR_500,
    ErrorResponse,
    ReplayTransport,
)

RESPONSES = Path(__file__).parent / "fixtures" / "responses"
OPENAI = RESPONSES / "fantasy-openai-gpt-4o-text.sse"  # event: lines, no [DONE]
OPENROUTER = RESPONSES / "pydantic-ai-openrouter-gpt-oss-20b-reasoning-text.sse"  # + [DONE]
RECORDINGS = [OPENAI, OPENROUTER]
URL = "https://api.openai.com/v1/responses"

pytestmark = pytest.mark.anyio


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
class Outcome:
    """What a Responses client saw: the rebuilt response, how it ended, the error."""

    response: dict[str, Any]
    terminal_event: str | None
    interrupted: bool
    error: SSEStreamError | None = None
    headers: Any = None


def _outcome(stream: Any, error: SSEStreamError | None, headers: Any = None) -> Outcome:
    return Outcome(
        stream.snapshot.to_dict(), stream.terminal_event, stream.interrupted, error, headers
    )


def whole(path: Path) -> Outcome:
    """The recording read whole, from bytes: what every faithful replay gives."""
    stream = ResponseStream([path.read_bytes()])
    try:
        for _ in stream:
            pass
    except SSEStreamError as exc:
        return _outcome(stream, exc)
    return _outcome(stream, None)


async def read(
    transport: ReplayTransport, lib: ModuleType, mode: str, *, read_timeout: float = 5.0
) -> Outcome:
    """POST to the Responses endpoint through ``transport`` and read the answer with the
    twin of ``mode``; the library's typed error is kept, not raised."""
    timeout = lib.Timeout(5.0, read=read_timeout)
    body = {"model": "gpt-4o", "input": "hi", "stream": True}
    if mode == "sync":
        with (
            lib.Client(transport=transport, timeout=timeout) as client,
            client.stream("POST", URL, json=body) as response,
        ):
            stream = ResponseStream(response)
            try:
                for _ in stream:
                    pass
            except SSEStreamError as exc:
                return _outcome(stream, exc, response.headers)
            return _outcome(stream, None, response.headers)
    async with (
        lib.AsyncClient(transport=transport, timeout=timeout) as client,
        client.stream("POST", URL, json=body) as response,
    ):
        astream = AsyncResponseStream(response)
        try:
            async for _ in astream:
                pass
        except SSEStreamError as exc:
            return _outcome(astream, exc, response.headers)
        return _outcome(astream, None, response.headers)


def text(response: dict[str, Any]) -> str:
    """The output text and reasoning of a rebuilt response, in order."""
    return "".join(
        part.get("text") or ""
        for item in response["output"]
        for part in [*(item.get("content") or []), *(item.get("summary") or [])]
    )


def events(path: Path) -> list[str]:
    decoder = SSEDecoder()
    return [event.data for event in decoder.feed(path.read_bytes()) + decoder.close()]


# --- The faithful options: the same response whatever the reads and the pacing --------


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name.split("-")[0])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"split": "whole"},
        {"split": "bytes"},
        {"split": 7},
        {"split": "random", "seed": 3},
        {"speed": 50.0},
        {"first_byte": 0.01, "gap": 0.001},
        {"buffered": True},
        {"buffered": True, "gap": 0.001},
        {"drop_content_type": True},
    ],
    ids=repr,
)
async def test_byte_level_options_give_the_recorded_response(
    path: Path, options: dict[str, Any], lib: ModuleType, mode: str
) -> None:
    got = await read(ReplayTransport(path, **options), lib, mode)
    want = whole(path)
    assert (got.response, got.terminal_event, got.interrupted, got.error) == (
        want.response,
        "response.completed",
        False,
        None,
    )
    if options.get("drop_content_type"):
        assert "content-type" not in got.headers


# --- Cuts and stalls: an interrupted Responses stream, with its text so far ------------


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name.split("-")[0])
@pytest.mark.parametrize(
    ("cut_with", "cause"),
    [("eof", None), ("reset", "ReadError"), ("incomplete", "RemoteProtocolError")],
)
async def test_a_cut_in_the_middle_interrupts_the_response(
    path: Path, cut_with: str, cause: str | None, lib: ModuleType, mode: str
) -> None:
    cut = len(path.read_bytes()) // 2  # inside an event
    transport = ReplayTransport(path, cut_after_bytes=cut, cut_with=cut_with)  # type: ignore[arg-type]
    got = await read(transport, lib, mode)
    assert got.terminal_event is None
    assert got.interrupted
    if cause is None:  # a clean end before the terminal event: no error, interrupted
        assert got.error is None
    else:
        assert isinstance(got.error, StreamInterruptedError)
        assert type(got.error.__cause__).__name__ == cause
        assert got.error.partial_response is not None
        assert got.error.partial_response.to_dict() == got.response
    full = text(whole(path).response)
    assert full.startswith(text(got.response))


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name.split("-")[0])
async def test_cut_after_events_before_the_terminal_event(
    path: Path, lib: ModuleType, mode: str
) -> None:
    """``cut_after_events`` counts SSE events, Responses events as any other: cut just
    before ``response.completed``, every delta has arrived but the stream is
    interrupted (the Responses form of a stream without ``[DONE]``)."""
    terminal = next(i for i, data in enumerate(events(path)) if "response.completed" in data)
    got = await read(ReplayTransport(path, cut_after_events=terminal), lib, mode)
    assert (got.terminal_event, got.interrupted, got.error) == (None, True, None)
    assert text(got.response) == text(whole(path).response)


async def test_a_stall_ends_in_the_clients_read_timeout(lib: ModuleType, mode: str) -> None:
    got = await read(ReplayTransport(OPENAI, stall_after_events=4), lib, mode, read_timeout=0.2)
    assert isinstance(got.error, StreamInterruptedError)
    assert type(got.error.__cause__).__name__ == "ReadTimeout"
    assert got.terminal_event is None
    assert got.response["status"] == "in_progress"


# --- Error responses: the Responses API's HTTP errors ----------------------------------


@pytest.mark.parametrize(
    "preset", [RATE_LIMIT_429, SERVER_ERROR_500, BAD_GATEWAY_502], ids=lambda r: r.status_code
)
async def test_replace_response_is_an_api_status_error(
    preset: ErrorResponse, lib: ModuleType, mode: str
) -> None:
    """The Responses API answers errors before the stream with the same
    ``{"error": {...}}`` JSON as chat completions (OpenAI API reference, error codes)."""
    got = await read(ReplayTransport(OPENAI, replace_response=preset), lib, mode)
    assert isinstance(got.error, APIStatusError)
    assert got.error.status_code == preset.status_code
    assert got.terminal_event is None
    if preset is RATE_LIMIT_429:
        assert got.error.code == "rate_limit_exceeded"


# --- drop_done: a [DONE] is removed where a server sent one, else refused --------------


async def test_drop_done_removes_the_done_a_compatible_server_sent(
    lib: ModuleType, mode: str
) -> None:
    body = OPENROUTER.read_bytes()
    assert b"data: [DONE]" in body  # OpenRouter ends its Responses streams with one
    transport = ReplayTransport(OPENROUTER, split=11, drop_done=True)
    got = await read(transport, lib, mode)
    assert got.response == whole(OPENROUTER).response
    assert got.terminal_event == "response.completed"
    served = await read_raw(ReplayTransport(OPENROUTER, drop_done=True), lib, mode)
    assert served == body.replace(b"data: [DONE]\n\n", b"")


async def read_raw(transport: ReplayTransport, lib: ModuleType, mode: str) -> bytes:
    if mode == "sync":
        with lib.Client(transport=transport) as client:
            return bytes(client.post(URL, json={}).content)
    async with lib.AsyncClient(transport=transport) as client:
        return bytes((await client.post(URL, json={})).content)


def test_drop_done_on_a_responses_stream_without_done_is_refused() -> None:
    """OpenAI's Responses streams end with ``response.completed`` and no ``[DONE]``:
    there ``drop_done`` would silently do nothing, so it is refused, naming the option,
    the API and the option that does end such a stream early."""
    assert b"[DONE]" not in OPENAI.read_bytes()
    with pytest.raises(ValueError, match=r"exchange 0: drop_done: .*Responses API") as info:
        ReplayTransport(OPENAI, drop_done=True)
    assert "cut_after_events" in str(info.value)
    # replaced by an error response, the body is no stream: nothing to refuse
    ReplayTransport(OPENAI, drop_done=True, replace_response=SERVER_ERROR_500)
