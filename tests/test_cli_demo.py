"""``ssestream demo`` and ``replay`` print what ``stream.events()`` gives (issue 9): the
text as it streams, each tool call's name as soon as it is known, its arguments as they
fill in, and the call marked done; on every bundled recording."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ssestream import ChatStream, Response, ResponseStream, SSEStreamError
from ssestream.cli import main
from ssestream.cli._output import Printer
from ssestream.cli._parser import DEMO_RECORDINGS
from ssestream.testing import Exchange, Read, RecordedRequest, Recording

DATA = Path(__file__).parents[1] / "src/ssestream/_data"


def _completion(name: str) -> dict[str, object]:
    body = (DATA / name).read_bytes()
    stream = ChatStream([body])
    try:
        for _ in stream:
            pass
    except SSEStreamError:
        pass  # the error recording: its partial completion
    return stream.completion.to_dict()


def _sections(out: str) -> dict[str, list[str]]:
    """The printed sections (``--- name ---``) and their lines, in order."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        if line.startswith("--- ") and line.endswith(" ---"):
            current = sections.setdefault(line[4:-4], [])
        else:
            current.append(line)
    return sections


def test_parallel_tools_fill_in_live(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--recording", "parallel-tools", "--delay", "0"]) == 0
    sections = _sections(capsys.readouterr().out)
    [message] = [c["message"] for c in _completion(DEMO_RECORDINGS["parallel-tools"])["choices"]]
    calls = message["tool_calls"]  # type: ignore[index]
    assert len(calls) == 2
    for number, call in enumerate(calls):
        # the name and id are in the header, shown before any argument
        lines = sections[f"tool call {number}: {call['function']['name']} id={call['id']}"]
        *states, done = lines
        final = json.loads(call["function"]["arguments"])
        assert done == "done: " + json.dumps(final, separators=(", ", ": "))
        assert len(set(states)) == len(states)  # a line per new state, none repeated
        partials = [json.loads(state) for state in states]
        assert partials[-1] == final
        assert len(partials) >= 3  # several partial states before the final arguments
        for partial in partials[:-1]:  # each agrees with the final value on what it shows
            assert partial != final
            assert all(final[key] == value for key, value in partial.items())


CHAT_DEMOS = sorted(name for name in DEMO_RECORDINGS if not name.startswith("responses"))


@pytest.mark.parametrize("recording", CHAT_DEMOS)
def test_demo_prints_the_rebuilt_text_and_calls(
    recording: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["demo", "--recording", recording, "--delay", "0", "--read-size", "7"])
    out, err = capsys.readouterr()
    completion = _completion(DEMO_RECORDINGS[recording])
    [choice] = completion["choices"]  # type: ignore[misc]
    message = choice["message"]
    sections = _sections(out)
    assert "\n".join(sections.get("answer", [])) == (message["content"] or "")
    reasoning = message.get("reasoning_content") or ""
    assert "\n".join(sections.get("reasoning", [])) == reasoning
    for number, call in enumerate(message.get("tool_calls") or []):
        header = f"tool call {number}: {call['function']['name']} id={call['id']}"
        assert sections[header][-1].startswith("done: ")
    assert status == (1 if recording == "error" else 0)
    assert ("StreamAPIError" in err) is (recording == "error")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _screen(text: str) -> list[str]:
    """What a terminal shows: ``\\r`` returns to the line's start, ``ESC [K`` clears it."""
    return [line.rsplit("\r\x1b[K", 1)[-1] for line in text.split("\n")]


def test_a_terminal_sees_the_arguments_rewritten_in_place() -> None:
    body = (DATA / DEMO_RECORDINGS["parallel-tools"]).read_bytes()
    out = _Terminal()
    printer = Printer(out)
    for event in ChatStream([body[i : i + 16] for i in range(0, len(body), 16)]).events():
        printer.event(event)
    printer.end()
    written = out.getvalue()
    assert written.count("\r\x1b[K") == 4  # two rewrites per call: {} -> {a} -> {a, b}
    assert _screen(written) == [
        "--- tool call 0: add id=call_8ElDxJj6u7IUDEwQIrwFbveM ---",
        '{"a": 2, "b": 3}',
        'done: {"a": 2, "b": 3}',
        "--- tool call 1: multiply id=call_HEZOX3JzspqFubADMNdWn12E ---",
        '{"a": 2, "b": 3}',
        'done: {"a": 2, "b": 3}',
        "",
    ]


def test_python_dash_m_demo_runs() -> None:
    """The README's first command."""
    result = subprocess.run(
        [sys.executable, "-m", "ssestream", "demo", "--delay", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--- tool call 0: weather id=" in result.stdout
    assert 'done: {"location": "Florence,Italy"}' in result.stdout
    assert "done ([DONE] received): yes  interrupted: no" in result.stdout


# --------------------------------------------------------------------------- Responses

RESPONSES = sorted((Path(__file__).parent / "fixtures/responses").glob("*.sse"))


def _response(path: Path) -> tuple[Response, str | None, bool]:
    """The rebuilt response, the error's type name (or None), and ``interrupted``."""
    stream = ResponseStream([path.read_bytes()])
    try:
        for _ in stream:
            pass
    except SSEStreamError as exc:
        return stream.snapshot, type(exc).__name__, stream.interrupted
    return stream.snapshot, None, stream.interrupted


@pytest.mark.parametrize("path", RESPONSES, ids=lambda p: p.stem)
def test_replay_recognises_a_responses_stream(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["replay", str(path), "--read-size", "13"])
    out, err = capsys.readouterr()
    response, error, interrupted = _response(path)
    sections = _sections(out)
    # the output text printed as it streamed is the rebuilt response's
    assert "\n".join(sections.get("answer", [])) == response.output_text
    result = sections["result"]
    assert result[0].startswith(f"id: {response.id}  model: {response.model}  events: ")
    assert any(line.startswith(f"status: {response.status}") for line in result)
    calls = [i for i in response.output if i.type in ("function_call", "custom_tool_call")]
    for number, item in enumerate(response.output):
        assert any(line.startswith(f"output {number}: {item.type}") for line in result)
    for number, item in enumerate(calls):  # shown live as a chat tool call, then done
        header = f"tool call {number}: {item.name} id={item.call_id}"
        assert sections[header][-1].startswith(("done: ", "incomplete: "))
    assert ("error: " in err) is (error is not None)
    assert status == (1 if error is not None or interrupted else 0)


def test_responses_demo_fills_in_the_function_call(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--recording", "responses", "--delay", "0"]) == 0
    sections = _sections(capsys.readouterr().out)
    [header] = [name for name in sections if name.startswith("tool call 0: weather id=")]
    *states, done = sections[header]
    assert done == 'done: {"location": "Florence, Italy"}'
    partials = [json.loads(state) for state in states]
    assert partials[-1] == {"location": "Florence, Italy"}
    assert len(partials) >= 4  # the location string grows: "", "Flor", "Florence"...
    assert all("Florence, Italy".startswith(p.get("location", "")) for p in partials)
    assert sections["reasoning"][0] == "**Getting weather info**"
    assert "terminal event: response.completed  interrupted: no" in sections["result"]


@pytest.mark.parametrize(("recording", "status"), [("responses-text", 0), ("responses-error", 1)])
def test_responses_demo_json(
    recording: str, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--recording", recording, "--delay", "0", "--json"]) == status
    [line] = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    response, error, _ = _response(DATA / DEMO_RECORDINGS[recording])
    assert record["response"] == response.to_dict()
    assert record["interrupted"] is (status == 1)
    assert (record["error"] or {}).get("type") == error
    # The error recording is OpenAI's error event then response.failed, folded into it.
    assert record["terminal_event"] == ("response.completed" if status == 0 else "response.failed")


def test_replay_of_a_recording_with_chat_and_responses_exchanges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each exchange goes through the reader of its API, chosen by the recorded path."""
    chat = RecordedRequest(method="POST", url="https://api.test/v1/chat/completions")
    responses = RecordedRequest(method="POST", url="https://api.test/v1/responses")
    models = RecordedRequest(method="GET", url="https://api.test/v1/models")
    body = (DATA / DEMO_RECORDINGS["parallel-tools"]).read_bytes()
    responses_body = (DATA / DEMO_RECORDINGS["responses-text"]).read_bytes()
    exchanges = (
        Exchange(request=models, reads=(Read(t=0.0, data=b'{"data": []}'),)),
        Exchange(request=responses, reads=(Read(t=0.0, data=responses_body),)),
        Exchange(request=chat, reads=(Read(t=0.0, data=body),)),
    )
    path = tmp_path / "mixed.jsonl"
    Recording(exchanges).dump(path)
    assert main(["replay", str(path), "--json"]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    response, _, _ = _response(DATA / DEMO_RECORDINGS["responses-text"])
    assert first["exchange"] == 0
    assert first["response"] == response.to_dict()
    assert first["terminal_event"] == "response.completed"
    assert second["exchange"] == 1
    assert second["completion"] == _completion(DEMO_RECORDINGS["parallel-tools"])
