"""Secrets never reach the terminal: ``check`` (text and ``--json``) and ``record``.

The key comes from the environment as a careless set-up leaves it: with the ``\\r`` of a
CRLF ``.env`` file at the end (stripped: the request goes through), or with a line break
inside it (which no stripping can save: h11 refuses the header and its error message
quotes the value, which must be redacted). The base URL carries userinfo. Each run goes
over loopback to the recording server, and the output is searched for every part of the
secrets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ssestream.cli import main

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("rich")

from ssestream.testing import REDACTED, create_app, load_recording, running_server

RECORDING = Path(__file__).parents[1] / "src/ssestream/_data/zai-glm-4.7-flash-tool-turn1.sse"
KEY_PARTS = ("sk-SECRETHEAD", "SECRETTAIL")


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    app = create_app([RECORDING], pace="none")
    with running_server(app) as url:
        yield url


def with_userinfo(url: str) -> str:
    return url.replace("http://", "http://me:USERINFOSECRET@") + "/v1"


def assert_no_secret(text: str) -> None:
    for part in (*KEY_PARTS, "USERINFOSECRET"):
        assert part not in text


@pytest.mark.parametrize("key", ["sk-SECRETHEAD-SECRETTAIL\r", "sk-SECRETHEAD-SECRETTAIL\n "])
@pytest.mark.parametrize("as_json", [False, True])
def test_check_strips_a_key_with_a_line_end_and_prints_no_secret(
    base: str,
    key: str,
    as_json: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    args = ["check", "--base-url", with_userinfo(base), "--model", "glm-4.7-flash"]
    status = main([*args, "--json"] if as_json else args)
    captured = capsys.readouterr()
    assert_no_secret(captured.out + captured.err)
    assert status in (0, 1)  # the request went through: the key was stripped
    if as_json:
        report = json.loads(captured.out)
        assert report["base_url"].startswith(f"http://{REDACTED}@")
        assert not any(p["code"] == "unreachable" for p in report["problems"])


@pytest.mark.parametrize("as_json", [False, True])
def test_check_never_echoes_a_header_value_that_h11_refuses(
    base: str, as_json: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-SECRETHEAD\rSECRETTAIL")
    args = ["check", "--base-url", f"{base}/v1", "--model", "glm-4.7-flash"]
    assert main([*args, "--json"] if as_json else args) == 2
    captured = capsys.readouterr()
    assert_no_secret(captured.out + captured.err)
    assert "LocalProtocolError" in captured.out + captured.err  # the cause is still told


@pytest.mark.parametrize("key", ["sk-SECRETHEAD-SECRETTAIL\r\n", "sk-SECRETHEAD\rSECRETTAIL"])
def test_record_prints_no_secret_and_records_none(
    base: str,
    key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    output = tmp_path / "out.jsonl"
    # (userinfo makes httpx send Basic auth in place of the key: only with a good key)
    url = f"{base}/v1" if "\r" in key.strip() else with_userinfo(base)
    args: list[Any] = ["record", "--base-url", url, "--model", "glm-4.7-flash"]
    status = main([*args, "--prompt", "hi", "-o", str(output), "--timeout", "5"])
    captured = capsys.readouterr()
    assert_no_secret(captured.out + captured.err)
    if "\r" in key.strip():
        assert status == 2
        assert "LocalProtocolError" in captured.err
        assert not output.exists()
    else:
        assert status == 0
        assert_no_secret(output.read_text())
        request = load_recording(output)[0].request
        assert request is not None
        assert dict(request.headers)["authorization"] == REDACTED
        assert request.url.startswith(f"http://{REDACTED}@")
