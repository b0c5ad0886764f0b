"""What a new user tripped on (issue 12): each is now a clear message and a status.

* out-of-range values are argparse usage errors (exit status 2), not tracebacks later;
* a file that holds no server-sent events is said to, by ``replay`` and ``serve``;
* ``record -o`` refuses to replace a device or other non-regular file, and a path under
  a regular file is an error, not a traceback;
* ``replay --json`` prints JSON Lines: one valid document per stream, with the error of
  a failed stream in it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssestream.cli import main
from ssestream.testing import Exchange, Read, RecordedRequest, Recording

DATA = Path(__file__).parents[1] / "src/ssestream/_data"
README = Path(__file__).parents[1] / "README.md"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--read-size", "0"], "--read-size: '0': expected an integer > 0"),
        (["demo", "--read-size", "x"], "--read-size: 'x' is not an integer"),
        (["demo", "--delay", "-1"], "--delay: '-1': expected a number >= 0"),
        (["replay", "f.sse", "--delay", "inf"], "--delay: 'inf': expected a number >= 0"),
        (["check", "--timeout", "-1"], "--timeout: '-1': expected a number > 0"),
        (["check", "--timeout", "nan"], "--timeout: 'nan': expected a number > 0"),
        (["check", "--max-time", "0"], "--max-time: '0': expected a number > 0"),
        (["check", "--max-tokens", "0"], "--max-tokens: '0': expected an integer > 0"),
        (["check", "--slow-first-token", "0"], "--slow-first-token: '0': expected a number > 0"),
        (["serve", "x.sse", "--port", "99999"], "--port: '99999': expected an integer from 0"),
        (["serve", "x.sse", "--port", "-1"], "--port: '-1': expected an integer from 0"),
        (["serve", "x.sse", "--event-gap", "-0.5"], "--event-gap: '-0.5': expected a number >= 0"),
        (["serve", "x.sse", "--max-request-bytes", "0"], "--max-request-bytes: '0'"),
        (["record", "--timeout", "0"], "--timeout: '0': expected a number > 0"),
    ],
)
def test_out_of_range_values_are_usage_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_replay_of_a_file_without_events_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(README)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {README}: no server-sent events found")
    assert captured.out == ""  # no "chunks: 0 ... interrupted: yes" summary


def test_replay_of_a_json_body_is_still_a_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A provider that ignored `stream: true` sends one JSON object: ChatStream reads it.
    body = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
    }
    path = tmp_path / "plain.sse"
    path.write_text(json.dumps(body))
    assert main(["replay", str(path), "--json"]) in (0, 1)
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["completion"]["choices"][0]["message"]["content"] == "hi"


def test_serve_of_a_file_without_events_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    assert main(["serve", str(README), "--port", "0"]) == 2
    assert "no server-sent events found" in capsys.readouterr().err


def test_record_refuses_a_device_and_a_path_under_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["record", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--prompt", "p"]
    assert main([*base, "-o", "/dev/null"]) == 2
    assert "/dev/null is not a regular file; refusing to replace it" in capsys.readouterr().err
    a_file = tmp_path / "file"
    a_file.write_text("kept")
    assert main([*base, "-o", str(a_file / "x.jsonl")]) == 2
    err = capsys.readouterr().err
    assert f"{a_file} is not a directory" in err
    assert "Traceback" not in err
    assert a_file.read_text() == "kept"


def test_replay_json_of_several_exchanges_is_json_lines_with_the_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chat = RecordedRequest(method="POST", url="https://api.test/v1/chat/completions")
    exchanges = [
        Exchange(request=chat, reads=(Read(t=0.0, data=(DATA / name).read_bytes()),))
        for name in ("zai-glm-4.7-flash-tool-turn1.sse", "openai-gpt-4.1-midstream-error.sse")
    ]
    path = tmp_path / "two.jsonl"
    Recording(tuple(exchanges)).dump(path)
    assert main(["replay", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    first, second = (json.loads(line) for line in captured.out.splitlines())
    assert first["exchange"] == 0
    assert first["error"] is None
    assert first["done"] is True
    assert first["completion"]["model"] == "glm-4.7-flash"
    assert second["exchange"] == 1
    assert second["error"]["type"] == "StreamAPIError"
    assert second["error"]["message"]
    assert second["chunks"] > 0  # what came before the error is kept
    assert "StreamAPIError" in captured.err


def test_the_live_panel_shows_reasoning_and_answer_apart() -> None:
    rich = pytest.importorskip("rich.console")
    import io

    from ssestream.check import Exchange, LiveObserver

    buffer = io.StringIO()
    console = rich.Console(file=buffer, force_terminal=True, width=80, color_system=None)
    observer = LiveObserver(console)
    observer.request("identity", "POST http://x/v1/chat/completions")
    observer.text("identity", "reasoning", "thinking about it")
    observer.text("identity", "reasoning", " some more")
    observer.text("identity", "content", "the answer")
    observer.response("identity", Exchange(method="POST", url="http://x", status=200), None)
    lines = [line.strip("│ ").strip() for line in buffer.getvalue().splitlines()]
    assert "reasoning: thinking about it some more" in lines
    assert "answer: the answer" in lines


BLOCK_CLI_EXTRA = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("starlette", "uvicorn", "rich"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
"""


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "from ssestream.testing import create_app\n"
            "try:\n    create_app([sys.argv[1]])\n"
            "except ModuleNotFoundError as exc:\n    print(exc.name, exc)",
            "starlette ssestream.testing.create_app needs the cli extra",
        ),
        (
            "from ssestream.cli import main\nprint(main(['serve', sys.argv[1]]))",
            "error: ssestream serve: ssestream.testing.create_app needs the cli extra",
        ),
        (
            "from ssestream.cli import main\nprint(main(['check', '--demo']))",
            "error: the report needs rich (or use --json)",
        ),
    ],
)
def test_without_the_cli_extra_the_message_names_it_and_works_from_a_clone(
    code: str, expected: str
) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            BLOCK_CLI_EXTRA + code,
            str(DATA / "deepseek-reasoner-reasoning.sse"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    output = result.stdout + result.stderr
    assert expected in output
    assert "pip install -e '.[cli]' in a clone of the repository" in output
    assert "Traceback" not in output


def test_each_command_is_imported_only_when_it_runs() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ssestream.cli import build_parser, main\n"
        "build_parser().parse_args(['check', '--demo'])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('ssestream.cli._'))\n"
        "heavy = sorted(m for m in ('httpx', 'rich', 'starlette', 'uvicorn') if m in sys.modules)\n"
        "print(loaded, heavy)\n"
        "main(['replay', sys.argv[1], '--json'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('ssestream.cli._')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(DATA / "deepseek-reasoner-reasoning.sse")],
        capture_output=True,
        text=True,
        check=True,
    )
    before, _, after = result.stdout.splitlines()
    assert before == "['ssestream.cli._args', 'ssestream.cli._parser'] []"
    assert after == (
        "['ssestream.cli._args', 'ssestream.cli._output', 'ssestream.cli._parser', "
        "'ssestream.cli._replay']"
    )


@pytest.mark.parametrize(("recording", "status"), [("tool", 0), ("error", 1)])
def test_demo_json_is_one_line_per_stream(
    recording: str, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--recording", recording, "--delay", "0", "--json"]) == status
    [line] = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["done"] is (status == 0)
    assert (record["error"] is None) is (status == 0)
    assert record["completion"]["object"] == "chat.completion"
