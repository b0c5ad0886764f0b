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

Deciding a close comparison: the day's spread of one run (47-55 µs per chunk for both
ssestream and httpx-sse) is wider than the gap between them, so :func:`scale` runs
``rounds`` interleaved rounds (3 by default): in each round every library on every event
loop runs once, in a fresh process, in an order rotated from round to round, against the
same server. A row holds the medians of its runs and the runs themselves (``runs``: the
CPU µs per chunk of each round); ``ratios`` holds, for each library and loop, its CPU per
chunk over httpx-sse + json.loads's in the same round, one ratio per round, with the
median, the least and the greatest, and a verdict: ``met`` when every round's ratio is at
most 1, ``missed`` when none is, ``undecided`` when the rounds straddle 1. The traced
(tracemalloc) pass runs in the first round only: it measures memory, not time.

User levers (``--levers``): the same comparison with uvloop as asyncio's event loop
(backend ``uvloop``, when installed), ssestream over ``httpx2`` (``ssestream [httpx2]``),
and a server that writes ``--events-per-read`` events per HTTP chunk (a server that does
not flush every token: fewer, larger reads).

Run alone:  python benchmarks/bench_scale.py [--streams 1000] [--chunks 50] [--rounds 3]
            [--libraries ...] [--backends asyncio,trio,uvloop] [--events-per-read 1] [--json]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


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


def grouped_recording(body: bytes, events_per_read: int) -> Any:
    """``body`` as a recording whose reads hold ``events_per_read`` events each: served
    with ``pace="none"``, each read is one HTTP chunk (a server that flushes every few
    tokens rather than every one)."""
    from ssestream import SSEDecoder
    from ssestream.testing import Exchange, Read, Recording

    decoder = SSEDecoder(max_line_bytes=None, max_event_bytes=None)
    ends = [end for end, _ in decoder.feed_positions(body)]
    cuts = [0, *ends[events_per_read - 1 :: events_per_read]]
    if cuts[-1] != len(body):
        cuts.append(len(body))
    # Each read at its own time (1 ms apart; pace="none" does not wait for them): an
    # exchange without any time is served as a .sse body, one read per event.
    pieces = [body[a:b] for a, b in itertools.pairwise(cuts)]
    reads = tuple(Read(t=(i + 1) / 1000, data=data) for i, data in enumerate(pieces))
    return Recording((Exchange(reads=reads, end_t=len(reads) / 1000),))


