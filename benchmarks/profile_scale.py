"""Where a chunk's CPU goes at many concurrent streams: a profile by layer.

For each library and event loop, a client process of ``bench_scale.py`` warms up, then
waits while a sampling profiler attaches; it then runs ``--streams`` concurrent streams
``--repeat`` times against the same loopback server ``bench_scale.py`` measures, and
exits. Each sample is charged to the layer of its innermost Python frame (its *self*
time: time in C called from that frame, such as the JSON scanner or a socket's
``recv``, counts for the frame that called it), and a layer's share of the samples,
times the client's CPU per chunk measured in the same runs (``time.process_time``),
gives its µs per chunk.

Layers, by the file of the innermost frame: ``ssestream``; ``httpx-sse``; ``httpx``
(and ``httpx2``); ``httpcore`` (and ``httpcore2``); ``h11``; ``anyio``; ``sockets,
selector``: ``selectors.py``, ``socket.py``, asyncio's ``selector_events.py`` /
``transports.py``, trio's ``_socket.py`` and ``_core/_io_*.py`` (the ``epoll`` call, the
``recv``/``send`` and their callbacks); ``event loop``: the rest of ``asyncio`` (or
``uvloop``) and of ``trio``; ``json``; ``user loop``: the benchmark's own code (the loop
a user writes); ``other``: everything else. A sample whose innermost frame is one of
the standard library's helpers (``contextlib`` behind httpcore's ``map_exceptions`` and
anyio's ``fail_after``, ``weakref``, ``enum``...) is charged to the layer that called
the helper. Idle samples (the loop waiting in ``epoll_wait`` with nothing ready) are
not taken, nor those of the benchmark's memory measurement, which its CPU time leaves
out too.

The garbage collector is off during the profiled runs: a collection lands in whatever
frame allocated last, and at 1,000 streams one full collection is about 5 µs per chunk
(at 53 chunks a stream), which would inflate one layer at random. ``bench_scale.py``
measures the collector's time apart (its "of which GC" column); the table here is the
CPU per chunk without it.

Profilers:

* ``py-spy`` (the default; ``pip install py-spy``): samples the running process from
  outside at ``--rate`` Hz, so it neither slows nor distorts the calls it sees. It needs
  to read the process's memory (``ptrace`` permission; run as root in a container, or
  with ``--cap-add SYS_PTRACE``).
* ``cprofile``: the standard library's deterministic profiler, aggregated by file. It
  adds a fixed cost to every Python call, so layers made of many small calls (anyio,
  the event loop, httpcore's generators) read larger than they are (about twice the
  CPU per chunk in all), and it has no stacks to charge the helpers to their callers
  (they stay in ``other``): use it only when py-spy cannot attach, and compare shares
  between runs of the same profiler.

Run:  python benchmarks/profile_scale.py [--streams 1000] [--chunks 50] [--repeat 3]
      [--libraries "ssestream,httpx-sse + json.loads"] [--backends asyncio,trio]
      [--profiler py-spy|cprofile] [--rate 250] [--events-per-read 1] [--stacks DIR]

With ``--stacks DIR`` the raw samples (one collapsed stack a line, for flame graphs)
are kept there.
"""

from __future__ import annotations

import argparse
import collections
import json
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_scale  # noqa: E402

LAYERS = (
    "ssestream",
    "httpx-sse",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "sockets, selector",
    "event loop",
    "json",
    "user loop",
    "other",
)

MEASURING = "(measuring memory)"
"""The samples of bench_scale's memory measurement (``arrived``: a full ``gc.collect()``
when every stream is open), which its CPU time leaves out: so do the layers."""

_IO_FILES = re.compile(
    r"(^|/)(selectors|socket)\.py$"
    r"|asyncio/(selector_events|transports)\.py$"
    r"|trio/(_socket|_highlevel_socket)\.py$|trio/_core/_io_\w+\.py$"
)


