"""``ssestream record`` against ``ssestream serve`` on a loopback socket, and back.

The served endpoint replays a real recording, so what ``record`` writes can be checked
against the completion the recording's own bytes give: load it, replay it (the
``replay`` command, ``ReplayTransport``, and ``serve`` again), compare.
"""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssestream import ChatCompletion, ChatStream, ResponseStream
from ssestream.cli import main
from ssestream.cli._record import request_body
from ssestream.testing import REDACTED, ReplayTransport, create_app, load_recording, running_server

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

FIXTURES = Path(__file__).parent / "fixtures"
RECORDING = FIXTURES / "providers" / "deepseek-reasoner-tool-call.sse"  # reasoning + tools
TEXT = FIXTURES / "openai" / "parse_nothing__e2aad469b71d.sse"
KEY = "sk-test-0123456789abcdef-secret"


def completion_of(body: bytes) -> ChatCompletion:
    return ChatStream([body]).get_final_completion()


@pytest.fixture
def serve() -> Iterator[Any]:
    """``serve(recording, **create_app_kwargs) -> base URL with /v1``."""
    contexts: list[Any] = []

    def start(recording: Path, **kwargs: Any) -> str:
        context = running_server(create_app([recording], pace=4.0, event_gap=0.005, **kwargs))
        contexts.append(context)
        return str(context.__enter__()) + "/v1"

    yield start
    for context in reversed(contexts):
        context.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


def record(base: str, output: Path, *extra: str) -> int:
    return main(
        [
            "record",
            "--base-url",
            base,
            "--model",
            "deepseek-reasoner",
            "--prompt",
            "What is the weather in Paris?",
            "-o",
            str(output),
            "--timeout",
            "5",
            *extra,
        ]
    )


