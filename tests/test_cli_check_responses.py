"""``ssestream check --api responses`` (issue 13): the same probe and verdicts for an
endpoint's Responses API streaming (``POST /v1/responses``), against ``serve`` over
loopback with a real Responses recording, healthy and with each fault that applies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ssestream import ResponseStream
from ssestream.check import analyse, probe
from ssestream.cli import main
from ssestream.testing import FAULTS, create_app, running_server

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

DATA = Path(__file__).parents[1] / "src" / "ssestream" / "_data"
RECORDING = DATA / "openai-responses-gpt-5-reasoning-tool.sse"  # 94 events
ERROR = DATA / "openai-responses-error.sse"  # an `error` event after response.created
EVENT_GAP = 0.01
FIRST_TOKEN_DELAY = 0.5
SLOW_FIRST_TOKEN = 0.25

# fault -> (problem codes, exit status): every fault, in its Responses form where it
# writes into the stream (a delta without "delta", no terminal event, no usage in the
# response, an `error` event and response.failed)
EXPECTED: dict[str, tuple[list[str], int]] = {
    "none": ([], 0),
    "buffer": (["buffered"], 1),
    "partial-buffer": (["partially_buffered"], 1),
    "gzip": (["compressed"], 1),
    "not-streamed": (["not_streamed"], 1),
    "malformed": (["malformed_chunks"], 1),
    "no-done": (["missing_terminal_event"], 1),
    "no-usage": (["missing_usage"], 1),
    "slow-first-token": (["slow_first_token"], 1),
    "error-in-stream": (["error_in_stream"], 1),
    "html": (["wrong_base_url"], 2),
    "429": (["rate_limited"], 2),
    "500": (["server_error"], 2),
    "502": (["server_error"], 2),
    "auth": (["auth_failed"], 2),
    "cut": (["missing_terminal_event"], 1),
    "reset": (["interrupted"], 1),
    "stall": (["stalled"], 1),
    "no-content-type": (["bad_content_type"], 1),
}


def test_every_fault_has_its_responses_verdict() -> None:
    assert list(EXPECTED) == list(FAULTS)


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[Any] = []

    def start(fault: str = "none", recording: Path = RECORDING) -> str:
        app = create_app(
            [recording], fault=fault, event_gap=EVENT_GAP, first_token_delay=FIRST_TOKEN_DELAY
        )
        context = running_server(app)
        servers.append(context)
        return str(context.__enter__())

    yield start
    for context in reversed(servers):
        context.__exit__(None, None, None)


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    options = ["--api", "responses", "--json", "--slow-first-token", str(SLOW_FIRST_TOKEN)]
    status = main(["check", *options, *args])
    return status, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_check_responses_against_serve(
    fault: str, serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = serve(fault)
    timeout = "1" if fault == "stall" else "10"
    status, out = run_check(
        capsys, "--base-url", f"{url}/v1", "--model", "gpt-5-2025-08-07", "--timeout", timeout
    )
    codes, expected_status = EXPECTED[fault]
    assert [p["code"] for p in out["problems"]] == codes, out["problems"]
    assert status == out["exit_status"] == expected_status
    if expected_status == 2:
        return
    run = out["metrics"]["streaming"]
    assert run["api"] == "responses"
    # a JSON body is the whole response: ResponseStreamParser reads it as complete
    cut = ("cut", "reset", "stall", "malformed", "no-done", "error-in-stream")
    assert run["done"] is (fault not in cut)
    if fault == "not-streamed":
        assert run["streamed"] is False
    elif fault == "no-usage":
        assert (run["chunks"], run["finish_reason"], run["usage"]) == (94, "completed", False)
    elif run["done"]:
        assert run["chunks"] == 94  # every event of the recording
        assert run["finish_reason"] == "completed"
        assert (run["prompt_tokens"], run["completion_tokens"]) == (63, 121)
    if fault == "malformed":  # numbered from 1 like every chunk of the check
        [problem] = out["problems"]
        assert all(": event " in line and '"delta"' in line for line in problem["evidence"])
        assert run["malformed_chunks"] == 1
    if fault in ("none", "slow-first-token", "no-content-type"):
        # reasoning summary first, then the function call's arguments: the first token
        assert run["ttft_reasoning"] < run["ttft"]
        assert run["tokens_source"] == "usage"
        assert run["tokens_per_second"] > 0
        assert run["reads_with_events"] >= 40
    if fault == "slow-first-token":
        assert run["time_to_first_output"] >= FIRST_TOKEN_DELAY
    normal = out["metrics"]["non_streaming"]
    if fault == "none":
        assert normal["finish_reason"] == "completed"
        assert normal["completion_tokens"] == 121
        assert [w["code"] for w in out["warnings"]] == []


def test_an_error_event_is_reported(serve: Any) -> None:
    url = serve(recording=ERROR)
    report = analyse(probe(f"{url}/v1", "gpt-5-nano-2025-08-07", api="responses", timeout=10))
    codes = [problem.code for problem in report.problems]
    # the non-streaming answer to a stream that carried an error is a 500
    assert codes == ["server_error"]
    assert "quota" in report.problems[0].evidence[-1] or any(
        "quota" in line for line in report.problems[0].evidence
    )


def test_a_chat_endpoint_without_responses_is_reported_as_refused(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = serve(recording=DATA / "openai-gpt-5-multi-tool-turn1.sse")
    status, out = run_check(capsys, "--base-url", f"{url}/v1", "--model", "gpt-5-2025-08-07")
    assert status == 2
    [problem] = out["problems"]
    assert "Responses request" in problem["message"]


def test_the_report_shows_what_response_stream_reads(serve: Any) -> None:
    """The figures come from the same events a ResponseStream hands out."""
    url = serve()
    data = probe(f"{url}/v1", "gpt-5-2025-08-07", api="responses", timeout=10)
    record = data.streams[0]
    stream = ResponseStream([RECORDING.read_bytes()])
    events = [event.to_dict() for event in stream]
    assert [chunk.payload for chunk in record.chunks] == events
    assert record.done is True