def layer(filename: str) -> str:
    """The layer of a frame, from its file name (as py-spy or cProfile gives it)."""
    path = filename.replace("\\", "/")
    if "httpx_sse/" in path:
        return "httpx-sse"
    if "ssestream/" in path:
        return "ssestream"
    if re.search(r"(^|/)httpx2?/", path):
        return "httpx"
    if re.search(r"(^|/)httpcore2?/", path):
        return "httpcore"
    if re.search(r"(^|/)h11/", path):
        return "h11"
    if re.search(r"(^|/)anyio/", path):
        return "anyio"
    if _IO_FILES.search(path):
        return "sockets, selector"
    if re.search(r"(^|/)(asyncio|uvloop|trio)/", path):
        return "event loop"
    if re.search(r"(^|/)json/", path):
        return "json"
    if path.endswith(("bench_scale.py", "bench_parse.py")):
        return "user loop"
    return "other"


_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(:\d+)?\)$")


def pyspy_layers(raw: str, *, helpers_to_caller: bool = True) -> collections.Counter[str]:
    """Samples per layer from py-spy's ``--format raw`` output (collapsed stacks:
    ``frame;frame;...;innermost count``, a frame being ``function (file:line)``).

    With ``helpers_to_caller``, a sample whose innermost frame is in ``other`` (the
    standard library's helpers: ``contextlib`` behind httpcore's ``map_exceptions``
    and anyio's ``fail_after``, ``weakref``, ``enum``...) is charged to the nearest
    frame below it that has a layer, the one that used the helper."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        found = "other"
        for frame in reversed(stack.split(";")):
            match = _FRAME.match(frame)
            found = layer(match["file"] if match else frame)
            if found == "user loop" and match and match["function"].endswith(".arrived"):
                found = MEASURING
            if found != "other" or not helpers_to_caller:
                break
        counts[found] += int(count)
    return counts


def cprofile_layers(path: str) -> collections.Counter[str]:
    """Self time per layer, in seconds, from a :mod:`cProfile` stats file. Built-in
    functions (``{method 'recv' ...}``) are charged to their callers' layers, in
    proportion to the time each caller spent in them, as a sampler would."""
    stats: dict[Any, Any] = pstats.Stats(path).stats  # type: ignore[attr-defined]
    counts: collections.Counter[str] = collections.Counter()
    for (filename, _, function), (_, _, tottime, _, callers) in stats.items():
        if filename != "~":
            counts[MEASURING if function == "arrived" else layer(filename)] += tottime
            continue
        spent = sum(c[3] for c in callers.values()) or 1.0  # cumulative time per caller
        for (caller_file, _, caller), c in callers.items():
            name = MEASURING if caller == "arrived" else layer(caller_file)
            counts[name] += tottime * c[3] / spent
    return counts


def profile_one(
    library: str,
    backend: str,
    url: str,
    streams: int,
    expected_path: str,
    *,
    profiler: str,
    repeat: int,
    rate: int,
    out_dir: Path,
) -> dict[str, Any]:
    """Profile one client process; return its runs and its samples per layer."""
    stem = f"{library}-{backend}".replace(" ", "_").replace("[", "").replace("]", "")
    stem = stem.replace("+", "").replace("__", "_")
    extra = ["--no-traced", "--repeat", str(repeat), "--wait", "--no-gc"]
    if profiler == "cprofile":
        extra += ["--cprofile", str(out_dir / f"{stem}.prof")]
    command, env = bench_scale.client_command(library, backend, url, streams, expected_path, *extra)
    client = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert client.stdin is not None
    assert client.stdout is not None
    if client.stdout.readline().strip() != "warm":
        client.kill()
        raise RuntimeError(f"{library} on {backend}: the client did not warm up")
    spy = None
    raw_path = out_dir / f"{stem}.txt"
    if profiler == "py-spy":
        spy_command = ["py-spy", "record", "--pid", str(client.pid), "--rate", str(rate)]
        spy = subprocess.Popen(
            [*spy_command, "--format", "raw", "--output", str(raw_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)  # py-spy attaches
        if spy.poll() is not None:
            client.kill()
            raise RuntimeError(f"py-spy could not attach: {spy.stderr.read().strip()[-300:]}")
    client.stdin.write("go\n")
    client.stdin.flush()
    result = json.loads(client.stdout.read())
    client.wait()
    if spy is not None:
        spy.wait(60)
        counts = pyspy_layers(raw_path.read_text())
    else:
        counts = cprofile_layers(str(out_dir / f"{stem}.prof"))
    return {**result, "layers": dict(counts)}


def table(results: list[dict[str, Any]], profiler: str) -> str:
    """One Markdown table: a column per library and loop, a row per layer, in µs per
    chunk (the layer's share of the samples times the runs' median CPU per chunk)."""
    heads, columns = [], []
    for result in results:
        runs = [run["cpu_us_per_chunk"] for run in result["runs"]]
        cpu = sorted(runs)[len(runs) // 2]
        total = sum(n for name, n in result["layers"].items() if name != MEASURING) or 1
        heads.append(f"{result['library']}, {result['backend']}")
        columns.append(
            {name: n / total * cpu for name, n in result["layers"].items() if name != MEASURING}
        )
        columns[-1]["total"] = cpu
        columns[-1]["samples"] = total
    lines = [
        "| layer, µs per chunk (share) | " + " | ".join(heads) + " |",
        "|:--" + "|--:" * len(heads) + "|",
    ]
    for name in (*LAYERS, "total"):
        if not any(name in c for c in columns):
            continue
        cells = []
        for column in columns:
            value = column.get(name, 0.0)
            share = "" if name == "total" else f" ({value / column['total']:.0%})"
            cells.append(f"{value:.1f}{share}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    unit = "samples" if profiler == "py-spy" else "profiled s"
    counted = " | ".join(
        f"{c['samples']:.0f}" if profiler == "py-spy" else f"{c['samples']:.2f}" for c in columns
    )
    lines.append(f"| ({unit}) | {counted} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=1000, help="concurrent streams (1000)")
    parser.add_argument("--chunks", type=int, default=50, help="content chunks per stream (50)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per client process (3)")
    parser.add_argument("--libraries", default=f"ssestream,{bench_scale.RIVAL}")
    parser.add_argument("--backends", default="asyncio,trio")
    parser.add_argument("--profiler", choices=("py-spy", "cprofile"), default="py-spy")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--events-per-read", type=int, default=1, help="events per HTTP chunk")
    parser.add_argument("--stacks", help="keep the raw samples in this directory")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.profiler == "py-spy" and shutil.which("py-spy") is None:
        parser.error("py-spy is not installed (pip install py-spy), or use --profiler cprofile")

    from bench_parse import headline_stream  # here: it imports LiteLLM when installed

    import ssestream

    bench_scale.raise_fd_limit(args.streams + 256)
    body = headline_stream(args.chunks)
    expected = ssestream.ChatStream([body]).get_final_completion().to_dict()
    chunks = len(list(ssestream.ChatStream([body])))
    results = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        bench_scale.Server(body, args.streams, args.events_per_read) as url,
    ):
        out_dir = Path(args.stacks) if args.stacks else Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        expected_path = str(Path(tmp) / "expected.json")
        Path(expected_path).write_text(json.dumps(expected))
        for library in args.libraries.split(","):
            for backend in args.backends.split(","):
                print(f"  profiling {library} on {backend} ...", file=sys.stderr)
                results.append(
                    profile_one(
                        library,
                        backend,
                        url,
                        args.streams,
                        expected_path,
                        profiler=args.profiler,
                        repeat=args.repeat,
                        rate=args.rate,
                        out_dir=out_dir,
                    )
                )
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"{args.streams:,} streams x {chunks} chunks, {args.events_per_read} "
            f"event(s) per HTTP chunk, {args.repeat} runs per process, {args.profiler}:\n"
        )
        print(table(results, args.profiler))
    return 0


if __name__ == "__main__":
    sys.exit(main())
