"""``serve`` answers ``POST /v1/responses`` from Responses API recordings (issue 13):
streamed as recorded, or as the ``response`` object a client rebuilds; over loopback,
read with httpx and :class:`ssestream.ResponseStream`, on every recording in
``tests/fixtures/responses`` and the bundled ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssestream import ChatStream, ResponseStream, SSEStreamError
from ssestream.testing import create_app, running_server

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


@pytest.mark.parametrize("fault", ["buffer", "cut", "no-content-type"])
def test_transport_faults_apply_to_responses_streams(serve: Any, fault: str) -> None:
    path = ROOT / "fixtures" / "responses" / "fantasy-openai-gpt-4o-text.sse"
    base = serve([path], pace="none", fault=fault)
    body = {"model": "any", "input": "hi", "stream": True}
    with (
        httpx.Client(base_url=base, timeout=TIMEOUT) as client,
        client.stream("POST", "/v1/responses", json=body) as response,
    ):
        if fault == "no-content-type":
            assert "content-type" not in response.headers
            return
        snapshot, error, terminal = read(response)
    whole, _, _ = read([path.read_bytes()])
    if fault == "buffer":
        assert (snapshot, error, terminal) == (whole, None, "response.completed")
    else:  # cut in the middle: interrupted, with the text so far
        assert terminal is None
        assert error is None or error == "StreamInterruptedError"
        assert snapshot != whole
        assert _text(whole).startswith(_text(snapshot))


def _text(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text") or "" for item in response["output"] for part in item.get("content") or []
    )


def test_the_app_says_which_routes_have_recordings() -> None:
    assert create_app([RESPONSES[0]]).state.routes == ["/v1/responses"]
    assert create_app([CHAT_RECORDING]).state.routes == ["/v1/chat/completions"]
    both = create_app([CHAT_RECORDING, RESPONSES[0]]).state.routes
    assert both == ["/v1/chat/completions", "/v1/responses"]