def test_record_writes_a_recording_whose_replay_gives_the_same_completion(
    serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = serve(RECORDING)
    output = tmp_path / "out" / "deepseek.jsonl"
    assert record(base, output) == 0
    captured = capsys.readouterr()
    want = completion_of(RECORDING.read_bytes())

    # The text was shown, the summary and the progress line printed, the key never.
    reasoning = want.choices[0].message.reasoning_content
    assert reasoning
    assert reasoning[:40] in captured.out
    assert "--- reasoning ---" in captured.out
    assert "finish_reason: tool_calls" in captured.out
    assert f"recorded to {output}" in captured.err
    assert " bytes, " in captured.err
    assert " chunks, " in captured.err
    assert KEY not in captured.out + captured.err
    text = output.read_text()
    assert KEY not in text
    assert not list(output.parent.glob(".*.part"))

    # The recording: one exchange, the request as sent (key redacted), every read.
    recording = load_recording(output)
    assert len(recording) == 1
    exchange = recording[0]
    assert exchange.request is not None
    assert exchange.request.json == request_body(
        "deepseek-reasoner", "What is the weather in Paris?"
    )
    assert exchange.request.json["stream_options"] == {"include_usage": True}
    assert dict(exchange.request.headers)["authorization"] == REDACTED
    assert exchange.request.path == "/v1/chat/completions"
    assert exchange.status_code == 200
    assert exchange.error is None
    assert len(exchange.reads) > 1  # the network reads, each with its time
    assert [r.t for r in exchange.reads] == sorted(r.t for r in exchange.reads)
    assert exchange.body == RECORDING.read_bytes()

    # Its replay, three ways, gives the recording's own completion.
    assert completion_of(exchange.body) == want
    assert main(["replay", str(output), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["completion"] == want.to_dict()
    with (
        httpx.Client(transport=ReplayTransport(output), base_url=base) as client,
        client.stream("POST", "/chat/completions", json={}) as response,
    ):
        assert ChatStream(response).get_final_completion() == want
    with running_server(create_app([output], pace="none")) as served:
        body = {"model": "deepseek-reasoner", "stream": True}
        with (
            httpx.Client(base_url=served, timeout=10) as client,
            client.stream("POST", "/v1/chat/completions", json=body) as response,
        ):
            assert ChatStream(response).get_final_completion() == want


def test_record_of_a_gzip_stream_replays_decoded(
    serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The recorder keeps the bytes as they came over the wire, compressed; replay
    # undoes the Content-Encoding.
    output = tmp_path / "gzip.jsonl"
    assert record(serve(TEXT, fault="gzip"), output) == 0
    exchange = load_recording(output)[0]
    assert dict(exchange.headers)["content-encoding"] == "gzip"
    assert gzip.decompress(exchange.body) == TEXT.read_bytes()
    capsys.readouterr()
    assert main(["replay", str(output), "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["completion"] == completion_of(TEXT.read_bytes()).to_dict()


def test_record_refused_request_exits_2_and_keeps_the_old_file(
    serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "kept.jsonl"
    output.write_text("an older recording\n")
    assert record(serve(RECORDING, fault="auth"), output) == 2
    err = capsys.readouterr().err
    assert "HTTP 401" in err
    assert "Incorrect API key" in err
    assert "nothing recorded" in err
    assert KEY not in err
    assert output.read_text() == "an older recording\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.jsonl"]

    assert record(serve(RECORDING, fault="html"), output) == 2
    assert "text/html" in capsys.readouterr().err


def test_record_without_a_server_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    # The port is closed now: the connection is refused.
    output = tmp_path / "none.jsonl"
    assert record(f"http://127.0.0.1:{port}/v1", output) == 2
    err = capsys.readouterr().err
    assert "cannot reach" in err
    assert "ConnectError" in err
    assert not output.exists()
    assert record("127.0.0.1/v1", output) == 2  # no scheme
    assert "cannot reach" in capsys.readouterr().err


def test_record_keeps_a_stream_that_broke_off_and_exits_1(
    serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "reset.jsonl"
    assert record(serve(TEXT, fault="reset"), output) == 1
    err = capsys.readouterr().err
    assert "StreamInterruptedError" in err
    assert "(incomplete)" in err
    exchange = load_recording(output)[0]
    assert exchange.error is not None
    assert exchange.error.type == "RemoteProtocolError"


def test_record_without_a_key_sends_no_authorization(
    serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    output = tmp_path / "nokey.jsonl"
    assert record(serve(RECORDING), output) == 0
    assert "$OPENAI_API_KEY is not set" in capsys.readouterr().err
    exchange = load_recording(output)[0]
    assert exchange.request is not None
    assert "authorization" not in dict(exchange.request.headers)


def test_record_rejects_an_sse_output_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert record("http://127.0.0.1:9/v1", tmp_path / "out.sse") == 2
    assert "name it .jsonl" in capsys.readouterr().err


RESPONSES = FIXTURES / "responses" / "fantasy-openai-gpt-5-reasoning-summary-function-call.sse"


def test_record_of_a_responses_stream(
    serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--api responses``: POST /responses, the events printed by the chat printer, the
    recording replaying to the recording's own response."""
    base = serve(RESPONSES)
    output = tmp_path / "responses.jsonl"
    assert record(base, output, "--api", "responses") == 0
    captured = capsys.readouterr()
    want = ResponseStream([RESPONSES.read_bytes()]).get_final_response()
    call = next(item for item in want.output if item.type == "function_call")
    assert "--- reasoning ---" in captured.out
    assert f"--- tool call 0: {call.name} id={call.call_id} ---" in captured.out
    assert f"output 1: function_call {call.name}" in captured.out
    assert "terminal event: response.completed  interrupted: no" in captured.out
    assert f"recorded to {output}" in captured.err
    assert KEY not in captured.out + captured.err + output.read_text()

    (exchange,) = load_recording(output)
    assert exchange.request is not None
    assert exchange.request.path == "/v1/responses"
    assert exchange.request.json == request_body(
        "deepseek-reasoner", "What is the weather in Paris?", "responses"
    )
    assert exchange.body == RESPONSES.read_bytes()
    assert main(["replay", str(output), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["response"] == want.to_dict()
