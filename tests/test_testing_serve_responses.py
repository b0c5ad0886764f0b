"""``serve`` answers ``POST /v1/responses`` from Responses API recordings (issue 13):
streamed as recorded, or as the ``response`` object a client rebuilds; over loopback,
read with httpx and :class:`ssestream.ResponseStream`, on every recording in
``tests/fixtures/responses`` and the bundled ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from ssestream import (
    APIStatusError,
    AsyncResponseStream,
    ChatStream,
    ChunkParseError,
    ResponseStream,
    SSEStreamError,
    StreamAPIError,
    StreamInterruptedError,
    UnexpectedContentTypeError,
)
from ssestream.testing import FAULTS, create_app, running_server

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).parent
RESPONSES = sorted((ROOT / "fixtures" / "responses").glob("*.sse")) + sorted(
    (ROOT.parent / "src" / "ssestream" / "_data").glob("*-responses-*.sse")
)
CHAT_RECORDING = ROOT.parent / "src" / "ssestream" / "_data" / "openai-gpt-5-multi-tool-turn1.sse"
TIMEOUT = httpx.Timeout(10.0)


def read(source: Any) -> tuple[dict[str, Any], str | None, str | None]:
    """(the rebuilt response, the error's type name, the terminal event) of a stream."""
    stream = ResponseStream(source)
    try:
        for _ in stream:
            pass
    except SSEStreamError as exc:
        return stream.snapshot.to_dict(), type(exc).__name__, stream.terminal_event
    return stream.snapshot.to_dict(), None, stream.terminal_event


@pytest.fixture
def serve() -> Iterator[Any]:
    stack: list[Any] = []

    def start(recordings: list[Any], **kwargs: Any) -> str:
        context = running_server(create_app(recordings, **kwargs))
        stack.append(context)
        return str(context.__enter__())

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


def test_every_responses_recording_streams_and_answers_as_recorded(serve: Any) -> None:
    base = serve(RESPONSES, pace="none")
    wanted = [read([path.read_bytes()]) for path in RESPONSES]
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        # the first round streams each recording in order, the second asks for JSON
        for path, want in zip(RESPONSES, wanted, strict=True):
            body = {"model": "any", "input": "hi", "stream": True}
            with client.stream("POST", "/v1/responses", json=body) as response:
                assert response.status_code == 200, path.name
                assert response.headers["content-type"].startswith("text/event-stream")
                assert read(response) == want, path.name
        for path, (response_object, error, _) in zip(RESPONSES, wanted, strict=True):
            answer = client.post("/v1/responses", json={"model": "any", "input": "hi"})
            if error is None:
                assert answer.status_code == 200, path.name
                assert answer.json() == response_object, path.name
            else:  # a stream that carried an error answers 500 with OpenAI's error JSON
                assert answer.status_code == 500, path.name
                assert set(answer.json()["error"]) == {"message", "type", "param", "code"}


def test_chat_and_responses_are_served_side_by_side(serve: Any) -> None:
    responses = ROOT / "fixtures" / "responses" / "fantasy-openai-gpt-4o-text.sse"
    base = serve([CHAT_RECORDING, responses], pace="none")
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        models = {model["id"] for model in client.get("/v1/models").json()["data"]}
        assert models == {"gpt-5-2025-08-07", read([responses.read_bytes()])[0]["model"]}
        for _ in range(2):  # each API cycles through its own recordings only
            body = {"model": "any", "input": "hi", "stream": True}
            with client.stream("POST", "/v1/responses", json=body) as response:
                assert read(response) == read([responses.read_bytes()])
            chat = {"model": "any", "messages": [], "stream": True}
            with client.stream("POST", "/v1/chat/completions", json=chat) as response:
                stream = ChatStream(response)
                for _ in stream:
                    pass
                assert stream.completion.model == "gpt-5-2025-08-07"


def test_an_api_without_recordings_answers_404(serve: Any) -> None:
    base = serve([RESPONSES[0]], pace="none")
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        answer = client.post("/v1/chat/completions", json={"model": "m", "messages": []})
        assert answer.status_code == 404
        assert "no chat-completion recording" in answer.json()["error"]["message"]
    base = serve([CHAT_RECORDING], pace="none")
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        answer = client.post("/v1/responses", json={"model": "m", "input": "hi"})
        assert answer.status_code == 404
        assert "no Responses API recording" in answer.json()["error"]["message"]


OPENAI_TEXT = ROOT / "fixtures" / "responses" / "fantasy-openai-gpt-4o-text.sse"
OPENROUTER = (
    ROOT / "fixtures" / "responses" / "pydantic-ai-openrouter-gpt-oss-20b-reasoning-text.sse"
)
STALL_TIMEOUT = httpx.Timeout(10.0, read=0.5)


def read_twins(base: str, timeout: httpx.Timeout) -> list[Any]:
    """Stream ``POST /v1/responses`` with ResponseStream (sync) and AsyncResponseStream
    (asyncio, trio); for each, (the rebuilt response, the terminal event, whether it was
    interrupted, the error or ``None``, the response's content type)."""
    body = {"model": "any", "input": "hi", "stream": True}

    def seen(stream: Any, error: SSEStreamError | None, response: Any) -> Any:
        content_type = response.headers.get("content-type")
        return (
            stream.snapshot.to_dict(),
            stream.terminal_event,
            stream.interrupted,
            error,
            content_type,
        )

    with (
        httpx.Client(base_url=base, timeout=timeout) as client,
        client.stream("POST", "/v1/responses", json=body) as response,
    ):
        stream = ResponseStream(response)
        try:
            for _ in stream:
                pass
        except SSEStreamError as exc:
            outcomes = [seen(stream, exc, response)]
        else:
            outcomes = [seen(stream, None, response)]

    async def main() -> Any:
        async with (
            httpx.AsyncClient(base_url=base, timeout=timeout) as client,
            client.stream("POST", "/v1/responses", json=body) as response,
        ):
            stream = AsyncResponseStream(response)
            try:
                async for _ in stream:
                    pass
            except SSEStreamError as exc:
                return seen(stream, exc, response)
            return seen(stream, None, response)

    for backend in ("asyncio", "trio"):
        outcomes.append(anyio.run(main, backend=backend))
    return outcomes


def _without_usage(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "usage"}


@pytest.mark.parametrize("path", [OPENAI_TEXT, OPENROUTER], ids=["openai", "openrouter"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_fault_on_a_responses_stream(serve: Any, path: Path, fault: str) -> None:
    """Each ``--fault`` on a real Responses recording, as ResponseStream reads it, the
    same in the sync and the async twin: the transport faults as for chat, and the
    faults that write into the stream in the Responses API's own shapes."""
    base = serve([path], pace="none", fault=fault, first_token_delay=0.05)
    outcomes = read_twins(base, STALL_TIMEOUT if fault == "stall" else TIMEOUT)
    # the error by its type and its cause's (httpx words a sync and an async timeout apart)
    described = [
        (response, terminal, interrupted, type(error), type(error and error.__cause__), media)
        for response, terminal, interrupted, error, media in outcomes
    ]
    assert described[1:] == described[:1] * 2, "the twins disagree"
    response, terminal, interrupted, error, media = outcomes[0]
    want, want_error, _ = read([path.read_bytes()])
    assert want_error is None
    if fault in ("none", "buffer", "partial-buffer", "gzip", "slow-first-token"):
        assert (response, terminal, error) == (want, "response.completed", None)
        assert media == "text/event-stream"
    elif fault == "no-content-type":
        assert (response, terminal, error, media) == (want, "response.completed", None, None)
    elif fault == "not-streamed":  # the response object, as JSON
        assert (response, terminal, error) == (want, "response.completed", None)
        assert media == "application/json"
    elif fault == "malformed":  # a delta without its "delta": the stream ends there
        assert isinstance(error, ChunkParseError)
        assert '"delta" is a NoneType, not text' in str(error)
        assert (terminal, interrupted) == (None, True)
    elif fault in ("no-done", "cut"):  # ended cleanly without the terminal event
        assert (terminal, interrupted, error) == (None, True, None)
        if fault == "no-done":  # every delta came
            assert _text(response) == _text(want)
        else:
            assert _text(want).startswith(_text(response))
            assert response != want
    elif fault == "no-usage":
        assert (terminal, error) == ("response.completed", None)
        assert response.get("usage") is None
        assert want["usage"] is not None
        assert _without_usage(response) == _without_usage(want)
    elif fault == "error-in-stream":  # OpenAI's `error` event, then response.failed
        assert isinstance(error, StreamAPIError)
        # The response.failed after the error event is folded into the partial response.
        assert (error.code, terminal) == ("server_error", "response.failed")
        assert response["status"] == "failed"
        assert response["error"]["code"] == "server_error"
        assert _text(want).startswith(_text(response))
        with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
            raw = client.post("/v1/responses", json={"input": "hi", "stream": True}).text
        events = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: {")]
        assert [event["type"] for event in events[-2:]] == ["error", "response.failed"]
        assert events[-1]["response"]["status"] == "failed"
        assert events[-1]["response"]["error"]["code"] == "server_error"
        numbers = [event.get("sequence_number") for event in events]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        if path == OPENAI_TEXT:  # named as the recording names its events
            assert "event: error\n" in raw
            assert "event: response.failed\n" in raw
        else:
            assert "event:" not in raw
    elif fault == "html":
        assert isinstance(error, UnexpectedContentTypeError)
    elif fault in ("429", "500", "502", "auth"):
        assert isinstance(error, APIStatusError)
        assert error.status_code == {"429": 429, "500": 500, "502": 502, "auth": 401}[fault]
    elif fault in ("reset", "stall"):
        assert isinstance(error, StreamInterruptedError)
        cause = "ReadTimeout" if fault == "stall" else "RemoteProtocolError"
        assert type(error.__cause__).__name__ == cause
        assert terminal is None
    else:  # a new fault must say here what it does to a Responses stream
        raise AssertionError(f"fault {fault!r} is not covered")


def _text(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text") or "" for item in response["output"] for part in item.get("content") or []
    )


def test_the_app_says_which_routes_have_recordings() -> None:
    assert create_app([RESPONSES[0]]).state.routes == ["/v1/responses"]
    assert create_app([CHAT_RECORDING]).state.routes == ["/v1/chat/completions"]
    both = create_app([CHAT_RECORDING, RESPONSES[0]]).state.routes
    assert both == ["/v1/chat/completions", "/v1/responses"]
