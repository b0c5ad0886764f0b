"""The pytest plugin, run in throw-away projects with ``pytester``.

The plugin is found through the ``pytest11`` entry point of the installed package, as a
user's project finds it. Recording runs use a stdlib HTTP server on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

# Imported here, before any in-process pytester run: pytester removes the modules first
# imported during a run, and httpx caches httpcore's exception classes at its first
# request, so an httpcore imported inside a run would leave httpx mapping stale classes
# (httpcore errors would then escape unmapped in later tests).
import httpcore  # noqa: F401
import httpcore2  # noqa: F401
import pytest

pytest_plugins = ["pytester"]

FIXTURES = Path(__file__).parent / "fixtures"
TOOL_CALL = FIXTURES / "openai" / "parse_pydantic_tool__c6aa7e397b71.sse"
NO_DONE = FIXTURES / "providers" / "mistral-small-tool-call.sse"

# hypothesis's plugin costs seconds per in-process run (its terminal summary).
INI = "[pytest]\naddopts = -p no:cacheprovider -p no:hypothesispytest --strict-markers\n"

# A conftest for the recording runs: a loopback server that counts its hits and streams
# a body numbered by the hit, in three flushed pieces.
SERVER_CONFTEST = """
import threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import pytest

HITS = []

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        HITS.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for piece in (b"data: hit ", str(len(HITS)).encode(), b"\\n\\ndata: [DONE]\\n\\n"):
            time.sleep(0.02)
            self.wfile.write(piece)
            self.wfile.flush()

    def log_message(self, *args):
        pass

@pytest.fixture
def server_url():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield "http://127.0.0.1:%d/v1/chat/completions" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()
    thread.join()

@pytest.fixture
def hits():
    return HITS
"""

RECORDING_TEST = """
import pytest

def test_stream(sse_client, server_url, sse_record_mode, hits, request):
    with sse_client.stream("POST", server_url, json={"model": "m"},
                           headers={"authorization": "Bearer sk-1"}) as response:
        pieces = list(response.iter_raw())
    print("BODY", repr(b"".join(pieces)), "PIECES", len(pieces), "HITS", len(hits))
    if sse_record_mode == "none":
        assert hits == []
"""


def _project(pytester: pytest.Pytester, **files: str) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(**files)


def test_the_marker_replays_a_recording(pytester: pytest.Pytester) -> None:
    (pytester.path / "recordings").mkdir()
    (pytester.path / "recordings" / "tool.sse").write_bytes(TOOL_CALL.read_bytes())
    _project(
        pytester,
        test_replay=f"""
        import httpx, httpx2, pytest
        from ssestream.testing import ReplayTransport

        BODY = {TOOL_CALL.read_bytes()!r}

        @pytest.mark.sse_recording("tool.sse")
        def test_client(sse_client, sse_transport):
            assert isinstance(sse_transport, ReplayTransport)
            with sse_client.stream("POST", "https://api.openai.com/v1/chat/completions") as r:
                assert r.headers["content-type"] == "text/event-stream"
                assert r.read() == BODY

        @pytest.mark.sse_recording("tool.sse", split=10)
        def test_options_and_httpx2(sse_transport):
            with httpx2.Client(transport=sse_transport) as client:
                with client.stream("POST", "https://x.test/") as r:
                    pieces = list(r.iter_raw())
            assert b"".join(pieces) == BODY
            assert {{len(p) for p in pieces[:-1]}} == {{10}}

        @pytest.mark.sse_recording("tool.sse", cut_after_events=2, cut_with="reset")
        def test_faults(sse_client):
            with sse_client.stream("POST", "https://x.test/") as r:
                with pytest.raises(httpx.ReadError):
                    r.read()

        @pytest.mark.sse_recording("tool.sse", "tool.sse")
        def test_several_recordings_in_order(sse_client):
            for _ in range(2):
                assert sse_client.post("https://x.test/").content == BODY
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)


def test_the_async_client_fixture(pytester: pytest.Pytester) -> None:
    (pytester.path / "recordings").mkdir()
    (pytester.path / "recordings" / "tool.sse").write_bytes(TOOL_CALL.read_bytes())
    _project(
        pytester,
        test_async="""
        import httpx, pytest

        @pytest.fixture(params=["asyncio", "trio"])
        def anyio_backend(request):
            return request.param

        @pytest.mark.anyio
        @pytest.mark.sse_recording("tool.sse", split="bytes")
        async def test_async(sse_async_client):
            assert isinstance(sse_async_client, httpx.AsyncClient)
            async with sse_async_client as client:
                async with client.stream("POST", "https://x.test/") as r:
                    pieces = [p async for p in r.aiter_raw()]
            assert len(pieces) == 5264
        """,
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_missing_recording_fails_clearly_in_mode_none(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        test_missing="""
        import pytest

        @pytest.mark.sse_recording("nope.jsonl")
        def test_named(sse_client):
            pass

        def test_default_name(sse_transport):
            pass
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*recording */recordings/nope.jsonl does not exist; record it with "
            "--sse-record-mode=once (this uses the network)",
            "*recording */recordings/test_missing/test_default_name.jsonl does not exist*",
        ]
    )


def test_record_once_then_replay_without_the_network(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(SERVER_CONFTEST)
    _project(pytester, test_rec=RECORDING_TEST)
    recording = pytester.path / "recordings" / "test_rec" / "test_stream.jsonl"

    first = pytester.runpytest("--sse-record-mode=once", "-s")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["*BODY b'data: hit 1*' PIECES 3 HITS 1"])
    assert recording.exists()
    text = recording.read_text(encoding="utf-8")
    assert '["authorization", "REDACTED"]' in text
    assert "sk-1" not in text

    # The recording exists: "once" replays it, "none" (the default) too; no hit.
    for args in (["--sse-record-mode=once"], []):
        again = pytester.runpytest("-s", *args)
        again.assert_outcomes(passed=1)
        again.stdout.fnmatch_lines(["*BODY b'data: hit 1*' PIECES 3 HITS 0"])
    assert recording.read_text(encoding="utf-8") == text

    # "all" records again.
    fresh = pytester.runpytest("--sse-record-mode=all", "-s")
    fresh.assert_outcomes(passed=1)
    assert recording.read_text(encoding="utf-8") != text
    assert "data: hit " in recording.read_text(encoding="utf-8")


def test_recording_needs_one_jsonl_name(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        test_two="""
        import pytest

        @pytest.mark.sse_recording("a.jsonl", "b.jsonl")
        def test_two(sse_transport):
            pass

        @pytest.mark.sse_recording("a.sse")
        def test_sse(sse_transport):
            pass
        """,
    )
    result = pytester.runpytest("--sse-record-mode=all")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*records into one .jsonl file, but this test names*"])


def test_the_recordings_dir_is_configurable(pytester: pytest.Pytester) -> None:
    (pytester.path / "data").mkdir()
    (pytester.path / "data" / "s.sse").write_bytes(NO_DONE.read_bytes())
    pytester.makeini(INI + "sse_recordings_dir = data\n")
    pytester.makepyfile(
        test_dir="""
        import pytest

        @pytest.mark.sse_recording("s.sse")
        def test_dir(sse_client):
            assert sse_client.post("https://x.test/").content.startswith(b"data: ")
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_plugin_registers_its_marker_and_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.sse_recording(*paths, **replay_options):*"])
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--sse-record-mode={none,once,all}*"])
