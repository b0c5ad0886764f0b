"""Many concurrent chat streams over real loopback sockets: ssestream, httpx-sse, openai.

A server process replays one chat stream (OpenAI's shape: ``"usage": null`` and
``obfuscation`` on each chunk; ``ssestream.testing.create_app`` with
``pace="none"``: every event written as its own HTTP chunk, as fast as the server can;
uvicorn, via ``ssestream.testing.running_server``, on 127.0.0.1 only). The client
process opens ``--streams`` streams at once, on asyncio and on trio, and for each:

* ssestream: ``aconnect_chat`` over an ``httpx.AsyncClient``, iterated to the end
  (and again with ``SSESTREAM_SPEEDUPS=0``: JSON by the stdlib alone);
* httpx-sse + json.loads: ``aconnect_sse`` over the same client, ``json.loads`` of each
  event's data and the first choice's content kept (what a user writes by hand);
* openai SDK: ``AsyncOpenAI.chat.completions.create(stream=True)`` iterated, each chunk
  fed to ``ChatCompletionStreamState``.

Every completion is compared with the expected one (rebuilt in-process from the same
body). Each library and event loop runs in a fresh client process (after one warm-up
stream), so that one run's memory does not serve the next. Measured: the wall time, the
chunks per second of all streams together, the client's CPU time (``time.process_time``)
per chunk, and the memory per open stream, taken when every stream is open and has its
first chunk (each stream waits there until all have arrived), divided by the number of
streams: the growth of the client's resident memory since before the first connection,
and, in a second pass that stops there, the growth of tracemalloc's count of the
Python heap (which the allocator's reuse of freed memory does not blur).

The server runs in its own process so that its CPU time is not the client's; on a
2-core machine the two share the cores, so chunks per second can be the server's limit:
the client's CPU time per chunk is the figure to compare.

Run alone:  python benchmarks/bench_scale.py [--streams 1000] [--chunks 50]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_parse import headline_stream  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """This process's resident memory, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def raise_fd_limit(needed: int) -> None:
    """Raise the soft limit on open files to ``needed`` (at most the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# --------------------------------------------------------------------------- server


def serve(path: str, streams: int) -> None:
    """The server process: print the base URL, serve until stdin closes."""
    raise_fd_limit(streams + 256)
    from ssestream.testing import create_app, running_server

    app = create_app([path], pace="none")
    with running_server(app, host="127.0.0.1") as url:
        print(url, flush=True)
        sys.stdin.read()


class Server:
    """The server subprocess, as a context manager that yields its base URL."""

    def __init__(self, body: bytes, streams: int) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.path = Path(self._dir.name) / "chat.sse"
        self.path.write_bytes(body)
        self.streams = streams

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.path), "--streams", str(self.streams)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        url = self.process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            self.__exit__()
            raise RuntimeError(f"the benchmark server did not start: {url!r}")
        return url

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._dir.cleanup()


# --------------------------------------------------------------------------- clients

REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "stream": True}


async def _gather(n: int, one: Any, *, traced: bool) -> dict[str, Any]:
    """Run ``one(i, arrived)`` for i < n at once; measure the run and the open streams.

    ``arrived`` is awaited by each stream once it has its first chunk: it returns when
    every stream has one, after the memory is measured. With ``traced``, tracemalloc
    counts from the start, and the streams are cancelled once the memory is measured.
    """
    import anyio

    all_open = anyio.Event()
    count = 0
    measured: dict[str, int] = {}

    async def arrived() -> None:
        nonlocal count
        count += 1
        if count == n:
            gc.collect()
            measured["rss"] = rss()
            if traced:
                measured["traced"] = tracemalloc.get_traced_memory()[0]
                group.cancel_scope.cancel()
            all_open.set()
        await all_open.wait()

    gc.collect()
    if traced:
        tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0] if traced else 0
    rss_before = rss()
    cpu = time.process_time()
    wall = time.perf_counter()
    results: list[Any] = [None] * n

    async def run(i: int) -> None:
        results[i] = await one(i, arrived)

    async with anyio.create_task_group() as group:
        for i in range(n):
            group.start_soon(run, i)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    if traced:
        tracemalloc.stop()
    return {
        "results": results,
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_per_stream": (measured.get("rss", rss_before) - rss_before) / n,
        "traced_per_stream": (measured.get("traced", traced_before) - traced_before) / n,
    }


async def ssestream_streams(url: str, n: int, traced: bool) -> dict[str, Any]:
    import httpx

    import ssestream

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(120.0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:

        async def one(i: int, arrived: Any) -> Any:
            path = "/v1/chat/completions"
            async with ssestream.aconnect_chat(client, "POST", path, json=REQUEST) as stream:
                chunks = 0
                async for _ in stream:
                    chunks += 1
                    if chunks == 1:
                        await arrived()
                return stream.completion.to_dict(), chunks

        return await _gather(n, one, traced=traced)


async def openai_streams(url: str, n: int, traced: bool) -> dict[str, Any]:
    import httpx2
    import openai
    from openai.lib.streaming.chat import ChatCompletionStreamState

    limits = httpx2.Limits(max_connections=None, max_keepalive_connections=None)
    http = openai.DefaultAsyncHttpxClient(limits=limits, timeout=120.0)
    client = openai.AsyncOpenAI(
        api_key="benchmark", base_url=f"{url}/v1", max_retries=0, http_client=http
    )
    async with client:

        async def one(i: int, arrived: Any) -> Any:
            state = ChatCompletionStreamState()
            stream = await client.chat.completions.create(**REQUEST)
            chunks = 0
            async with stream:
                async for chunk in stream:
                    state.handle_chunk(chunk)
                    chunks += 1
                    if chunks == 1:
                        await arrived()
            return state.current_completion_snapshot, chunks

        return await _gather(n, one, traced=traced)


async def httpx_sse_streams(url: str, n: int, traced: bool) -> dict[str, Any]:
    # What a user writes with httpx-sse: json.loads each event's data, keep the text.
    import httpx
    from httpx_sse import aconnect_sse

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(120.0)
    loads = json.loads
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:

        async def one(i: int, arrived: Any) -> Any:
            path = "/v1/chat/completions"
            text = []
            chunks = 0
            async with aconnect_sse(client, "POST", path, json=REQUEST) as source:
                async for event in source.aiter_sse():
                    if event.data == "[DONE]":
                        break
                    chunk = loads(event.data)
                    chunks += 1
                    if chunks == 1:
                        await arrived()
                    if chunk["choices"]:
                        content = chunk["choices"][0]["delta"].get("content")
                        if content:
                            text.append(content)
            return "".join(text), chunks

        return await _gather(n, one, traced=traced)


def _check(library: str, results: list[Any], expected: dict[str, Any]) -> int:
    """How many completions equal the expected one (the fields both libraries give)."""
    want = expected["choices"][0]
    good = 0
    for completion, _ in results:
        if library.startswith("ssestream"):
            got = completion == expected
        elif library == "httpx-sse + json.loads":
            got = completion == want["message"]["content"]
        else:
            choice = completion.choices[0]
            got = (
                choice.message.content == want["message"]["content"]
                and choice.finish_reason == want["finish_reason"]
                and completion.usage is not None
                and completion.usage.total_tokens == expected["usage"]["total_tokens"]
            )
        good += bool(got)
    return good


RUNNERS = {
    "ssestream": ssestream_streams,
    "ssestream [stdlib json]": ssestream_streams,  # run with SSESTREAM_SPEEDUPS=0
    "httpx-sse + json.loads": httpx_sse_streams,
    "openai SDK": openai_streams,
}


def client(library: str, backend: str, url: str, n: int, expected_path: str) -> dict[str, Any]:
    """The client process: warm up, run ``n`` streams, then open ``n`` traced ones."""
    import anyio

    raise_fd_limit(n + 256)
    expected = json.loads(Path(expected_path).read_text())
    runner = RUNNERS[library]
    anyio.run(runner, url, 1, False, backend=backend)  # warm-up: imports, first connection
    out = anyio.run(runner, url, n, False, backend=backend)
    traced = anyio.run(runner, url, n, True, backend=backend)
    total = sum(c for _, c in out["results"])
    return {
        "library": library,
        "backend": backend,
        "streams": n,
        "correct": _check(library, out["results"], expected),
        "chunks": total,
        "wall_s": out["wall_s"],
        "chunks_per_s": total / out["wall_s"],
        "cpu_us_per_chunk": out["cpu_s"] / total * 1e6,
        "cpu_share": out["cpu_s"] / out["wall_s"],
        "rss_kib_per_stream": out["rss_per_stream"] / 1024,
        "traced_kib_per_stream": traced["traced_per_stream"] / 1024,
    }


def run_client(library: str, backend: str, url: str, n: int, expected_path: str) -> Any:
    """Run :func:`client` in a fresh process; return its result."""
    command = [sys.executable, __file__, "--client", library, "--backend", backend]
    command += ["--url", url, "--streams", str(n), "--expected", expected_path]
    env = dict(os.environ)
    if library.endswith("[stdlib json]"):
        env["SSESTREAM_SPEEDUPS"] = "0"
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    return json.loads(done.stdout)


def scale(streams: int, chunks: int, libraries: list[str], backends: list[str]) -> dict[str, Any]:
    """Run every library on every backend against one server; return the table rows."""
    import ssestream

    raise_fd_limit(streams + 256)
    body = headline_stream(chunks)  # what OpenAI sends: usage null, obfuscation
    expected = ssestream.ChatStream([body]).get_final_completion().to_dict()
    chunks_per_stream = len(list(ssestream.ChatStream([body])))
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Server(body, streams) as url:
        expected_path = str(Path(tmp) / "expected.json")
        Path(expected_path).write_text(json.dumps(expected))
        for library in libraries:
            for backend in backends:
                print(f"  {streams} streams, {library} on {backend} ...", file=sys.stderr)
                try:
                    rows.append(run_client(library, backend, url, streams, expected_path))
                except Exception as exc:  # e.g. a library that does not run on trio
                    rows.append({"library": library, "backend": backend, "error": str(exc)})
    return {
        "rows": rows,
        "streams": streams,
        "chunks_per_stream": chunks_per_stream,
        "body_bytes": len(body),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=1000, help="concurrent streams (1000)")
    parser.add_argument("--chunks", type=int, default=50, help="content chunks per stream (50)")
    parser.add_argument("--libraries", default="ssestream,openai SDK")
    parser.add_argument("--backends", default="asyncio,trio")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the server process
    parser.add_argument("--client", help=argparse.SUPPRESS)  # a client process
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--expected", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.streams)
        return 0
    if args.client:
        result = client(args.client, args.backend, args.url, args.streams, args.expected)
        print(json.dumps(result))
        return 0
    result = scale(args.streams, args.chunks, args.libraries.split(","), args.backends.split(","))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
