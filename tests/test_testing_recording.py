"""The recording format: loading .sse bodies and .jsonl recordings, dumping, errors."""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest

import ssestream.testing
from ssestream.testing import (
    REDACTED,
    Exchange,
    Read,
    RecordedError,
    RecordedRequest,
    Recording,
    RecordingFormatError,
    _faults,
    _plan,
    _replay,
    load_recording,
)
from ssestream.testing._recording import redact_headers, redact_url

FIXTURES = Path(__file__).parent / "fixtures"
ALL_SSE = sorted(FIXTURES.glob("*/*.sse"))

HEADER = '{"ssestream_recording": 1}\n'


def test_public_names_are_sorted_and_documented() -> None:
    names = ssestream.testing.__all__
    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    # Every public module attribute is exported ("@py_*": pytest's assertion rewriting,
    # which covers every module of a distribution that registers a pytest11 plugin).
    public = {n for n in vars(ssestream.testing) if not n.startswith(("_", "@"))}
    assert set(names) == public
    module_docs = {}
    for module in (_plan, _replay, _faults):
        tree = ast.parse(inspect.getsource(module))
        for statement, following in itertools.pairwise(tree.body):
            if (
                isinstance(statement, ast.Assign)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
            ):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        module_docs[target.id] = following.value.value
    for name in names:
        obj = getattr(ssestream.testing, name)
        if typing.get_origin(obj) is not None or isinstance(obj, types.UnionType):
            assert module_docs.get(name), name  # a type alias: its attribute docstring
        elif callable(obj):
            assert obj.__doc__, name


def test_importing_the_toolkit_needs_neither_pytest_nor_httpx2() -> None:
    code = (
        "import sys, ssestream.testing; "
        "print('pytest' in sys.modules, 'httpx2' in sys.modules, 'openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


@pytest.mark.parametrize("path", ALL_SSE, ids=lambda p: p.name)
def test_an_sse_body_is_one_exchange_read_at_once(path: Path) -> None:
    recording = load_recording(path)
    assert recording.source == str(path)
    [exchange] = recording
    assert exchange.request is None
    assert exchange.status_code == 200
    assert exchange.headers == (("content-type", "text/event-stream"),)
    assert exchange.reads == (Read(t=0.0, data=path.read_bytes()),)
    assert exchange.body == path.read_bytes()
    assert exchange.error is None


@pytest.mark.parametrize("path", ALL_SSE[:8], ids=lambda p: p.name)
def test_an_sse_body_survives_dump_and_load(path: Path, tmp_path: Path) -> None:
    recording = load_recording(path)
    out = tmp_path / "r.jsonl"
    recording.dump(out)
    again = load_recording(out)
    assert again.exchanges == recording.exchanges
    assert again.dumps() == recording.dumps() == out.read_text(encoding="utf-8")


def _full_recording() -> Recording:
    """Two exchanges: every field used, reads that split a UTF-8 sequence and a CRLF."""
    body = 'data: {"content": "h\u00e9"}\r\n\r\ndata: [DONE]\r\n\r\n'.encode()
    cut = body.index(b"\xc3") + 1  # inside the two bytes of e-acute
    return Recording(
        (
            Exchange(
                request=RecordedRequest(
                    method="POST",
                    url="https://api.example.com/v1/chat/completions?api-version=1",
                    headers=(("authorization", REDACTED), ("content-type", "application/json")),
                    json={"model": "m-1", "stream": True, "max_tokens": 5},
                ),
                status_code=200,
                headers=(("content-type", "text/event-stream"), ("x-request-id", "r1")),
                response_t=0.25,
                reads=(
                    Read(t=0.3, data=body[:cut]),
                    Read(t=0.35, data=body[cut : cut + 6]),
                    Read(t=0.5, data=body[cut + 6 :]),
                ),
                end_t=0.5,
            ),
            Exchange(
                request=RecordedRequest(
                    method="POST", url="https://api.example.com/raw", content=b"\xff\x00binary"
                ),
                status_code=200,
                response_t=0.1,
                reads=(Read(t=0.2, data=b"data: 1\n\n"),),
                end_t=0.4,
                error=RecordedError(type="RemoteProtocolError", message="peer closed"),
            ),
        ),
        "<test>",
    )


def test_a_full_recording_round_trips_exactly(tmp_path: Path) -> None:
    recording = _full_recording()
    text = recording.dumps()
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0] == {"ssestream_recording": 1}
    assert [line.get("type") for line in lines[1:]] == [
        "request",
        "response",
        "read",
        "read",
        "read",
        "end",
        "request",
        "response",
        "read",
        "end",
    ]
    # The piece that splits a UTF-8 sequence is not valid UTF-8: base64. The others: text.
    assert "base64" in lines[3]
    assert "text" not in lines[3]
    assert "text" in lines[5]
    assert lines[1]["json"] == {"model": "m-1", "stream": True, "max_tokens": 5}
    assert "base64" in lines[7]  # a request body that is neither JSON nor UTF-8
    assert lines[10] == {
        "type": "end",
        "t": 0.4,
        "error": {"type": "RemoteProtocolError", "message": "peer closed"},
    }
    path = tmp_path / "full.jsonl"
    recording.dump(path)
    loaded = load_recording(path)
    assert loaded.exchanges == recording.exchanges
    assert loaded[0].request is not None
    assert loaded[0].request.model == "m-1"
    assert loaded[0].request.path == "/v1/chat/completions"
    assert RecordedRequest(method="GET", url="https://host.test?q=1").path == "/"
    assert load_recording(text.encode()).exchanges == recording.exchanges  # sniffed


