"""The testing toolkit under hostile input (issue 8, items 9-12 and 15).

* Redaction is deny by default: every credential-like header, query parameter and JSON
  field named in the issue, plus URL userinfo, in the recording and in what is printed.
* ``RecordingTransport`` records every exchange, even after one whose body is not valid
  Unicode, and warns instead of failing silently.
* A non-ASCII response header replays, as the exact bytes received, on httpx and httpx2
  and over ``serve``'s sockets.
* ``load_recording`` raises only :class:`RecordingFormatError` on any input (a
  Hypothesis property on any bytes and on corrupted real recordings), and ``replay`` /
  ``serve`` turn it into a message and exit status 2.
* ``serve`` bounds a request: a body over the limit gets 413 unread, a slow body 408, a
  silent or half-sent head is disconnected.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssestream._redact import (
    REDACTED,
    is_secret_field,
    is_secret_name,
    redact_headers,
    redact_json,
    redact_text,
    redact_url,
)
from ssestream.cli import main
from ssestream.testing import (
    RecordingFormatError,
    RecordingTransport,
    RecordingWarning,
    ReplayTransport,
    load_recording,
)

LIBS = {"httpx": httpx, "httpx2": httpx2}
DATA = Path(__file__).parents[1] / "src/ssestream/_data"
DEMO = DATA / "zai-glm-4.7-flash-tool-turn1.sse"
HEADER = b'{"ssestream_recording": 1}\n'
CHAT = "http://api.test/v1/chat/completions"


# --------------------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    "name",
    [
        "authorization",
        "cf-aig-authorization",
        "helicone-auth",
        "x-auth",
        "authentication",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "x-session-id",
        "x-amz-security-token",
        "x-client-secret",
        "x-amz-signature",
        "x-credential",
    ],
)
def test_credential_like_headers_are_redacted(name: str) -> None:
    assert is_secret_name(name)
    headers = [(name.upper(), "s3cret"), ("content-type", "application/json")]
    assert redact_headers(headers) == ((name, REDACTED), ("content-type", "application/json"))


@pytest.mark.parametrize("name", ["content-type", "accept", "user-agent", "x-request-id", "host"])
def test_ordinary_headers_are_kept(name: str) -> None:
    assert not is_secret_name(name)
    assert redact_headers([(name, "v")]) == ((name, "v"),)


def test_response_rate_limit_counts_are_kept_but_cookies_are_not() -> None:
    headers = [
        ("x-ratelimit-remaining-tokens", "100"),
        ("set-cookie", "session=abc"),
        ("x-session-token", "t"),
    ]
    assert redact_headers(headers, response=True) == (
        ("x-ratelimit-remaining-tokens", "100"),
        ("set-cookie", REDACTED),
        ("x-session-token", REDACTED),
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/p?sig=abc&a=1", f"https://h/p?sig={REDACTED}&a=1"),
        ("https://h/p?password=pw", f"https://h/p?password={REDACTED}"),
        ("https://h/cb?code=xyz&state=1", f"https://h/cb?code={REDACTED}&state=1"),
        ("https://h/p?key=AIza&api-version=2", f"https://h/p?key={REDACTED}&api-version=2"),
        ("http://me:SECRET@host:8/v1", f"http://{REDACTED}@host:8/v1"),
        ("http://sk-only@host/v1?x=1", f"http://{REDACTED}@host/v1?x=1"),
        ("https://h/p#access_token=t&x=1", f"https://h/p#access_token={REDACTED}&x=1"),
        ("https://h/p?a=1#frag", "https://h/p?a=1#frag"),
        ("https://h/a@b", "https://h/a@b"),  # an @ in the path is no userinfo
    ],
)
def test_url_userinfo_and_secret_parameters_are_redacted(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_secret_body_fields_are_redacted_at_any_depth_without_mutating() -> None:
    body = {
        "model": "m",
        "api_key": "sk-1",
        "max_tokens": 5,
        "max_completion_tokens": 9,
        "extra": {"apiKey": "k", "client_secret": "c", "items": [{"password": "p"}]},
        "stream_options": {"include_usage": True},
    }
    before = json.dumps(body)
    redacted = redact_json(body)
    assert json.dumps(body) == before
    assert redacted == {
        "model": "m",
        "api_key": REDACTED,
        "max_tokens": 5,
        "max_completion_tokens": 9,
        "extra": {"apiKey": REDACTED, "client_secret": REDACTED, "items": [{"password": REDACTED}]},
        "stream_options": {"include_usage": True},
    }
    assert not is_secret_field("max_tokens")
    assert is_secret_field("access_token")
    deep: Any = "leaf"
    for _ in range(5000):  # deeper than the recursion limit: redaction is iterative
        deep = [deep]
    copy = redact_json(deep)
    for _ in range(5000):
        assert isinstance(copy, list)
        assert len(copy) == 1
        copy = copy[0]
    assert copy == "leaf"


def test_error_text_loses_quoted_header_values_and_credentials() -> None:
    message = "Illegal header value b'Bearer sk-abc\\r'"
    assert "sk-abc" not in redact_text(message)
    assert redact_text("sent Bearer sk-xyz to http://u:p@h/?token=t") == (
        f"sent Bearer {REDACTED} to http://{REDACTED}@h/?token={REDACTED}"
    )
    assert redact_text("key sk-longkey\r in text", ["sk-longkey\r"]) == f"key {REDACTED} in text"


# --------------------------------------------------------------------------- recording


def _sse_handler(request: Any) -> Any:
    lib = LIBS[type(request).__module__.partition(".")[0]]
    return lib.Response(
        200,
        headers=[(b"content-type", b"text/event-stream"), (b"x-served-by", "café".encode())],
        content=iter([b"data: [DONE]\n\n"]),
    )


@pytest.mark.parametrize("lib_name", ["httpx", "httpx2"])
def test_a_body_with_a_lone_surrogate_is_recorded_with_a_warning_and_later_ones_too(
    lib_name: str, tmp_path: Path
) -> None:
    lib: ModuleType = LIBS[lib_name]
    path = tmp_path / "rec.jsonl"
    transport = RecordingTransport(lib.MockTransport(_sse_handler), path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with lib.Client(transport=transport) as client:
            bad = b'{"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}'
            client.post(CHAT, content=bad, headers={"content-type": "application/json"})
            for number in range(3):
                client.post(CHAT, json={"model": f"good-{number}"})
    assert [w.category for w in caught] == [RecordingWarning]
    assert "lone surrogate" in str(caught[0].message)
    recording = load_recording(path)
    assert len(recording) == 4
    first = recording[0].request
    assert first is not None
    assert first.json["messages"][0]["content"] == "\ufffd" * 3  # the 3 bytes of \ud800
    assert [e.request.model for e in recording[1:] if e.request] == ["good-0", "good-1", "good-2"]
    assert all(e.body == b"data: [DONE]\n\n" for e in recording)


def test_the_recorder_writes_every_credential_named_in_the_issue_redacted(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    transport = RecordingTransport(httpx.MockTransport(_sse_handler), path)
    headers = {
        "cf-aig-authorization": "Bearer cf-SECRET",
        "helicone-auth": "Bearer hc-SECRET",
        "x-auth": "x-SECRET",
        "authentication": "a-SECRET",
    }
    url = "http://me:USERINFO-SECRET@api.test/v1/chat/completions?sig=S-SECRET&password=P-SECRET&code=C-SECRET"
    with httpx.Client(transport=transport) as client:
        client.post(url, json={"model": "m", "api_key": "sk-SECRET"}, headers=headers)
    text = path.read_text()
    assert "SECRET" not in text
    request = load_recording(path)[0].request
    assert request is not None
    assert request.json == {"model": "m", "api_key": REDACTED}
    recorded = dict(request.headers)
    assert all(recorded[name] == REDACTED for name in headers)
    assert request.url == (
        f"http://{REDACTED}@api.test/v1/chat/completions"
        f"?sig={REDACTED}&password={REDACTED}&code={REDACTED}"
    )


@pytest.mark.parametrize("lib_name", ["httpx", "httpx2"])
@pytest.mark.parametrize(
    ("raw", "text"), [("café".encode(), "café"), (b"caf\xe9", "caf\udce9")], ids=["utf8", "latin1"]
)
def test_a_non_ascii_response_header_replays_as_the_bytes_received(
    lib_name: str, raw: bytes, text: str, tmp_path: Path
) -> None:
    lib: ModuleType = LIBS[lib_name]

    def handler(request: Any) -> Any:
        headers = [(b"content-type", b"text/event-stream"), (b"x-served-by", raw)]
        return lib.Response(200, headers=headers, content=iter([b"data: [DONE]\n\n"]))

    path = tmp_path / "rec.jsonl"
    with lib.Client(transport=RecordingTransport(lib.MockTransport(handler), path)) as client:
        client.post(CHAT, json={"model": "m"})
    recording = load_recording(path)
    assert ("x-served-by", text) in recording[0].headers
    for replay_lib in LIBS.values():
        with replay_lib.Client(transport=ReplayTransport(recording)) as client:
            response = client.post(CHAT, json={"model": "m"})
        assert (b"x-served-by", raw) in response.headers.raw
        assert response.content == b"data: [DONE]\n\n"


def test_a_hand_written_non_ascii_header_replays_on_both_libraries_and_over_serve() -> None:
    pytest.importorskip("starlette")
    from ssestream.testing import create_app, running_server

    line = {
        "type": "response",
        "status": 200,
        "t": 0,
        "headers": [["content-type", "text/event-stream"], ["x-served-by", "café"]],
    }
    data = (
        HEADER
        + json.dumps(line).encode()
        + b'\n{"type": "read", "t": 0, "text": "data: [DONE]\\n\\n"}\n'
    )
    recording = load_recording(data)
    for lib in LIBS.values():
        with lib.Client(transport=ReplayTransport(recording)) as client:
            assert client.post(CHAT, json={}).headers["x-served-by"] == "café"
    with running_server(create_app([recording], pace="none")) as url:
        response = httpx.post(f"{url}/v1/chat/completions", json={"stream": True})
    assert (b"x-served-by", "café".encode()) in response.headers.raw


# --------------------------------------------------------------------------- loading


BAD_RECORDINGS = {
    "type is a list": HEADER + b'{"type": []}\n',
    "type is an object": HEADER + b'{"type": {"a": 1}}\n',
    "t of 400 digits": HEADER
    + b'{"type": "response", "status": 200, "headers": [], "t": 1'
    + b"0" * 400
    + b"}\n",
    "lone surrogate escape": HEADER
    + b'{"type": "response", "status": 200, "t": 0}\n{"type": "read", "t": 0, "text": "\\ud800"}\n',
    "surrogate as UTF-8 bytes": HEADER
    + b'{"type": "response", "status": 200, "t": 0}\n'
    + b'{"type": "read", "t": 0, "text": "\xed\xa0\x80"}\n',
    "surrogate in a header": HEADER
    + b'{"type": "response", "status": 200, "t": 0, "headers": [["a", "\\ud800"]]}\n',
    "deep nesting": HEADER + b"[" * 100_000 + b"\n",
    "deep nesting in a field": HEADER + b'{"type": ' + b"[" * 100_000 + b"\n",
    "header name with a space": HEADER
    + b'{"type": "response", "status": 200, "t": 0, "headers": [["a b", "x"]]}\n',
    "header value with CRLF": HEADER
    + b'{"type": "response", "status": 200, "t": 0, "headers": [["a", "x\\r\\ny: z"]]}\n',
    "huge status": HEADER + b'{"type": "response", "status": 1' + b"0" * 5000 + b', "t": 0}\n',
    "version is a list": b'{"ssestream_recording": []}\n',
}


@pytest.mark.parametrize("data", BAD_RECORDINGS.values(), ids=BAD_RECORDINGS.keys())
def test_load_recording_raises_only_its_format_error(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(RecordingFormatError) as info:
        load_recording(data)
    assert info.value.line is not None
    path = tmp_path / "bad.jsonl"
    path.write_bytes(data)
    with pytest.raises(RecordingFormatError):
        load_recording(path)


def _load_or_format_error(data: bytes) -> None:
    with contextlib.suppress(RecordingFormatError):
        load_recording(data)


@given(st.binary(max_size=2000))
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_any_bytes_load_or_raise_the_format_error(data: bytes) -> None:
    _load_or_format_error(data)
    _load_or_format_error(HEADER + data)


def _valid_lines() -> list[bytes]:
    recording = load_recording(DEMO)
    return recording.dumps().encode().splitlines(keepends=True)[:12]


VALID_LINES = _valid_lines()
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None), max_size=8)
    | st.sampled_from(["request", "response", "read", "end", "\ud800", "text", "base64"])
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "t", "status", "headers", "text", "base64", "json", "error"])
            | st.text(max_size=4),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@st.composite
def corrupted_recordings(draw: st.DrawFn) -> bytes:
    lines = list(VALID_LINES)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["field", "line", "bytes", "drop", "swap"]))
        if kind == "field":
            try:
                obj = json.loads(lines[index])
            except ValueError:  # an earlier corruption: start from nothing
                obj = {}
            if not isinstance(obj, dict):
                obj = {}
            key = draw(st.sampled_from([*obj, "type", "t", "headers", "error"]))
            obj[key] = draw(JSON_VALUES)
            lines[index] = json.dumps(obj).encode() + b"\n"
        elif kind == "line":
            lines[index] = json.dumps(draw(JSON_VALUES)).encode() + b"\n"
        elif kind == "bytes":
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.binary(max_size=6)) + line[at:]
        elif kind == "drop":
            del lines[index]
            if not lines:
                lines = [b"\n"]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
    return b"".join(lines)


@given(corrupted_recordings())
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_a_corrupted_recording_loads_or_raises_the_format_error(data: bytes) -> None:
    _load_or_format_error(data)


@pytest.mark.parametrize("name", ["type is a list", "t of 400 digits", "lone surrogate escape"])
def test_replay_and_serve_exit_2_with_a_message_on_a_bad_recording(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(BAD_RECORDINGS[name])
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot replay {path}: {path}, line ")
    assert "Traceback" not in err
    pytest.importorskip("uvicorn")
    assert main(["serve", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}, line ")


# --------------------------------------------------------------------------- serve limits


@pytest.fixture(scope="module")
def limited() -> Iterator[tuple[str, int]]:
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    from ssestream.testing import create_app, running_server

    app = create_app([DEMO], pace="none", max_request_bytes=1000, request_timeout=0.5)
    with running_server(app, request_timeout=0.5) as url:
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


def _connect(server: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(server)
    sock.settimeout(10)  # a bound for a broken server, never reached by a working one
    return sock


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_serve_refuses_a_body_announced_over_the_limit_without_reading_it(
    limited: tuple[str, int],
) -> None:
    with _connect(limited) as sock:
        # 100 MB announced, 10 bytes sent: the answer comes at once, and the connection
        # is closed (the server did not wait for, nor buffer, the rest).
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"model":'
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in answer.lower()
    assert b"larger than this server's limit of 1000 bytes" in answer


def test_serve_refuses_a_chunked_body_once_it_passes_the_limit(limited: tuple[str, int]) -> None:
    with _connect(limited) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(3):  # 1,500 bytes, never the end of the body
            sock.sendall(b"1f4\r\n" + b"x" * 500 + b"\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_serve_answers_408_to_a_body_that_stops_coming(limited: tuple[str, int]) -> None:
    with _connect(limited) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{"
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")


@pytest.mark.parametrize("sent", [b"", b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n"])
def test_serve_closes_a_connection_that_sends_no_complete_head(
    limited: tuple[str, int], sent: bytes
) -> None:
    with _connect(limited) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        assert _read_all(sock) == b""  # closed by the server, not by the 10 s bound
        assert time.monotonic() - started < 9


def test_serve_still_answers_a_normal_request_within_the_limits(limited: tuple[str, int]) -> None:
    host, port = limited
    response = httpx.post(f"http://{host}:{port}/v1/chat/completions", json={"stream": True})
    assert response.status_code == 200
    assert response.content.endswith(b"data: [DONE]\n\n")


# --------------------------------------------------------------------------- shared helpers


@pytest.mark.parametrize("wrapped", [True, False], ids=["zlib", "raw"])
def test_a_deflate_body_is_undone_the_same_way_by_replay_and_by_the_probe(wrapped: bool) -> None:
    # Servers send "deflate" zlib-wrapped (RFC 9110) or raw (common; httpx accepts both):
    # the replay planner now uses the probe's decoder, which takes both.
    import zlib

    from ssestream._http import body_decoder, media_type
    from ssestream.testing import Exchange, Read, decoded_exchange

    body = DEMO.read_bytes()
    compressor = zlib.compressobj(wbits=zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    data = compressor.compress(body) + compressor.flush()
    exchange = Exchange(
        headers=(("content-type", "text/event-stream"), ("content-encoding", "deflate")),
        reads=(Read(t=0.0, data=data[:10]), Read(t=0.5, data=data[10:])),
    )
    decoded = decoded_exchange(exchange)
    assert decoded.body == body
    assert dict(decoded.headers) == {"content-type": "text/event-stream"}
    decoder = body_decoder("Deflate ")
    assert decoder is not None
    assert decoder.decompress(data) + decoder.flush() == body
    assert body_decoder("br") is None
    assert media_type("Text/Event-Stream; charset=utf-8") == "text/event-stream"
    assert media_type(None) == ""


def test_serve_access_log_shows_no_secret_query_parameter() -> None:
    import logging

    pytest.importorskip("starlette")
    from ssestream.testing import create_app

    create_app([DEMO])  # installs the filter on uvicorn's access logger
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "POST", "/v1/chat/completions?key=SECRETKEY&a=1", "1.1", 200),
        None,
    )
    for log_filter in logging.getLogger("uvicorn.access").filters:
        assert isinstance(log_filter, logging.Filter)
        assert log_filter.filter(record)
    assert record.getMessage() == (
        '127.0.0.1:5 - "POST /v1/chat/completions?key=REDACTED&a=1 HTTP/1.1" 200'
    )
