"""Time the typed events path against the chunk path and the openai SDK's events.

Issue 9's targets, kept by issue 14: ``stream.events()`` costs at most 1.3x iterating the
chunks of the same stream, and stays at least 10x faster than the openai SDK's
``ChatCompletionStream`` event machinery (``openai.Stream`` of ``ChatCompletionChunk``
over an ``httpx2.Response``, each chunk given to
``ChatCompletionStreamState.handle_chunk``, which builds the ``content.delta`` /
``tool_calls.function.arguments.delta`` ... events).

Competitors, on the headline (OpenAI's chunks, ``"usage": null`` and ``obfuscation`` on
each), chat (2,000 text chunks) and tool (3 calls of 600 argument fragments) streams of
``bench_parse.py``, in 64- and 4096-byte reads:

  ssestream chunks        for chunk in ChatStream(reads), then .completion
  ssestream events        for event in ChatStream(reads).events(), then .completion
  ssestream events+partial  the same, reading ``partial`` of every arguments delta
  openai events           openai.Stream + ChatCompletionStreamState.handle_chunk

Samples are CPU times of one run, rounds interleaved (``bench_parse.measure``); the
table gives medians and the ratio to ``ssestream chunks`` of the same stream and reads.

Run:  python benchmarks/bench_events.py [--rounds N] [--reads 64,4096]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_parse

import ssestream


def chunks(pieces: list[bytes]) -> Any:
    stream = ssestream.ChatStream(pieces)
    for _ in stream:
        pass
    return stream.completion


def events(pieces: list[bytes]) -> Any:
    stream = ssestream.ChatStream(pieces)
    for _ in stream.events():
        pass
    return stream.completion


def events_partial(pieces: list[bytes]) -> Any:
    stream = ssestream.ChatStream(pieces)
    arguments_delta = ssestream.ToolCallArgumentsDelta
    for event in stream.events():
        if type(event) is arguments_delta:
            event.partial  # noqa: B018 (the incremental parse is what is measured)
    return stream.completion


COMPETITORS = {
    "ssestream chunks": chunks,
    "ssestream events": events,
    "ssestream events+partial": events_partial,
    "openai events": bench_parse.openai_full,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds (default 9)")
    parser.add_argument("--reads", default="64,4096", help="read sizes in bytes")
    args = parser.parse_args(argv)
    streams = {
        "headline": bench_parse.headline_stream(),
        "chat": bench_parse.chat_stream(),
        "tool": bench_parse.tool_stream(),
    }
    print(f"{'stream':<8} {'reads':>6}  {'competitor':<26} {'median ms':>10} {'x chunks':>9}")
    for name, body in streams.items():
        for size in (int(s) for s in args.reads.split(",")):
            bodies = [bench_parse.split(body, size)]
            samples = bench_parse.measure(bodies, COMPETITORS, args.rounds)
            base = samples["ssestream chunks"].median
            for competitor, sample in samples.items():
                median = sample.median
                print(
                    f"{name:<8} {size:>6}  {competitor:<26} {median * 1e3:>10.2f}"
                    f" {median / base:>9.2f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