class Server:
    """The server subprocess, as a context manager that yields its base URL.

    Each event is its own HTTP chunk; with ``events_per_read`` > 1, that many events
    share one (see :func:`grouped_recording`).
    """

    def __init__(self, body: bytes, streams: int, events_per_read: int = 1) -> None:
        self._dir = tempfile.TemporaryDirectory()
        if events_per_read == 1:
            self.path = Path(self._dir.name) / "chat.sse"
            self.path.write_bytes(body)
        else:
            self.path = Path(self._dir.name) / "chat.jsonl"
            grouped_recording(body, events_per_read).dump(self.path)
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

    The time taken by measuring the memory (a full ``gc.collect()`` of the open
    streams' objects: about 1.5 µs per chunk at 1,000 streams, for every library) is
    left out of ``cpu_s`` and ``wall_s``. ``gc_s`` is the CPU time the garbage
    collector's own runs took during the streams (timed with ``gc.callbacks``).
    """
    import anyio

    all_open = anyio.Event()
    count = 0
    measured: dict[str, float] = {"cpu": 0.0, "wall": 0.0, "gc": 0.0}

    async def arrived() -> None:
        nonlocal count
        count += 1
        if count == n:
            cpu, wall, collected = time.process_time(), time.perf_counter(), measured["gc"]
            gc.collect()
            measured["rss"] = rss()
            if traced:
                measured["traced"] = tracemalloc.get_traced_memory()[0]
                group.cancel_scope.cancel()
            all_open.set()
            measured["cpu"] = time.process_time() - cpu
            measured["wall"] = time.perf_counter() - wall
            measured["gc"] = collected
        await all_open.wait()

    collecting = 0.0

    def on_gc(phase: str, info: dict[str, int]) -> None:
        nonlocal collecting
        if phase == "start":
            collecting = time.process_time()
        else:
            measured["gc"] += time.process_time() - collecting

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

    gc.callbacks.append(on_gc)
    try:
        async with anyio.create_task_group() as group:
            for i in range(n):
                group.start_soon(run, i)
    finally:
        gc.callbacks.remove(on_gc)
    wall = time.perf_counter() - wall - measured["wall"]
    cpu = time.process_time() - cpu - measured["cpu"]
    if traced:
        tracemalloc.stop()
    return {
        "results": results,
        "wall_s": wall,
        "cpu_s": cpu,
        "gc_s": measured["gc"],
        "rss_per_stream": (measured.get("rss", rss_before) - rss_before) / n,
        "traced_per_stream": (measured.get("traced", traced_before) - traced_before) / n,
    }


async def ssestream_streams(
    url: str, n: int, traced: bool, http: str = "httpx", clients: int = 1
) -> dict[str, Any]:
    """``n`` streams of ``aconnect_chat`` over ``clients`` clients of the ``http`` library
    (``httpx``, or ``httpx2``: a user lever), stream ``i`` on client ``i % clients``."""
    import importlib
    from contextlib import AsyncExitStack

    import ssestream

    httpx = importlib.import_module(http)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(120.0)
    async with AsyncExitStack() as stack:
        pool = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout)
            )
            for _ in range(clients)
        ]

        async def one(i: int, arrived: Any) -> Any:
            path = "/v1/chat/completions"
            client = pool[i % clients]
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
        elif library.startswith(RIVAL):
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


def _gc_threshold(runner: Any, threshold: int) -> Any:
    """``runner`` with the garbage collector's first threshold at ``threshold``
    (CPython's default: 700 net allocations of container objects)."""

    async def run(url: str, n: int, traced: bool) -> dict[str, Any]:
        before = gc.get_threshold()
        gc.set_threshold(threshold, *before[1:])
        try:
            return await runner(url, n, traced)  # type: ignore[no-any-return]
        finally:
            gc.set_threshold(*before)

    return run


LEVERS = {
    # What a user of ssestream can change on the client, each alone:
    # httpx2 in place of httpx,
    "ssestream [httpx2]": lambda url, n, traced: ssestream_streams(url, n, traced, "httpx2"),
    # the streams spread over 10 clients (10 connection pools of 100 connections: httpcore
    # scans its pool's connections and requests on every request and every close),
    "ssestream [10 clients]": lambda url, n, traced: ssestream_streams(url, n, traced, clients=10),
    # fewer collections of the young generation (gc.set_threshold(10_000)).
    "ssestream [gc threshold 10000]": _gc_threshold(ssestream_streams, 10_000),
    "httpx-sse + json.loads [gc threshold 10000]": _gc_threshold(httpx_sse_streams, 10_000),
}

RIVAL = "httpx-sse + json.loads"
"""The competitor of the concurrency target: ssestream's CPU per chunk at most its."""

BACKENDS: dict[str, tuple[str, dict[str, Any]]] = {
    "asyncio": ("asyncio", {}),
    "trio": ("trio", {}),
    "uvloop": ("asyncio", {"use_uvloop": True}),  # asyncio with uvloop's event loop
}


def client(
    library: str,
    backend: str,
    url: str,
    n: int,
    expected_path: str,
    *,
    traced: bool = True,
    repeat: int = 1,
    wait: bool = False,
    cprofile: str | None = None,
    gc_off: bool = False,
) -> dict[str, Any]:
    """The client process: warm up, run ``n`` streams ``repeat`` times, then (with
    ``traced``) open ``n`` traced ones.

    The figures are those of the first run; ``runs`` holds every run's. ``wait``: after
    the warm-up, print ``warm`` and wait for a line on stdin (a profiler attaches then).
    ``cprofile``: run the timed runs under :mod:`cProfile` and dump its stats there.
    ``gc_off``: no automatic garbage collection during the timed runs (for a profile
    whose samples a collection does not land in at random).
    """
    import anyio

    raise_fd_limit(n + 256)
    expected = json.loads(Path(expected_path).read_text())
    runner = {**RUNNERS, **LEVERS}[library]
    name, options = BACKENDS[backend]

    def run(streams: int, trace: bool) -> dict[str, Any]:
        return anyio.run(runner, url, streams, trace, backend=name, backend_options=options)

    run(1, False)  # warm-up: imports, first connection
    if wait:
        print("warm", flush=True)
        sys.stdin.readline()
    profile = None
    if cprofile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    if gc_off:
        gc.disable()
    outs = [run(n, False) for _ in range(repeat)]
    gc.enable()
    if profile is not None:
        profile.disable()
        profile.dump_stats(cprofile)
    runs = []
    for out in outs:
        total = sum(c for _, c in out["results"])
        runs.append(
            {
                "correct": _check(library, out["results"], expected),
                "chunks": total,
                "wall_s": out["wall_s"],
                "cpu_s": out["cpu_s"],
                "chunks_per_s": total / out["wall_s"],
                "cpu_us_per_chunk": out["cpu_s"] / total * 1e6,
                "gc_us_per_chunk": out["gc_s"] / total * 1e6,
                "cpu_share": out["cpu_s"] / out["wall_s"],
                "rss_kib_per_stream": out["rss_per_stream"] / 1024,
            }
        )
    result = {"library": library, "backend": backend, "streams": n, **runs[0], "runs": runs}
    if traced:
        result["traced_kib_per_stream"] = run(n, True)["traced_per_stream"] / 1024
    return result


def client_command(
    library: str, backend: str, url: str, n: int, expected_path: str, *extra: str
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a :func:`client` process."""
    command = [sys.executable, __file__, "--client", library, "--backend", backend]
    command += ["--url", url, "--streams", str(n), "--expected", expected_path, *extra]
    env = dict(os.environ)
    if library.endswith("[stdlib json]"):
        env["SSESTREAM_SPEEDUPS"] = "0"
    return command, env


def run_client(
    library: str, backend: str, url: str, n: int, expected_path: str, *, traced: bool = True
) -> Any:
    """Run :func:`client` in a fresh process; return its result."""
    extra = () if traced else ("--no-traced",)
    command, env = client_command(library, backend, url, n, expected_path, *extra)
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    return json.loads(done.stdout)


_FIGURES = (
    "wall_s",
    "chunks_per_s",
    "cpu_us_per_chunk",
    "gc_us_per_chunk",
    "cpu_share",
    "rss_kib_per_stream",
)


def _row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One table row from the runs of one library on one loop: the medians of the
    figures, the least number of correct streams, and the runs' CPU per chunk."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[0]
    row = dict(good[0])
    row.pop("runs", None)
    for key in _FIGURES:
        row[key] = statistics.median(r[key] for r in good)
    row["correct"] = min(r["correct"] for r in good)
    row["chunks"] = min(r["chunks"] for r in good)
    row["runs"] = [r["cpu_us_per_chunk"] for r in good]
    row["cpu_share_runs"] = [r["cpu_share"] for r in good]
    row["gc_us_per_chunk_runs"] = [r["gc_us_per_chunk"] for r in good]
    row["cpu_us_per_chunk_min"] = min(row["runs"])
    row["cpu_us_per_chunk_max"] = max(row["runs"])
    traced = [r["traced_kib_per_stream"] for r in good if "traced_kib_per_stream" in r]
    if traced:
        row["traced_kib_per_stream"] = statistics.median(traced)
    if len(good) < len(runs):
        row["failed_runs"] = len(runs) - len(good)
    return row


def _ratios(rounds: list[dict[tuple[str, str], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each library's CPU per chunk over :data:`RIVAL`'s on the same loop, round by
    round (one ratio per round in which both ran), with a verdict on ``<= 1``."""
    out = []
    keys = [key for key in rounds[0] if key[0] != RIVAL]
    for library, backend in keys:
        ratios, without_gc = [], []
        for results in rounds:
            mine, rival = results.get((library, backend)), results.get((RIVAL, backend))
            if mine and rival and "error" not in mine and "error" not in rival:
                ratios.append(mine["cpu_us_per_chunk"] / rival["cpu_us_per_chunk"])
                if "gc_us_per_chunk" in mine and "gc_us_per_chunk" in rival:
                    a = mine["cpu_us_per_chunk"] - mine["gc_us_per_chunk"]
                    without_gc.append(a / (rival["cpu_us_per_chunk"] - rival["gc_us_per_chunk"]))
        if not ratios:
            continue
        verdict = "met" if max(ratios) <= 1 else "missed" if min(ratios) > 1 else "undecided"
        out.append(
            {
                "library": library,
                "backend": backend,
                "rival": RIVAL,
                "ratios": ratios,
                "median": statistics.median(ratios),
                "min": min(ratios),
                "max": max(ratios),
                "verdict": verdict,
                # The same without the garbage collector's time: whether a full
                # collection falls within a run or not moves a run by about 5 µs per
                # chunk at 53 chunks a stream, whatever the library.
                "ratios_without_gc": without_gc,
            }
        )
    return out


def scale(
    streams: int,
    chunks: int,
    libraries: list[str],
    backends: list[str],
    rounds: int = 3,
    *,
    events_per_read: int = 1,
) -> dict[str, Any]:
    """Run every library on every backend ``rounds`` times, interleaved, against one
    server; return the table rows (medians of the rounds) and the per-round ratios.

    Each round runs every (library, backend) once, each in a fresh process, in an
    order rotated from the previous round's, so that a slow spell of the shared machine
    does not fall on one competitor only. Only the first round traces memory.
    """
    # Here, not at the top: bench_parse imports LiteLLM when installed (seconds of CPU,
    # and a thread that keeps retrying a download), which the client processes that
    # run this file must not carry.
    from bench_parse import headline_stream

    import ssestream

    raise_fd_limit(streams + 256)
    body = headline_stream(chunks)  # what OpenAI sends: usage null, obfuscation
    expected = ssestream.ChatStream([body]).get_final_completion().to_dict()
    chunks_per_stream = len(list(ssestream.ChatStream([body])))
    pairs = [(library, backend) for library in libraries for backend in backends]
    results: list[dict[tuple[str, str], dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp, Server(body, streams, events_per_read) as url:
        expected_path = str(Path(tmp) / "expected.json")
        Path(expected_path).write_text(json.dumps(expected))
        for r in range(rounds):
            shift = r * len(pairs) // rounds
            results.append({})
            for library, backend in pairs[shift:] + pairs[:shift]:
                print(
                    f"  round {r + 1}/{rounds}: {streams} streams, {library} on {backend} ...",
                    file=sys.stderr,
                )
                try:
                    result = run_client(
                        library, backend, url, streams, expected_path, traced=r == 0
                    )
                except Exception as exc:  # e.g. a library that does not run on trio
                    result = {"library": library, "backend": backend, "error": str(exc)}
                results[-1][(library, backend)] = result
    return {
        "rows": [_row([round_[pair] for round_ in results]) for pair in pairs],
        "ratios": _ratios(results),
        "rounds": rounds,
        "streams": streams,
        "chunks_per_stream": chunks_per_stream,
        "body_bytes": len(body),
        "events_per_read": events_per_read,
    }


def summary(result: dict[str, Any]) -> str:
    """The result as two Markdown tables: the rows, and the ratios to the rival."""
    lines = [
        f"{result['streams']:,} streams x {result['chunks_per_stream']} chunks, "
        f"{result['events_per_read']} event(s) per HTTP chunk, {result['rounds']} rounds; "
        "client CPU µs per chunk: median [least-greatest] (the runs in round order)",
        "",
        "| library | loop | correct | CPU µs/chunk | runs | of which GC | chunks/s "
        "| CPU share | RSS KiB/stream |",
        "|:--|:--|--:|--:|:--|--:|--:|--:|--:|",
    ]
    for row in result["rows"]:
        if "error" in row:
            lines.append(f"| {row['library']} | {row['backend']} | {row['error']} ||||||")
            continue
        runs = ", ".join(f"{x:.1f}" for x in row["runs"])
        lines.append(
            f"| {row['library']} | {row['backend']} | {row['correct']}/{row['streams']} "
            f"| {row['cpu_us_per_chunk']:.1f} [{row['cpu_us_per_chunk_min']:.1f}-"
            f"{row['cpu_us_per_chunk_max']:.1f}] | {runs} | {row['gc_us_per_chunk']:.1f} "
            f"| {row['chunks_per_s']:,.0f} "
            f"| {row['cpu_share'] * 100:.0f}% | {row['rss_kib_per_stream']:.1f} |"
        )
    lines += [
        "",
        f"| library | loop | CPU per chunk / {RIVAL}'s, same round | runs | verdict (<= 1) "
        "| without GC: median [range] |",
        "|:--|:--|--:|:--|:--|--:|",
    ]
    for ratio in result["ratios"]:
        runs = ", ".join(f"{x:.3f}" for x in ratio["ratios"])
        bare = ratio.get("ratios_without_gc") or [float("nan")]
        lines.append(
            f"| {ratio['library']} | {ratio['backend']} | {ratio['median']:.3f} "
            f"[{ratio['min']:.3f}-{ratio['max']:.3f}] | {runs} | {ratio['verdict']} "
            f"| {statistics.median(bare):.3f} [{min(bare):.3f}-{max(bare):.3f}] |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=1000, help="concurrent streams (1000)")
    parser.add_argument("--chunks", type=int, default=50, help="content chunks per stream (50)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument(
        "--libraries",
        default="ssestream,ssestream [stdlib json],httpx-sse + json.loads",
        help=f"comma-separated, of: {', '.join([*RUNNERS, *LEVERS])}",
    )
    parser.add_argument(
        "--backends", default="asyncio,trio", help=f"comma-separated, of: {', '.join(BACKENDS)}"
    )
    parser.add_argument("--events-per-read", type=int, default=1, help="events per HTTP chunk (1)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the server process
    parser.add_argument("--client", help=argparse.SUPPRESS)  # a client process
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--expected", help=argparse.SUPPRESS)
    parser.add_argument("--no-traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--wait", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cprofile", help=argparse.SUPPRESS)
    parser.add_argument("--no-gc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.streams)
        return 0
    if args.client:
        result = client(
            args.client,
            args.backend,
            args.url,
            args.streams,
            args.expected,
            traced=not args.no_traced,
            repeat=args.repeat,
            wait=args.wait,
            cprofile=args.cprofile,
            gc_off=args.no_gc,
        )
        print(json.dumps(result))
        return 0
    result = scale(
        args.streams,
        args.chunks,
        args.libraries.split(","),
        args.backends.split(","),
        args.rounds,
        events_per_read=args.events_per_read,
    )
    print(json.dumps(result, indent=2) if args.json else summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
