"""Benchmark: ReplayTransport against httpx.MockTransport serving the same reads.

Reads every byte of a big recording through ``httpx.Client(transport=...)`` with
``iter_raw()``, once with :class:`ssestream.testing.ReplayTransport` (no pacing, no
faults) and once with ``httpx.MockTransport`` handing out the very same pieces, and
prints the medians and their ratio, per run and per event. The ReplayTransport time
includes building the transport (loading is done once, outside the timing), since a
test pays for it; the planning alone is shown too.

    python benchmarks/bench_replay.py
    python benchmarks/bench_replay.py --split recorded --repeat 50 path/to/other.sse
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ssestream import SSEDecoder
from ssestream.testing import Recording, ReplayTransport, load_recording

DEFAULT = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "providers"
    / "groq-qwen3-32b-reasoning.sse"
)
URL = "https://api.example.test/v1/chat/completions"


def read_all(transport: Any) -> int:
    """Stream one response through a client and count its bytes."""
    size = 0
    with httpx.Client(transport=transport) as client, client.stream("POST", URL) as response:
        for piece in response.iter_raw():
            size += len(piece)
    return size


def replay_pieces(recording: Recording, split: Any) -> list[bytes]:
    """The pieces ReplayTransport hands out for this recording and split."""
    transport = ReplayTransport(recording, split=split)
    with httpx.Client(transport=transport) as client, client.stream("POST", URL) as response:
        return list(response.iter_raw())


def timed(function: Callable[[], Any], repeat: int) -> list[float]:
    """Run ``function`` ``repeat`` times (after one warm-up run); seconds per run."""
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument(
        "--split",
        default="64",
        help="read size in bytes, or recorded/whole/bytes/random (default: 64)",
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed runs each (default 30)")
    args = parser.parse_args()
    split: Any = int(args.split) if args.split.isdigit() else args.split

    recording = load_recording(args.recording)
    body = recording[0].body
    events = len(SSEDecoder().feed(body))
    pieces = replay_pieces(recording, split)
    assert b"".join(pieces) == body
    headers = list(recording[0].headers)

    def mock() -> int:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers=headers, content=iter(pieces))

        return read_all(httpx.MockTransport(handler))

    def replay() -> int:
        return read_all(ReplayTransport(recording, split=split))

    def plan_only() -> ReplayTransport:
        return ReplayTransport(recording, split=split)

    assert mock() == replay() == len(body)
    rows = [
        ("httpx.MockTransport", statistics.median(timed(mock, args.repeat))),
        ("ReplayTransport", statistics.median(timed(replay, args.repeat))),
        ("  of which planning", statistics.median(timed(plan_only, args.repeat))),
    ]
    print(
        f"{args.recording.name}: {len(body)} bytes, {events} events, "
        f"{len(pieces)} reads (split={args.split}), median of {args.repeat} runs"
    )
    print(f"{'':22}{'ms/run':>10}{'us/event':>10}")
    for name, seconds in rows:
        print(f"{name:22}{seconds * 1e3:10.2f}{seconds / events * 1e6:10.2f}")
    print(f"{'ratio replay / mock':22}{rows[1][1] / rows[0][1]:10.2f}x")


if __name__ == "__main__":
    main()