def test_the_loader_accepts_hand_written_files() -> None:
    text = (
        HEADER
        + "\n"  # blank lines are ignored
        + '{"type": "response", "status": 200, "headers": [], "t": 0}\n'
        + '{"type": "read", "t": 0.1, "text": "data: x\\n\\n", "note": "extra keys ignored"}\n'
        + '{"type": "end", "t": 0.2}\n'
    )
    [exchange] = load_recording(text.encode())
    assert exchange.request is None
    assert exchange.body == b"data: x\n\n"


def test_a_recording_cut_short_keeps_its_last_exchange() -> None:
    # What RecordingTransport leaves when the process dies mid-stream: no end line.
    text = (
        HEADER
        + '{"type": "response", "status": 200, "headers": [], "t": 0.1}\n'
        + '{"type": "read", "t": 0.2, "text": "data: 1\\n\\n"}\n'
        + '{"type": "read", "t": 0.3, "text": "data: 2"}\n'
    )
    [exchange] = load_recording(text.encode())
    assert exchange.body == b"data: 1\n\ndata: 2"
    assert exchange.end_t == 0.3
    assert exchange.error is None


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", None, "empty recording"),
        ('{"type": "response"}\n', 1, "the first line must be the header"),
        ('{"ssestream_recording": 2}\n', 1, "unsupported recording version 2"),
        (HEADER + "{nope\n", 2, "not a JSON value"),
        (HEADER + "[1, 2]\n", 2, "expected a JSON object, got list"),
        (HEADER + '{"type": "chunk"}\n', 2, "unknown line type 'chunk'"),
        (HEADER + '{"type": "read", "t": 0, "text": "x"}\n', 2, "before the exchange's 'response'"),
        (HEADER + '{"type": "end", "t": 0}\n', 2, "before the exchange's 'response'"),
        (HEADER + '{"type": "response", "status": "200", "t": 0}\n', 2, "'status' is missing"),
        (HEADER + '{"type": "response", "status": 99, "t": 0}\n', 2, "not an HTTP status"),
        (HEADER + '{"type": "response", "status": 200, "t": -1}\n', 2, "'t' must be"),
        (HEADER + '{"type": "response", "status": 200, "t": NaN}\n', 2, "'t' must be"),
        (HEADER + '{"type": "response", "status": 200}\n', 2, "'t' is missing"),
        (
            HEADER + '{"type": "response", "status": 200, "t": 0, "headers": [["a"]]}\n',
            2,
            "'headers' must be a list of [name, value]",
        ),
        (
            HEADER
            + '{"type": "response", "status": 200, "t": 0.5}\n'
            + '{"type": "read", "t": 0.4, "text": "x"}\n',
            3,
            "is before the previous time 0.5",
        ),
        (
            HEADER + '{"type": "response", "status": 200, "t": 0}\n' + '{"type": "read", "t": 0}\n',
            3,
            "needs 'text' or 'base64'",
        ),
        (
            HEADER
            + '{"type": "response", "status": 200, "t": 0}\n'
            + '{"type": "read", "t": 0, "text": "a", "base64": "YQ=="}\n',
            3,
            "not both",
        ),
        (
            HEADER
            + '{"type": "response", "status": 200, "t": 0}\n'
            + '{"type": "read", "t": 0, "base64": "not base64!"}\n',
            3,
            "invalid 'base64'",
        ),
        (
            HEADER
            + '{"type": "response", "status": 200, "t": 0}\n'
            + '{"type": "end", "t": 0, "error": "boom"}\n',
            3,
            "'error' must be",
        ),
        (
            HEADER
            + '{"type": "response", "status": 200, "t": 0}\n'
            + '{"type": "response", "status": 200, "t": 0}\n',
            3,
            "inside the exchange opened at line 2, which has no 'end' line",
        ),
        (
            HEADER
            + '{"type": "request", "method": "GET", "url": "http://x/"}\n'
            + '{"type": "request", "method": "GET", "url": "http://x/"}\n',
            3,
            "after the request at line 2, which has no 'response' line",
        ),
        (
            HEADER + '{"type": "request", "method": "GET", "url": "http://x/"}\n',
            2,
            "the last request has no 'response' line",
        ),
        (
            HEADER
            + '{"type": "request", "method": "GET", "url": "http://x/"}\n'
            + '{"type": "response", "status": 200, "t": 0}\n'
            + '{"type": "response", "status": 200, "t": 0}\n',
            4,
            "a second 'response' line in one exchange",
        ),
        (
            HEADER + '{"type": "request", "method": 1, "url": "http://x/"}\n',
            2,
            "'request' line: field 'method' is missing or not a string",
        ),
    ],
)
def test_a_bad_file_names_the_file_the_line_and_the_fault(
    tmp_path: Path, text: str, line: int | None, reason: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordingFormatError) as info:
        load_recording(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.source == str(path)
    assert error.line == line
    assert reason in error.reason
    where = str(path) if line is None else f"{path}, line {line}"
    assert str(error).startswith(f"{where}: ")


def test_load_recording_rejects_text_given_as_str_content() -> None:
    with pytest.raises(FileNotFoundError):
        load_recording("data: hello\n\n")  # a str is a path; pass bytes for content
    with pytest.raises(TypeError, match="takes a path or bytes"):
        load_recording(42)  # type: ignore[arg-type]


def test_an_unknown_suffix_is_sniffed(tmp_path: Path) -> None:
    body = tmp_path / "stream.txt"
    body.write_bytes(b"data: 1\n\n")
    assert load_recording(body)[0].body == b"data: 1\n\n"
    jsonl = tmp_path / "stream.log"
    _full_recording().dump(jsonl)
    assert len(load_recording(jsonl)) == 2


def test_redaction_of_request_headers_and_query() -> None:
    headers = [
        ("Authorization", "Bearer sk-live"),
        ("api-key", "azure-secret"),
        ("X-Api-Key", "anthropic"),
        ("x-goog-api-key", "g"),
        ("Cookie", "session=1"),
        ("X-Auth-Token", "t"),
        ("x-client-secret", "s"),
        ("Content-Type", "application/json"),
        ("OpenAI-Organization", "org-1"),
    ]
    assert redact_headers(headers) == (
        ("authorization", REDACTED),
        ("api-key", REDACTED),
        ("x-api-key", REDACTED),
        ("x-goog-api-key", REDACTED),
        ("cookie", REDACTED),
        ("x-auth-token", REDACTED),
        ("x-client-secret", REDACTED),
        ("content-type", "application/json"),
        ("openai-organization", "org-1"),
    )
    # Response headers: only cookies; rate-limit headers name tokens but hold no secret.
    assert redact_headers(
        [("Set-Cookie", "__cf_bm=abc"), ("x-ratelimit-remaining-tokens", "100")], response=True
    ) == (("set-cookie", REDACTED), ("x-ratelimit-remaining-tokens", "100"))
    assert (
        redact_url("https://h/v1/x?api-version=2024-10&key=AIza&access_token=t&b=%20#frag")
        == f"https://h/v1/x?api-version=2024-10&key={REDACTED}&access_token={REDACTED}&b=%20#frag"
    )
    assert redact_url("https://h/v1/x") == "https://h/v1/x"


def test_recording_is_an_immutable_sequence() -> None:
    recording = _full_recording()
    assert len(recording) == 2
    assert list(recording) == list(recording.exchanges)
    assert recording[-1].error is not None
    assert recording[:1] == recording.exchanges[:1]
    with pytest.raises(AttributeError):
        recording[0].status_code = 500  # type: ignore[misc]
