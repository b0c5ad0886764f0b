"""Where a chunk's time goes: the full path's layers added one by one, in µs per chunk.

Over the headline stream (OpenAI chunks with ``"usage": null`` and ``obfuscation``), in
7-, 64-, 4096-byte reads and one event per read: the decoder alone, then
``receive_data``, the parser's pulls (JSON, accumulator, view), the stream loop,
``httpx.Response``, and reading ``chunk.choices[0].delta.content``; the hand-written
loop beside them. Then JSON, the accumulator and the chunk view alone. All of it with
the accelerator if installed, then again with the stdlib's JSON (the pure-Python
default). CPU time, median of 9 runs.

Run:  python benchmarks/bench_layers.py   (the figures of notes.md, round 2)
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_parse as b

import ssestream
from ssestream import _parser
from ssestream._accumulator import ChatCompletionAccumulator

BODY = b.headline_stream()
TEXTS = [p[6:].decode() for p in BODY.split(b"\n\n") if p.startswith(b"data: {")]
PAYLOADS = [json.loads(x) for x in TEXTS]


def per_chunk(run: Callable[[], Any], reps: int = 9) -> float:
    """µs of CPU time per chunk of the stream, median of ``reps`` runs."""
    times = []
    for _ in range(reps):
        gc.collect()
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times) / len(TEXTS) * 1e6


def layers(pieces: list[bytes]) -> dict[str, Callable[[], Any]]:
    def decoder() -> None:
        feed = ssestream.SSEDecoder().feed
        for piece in pieces:
            feed(piece)

    def receive() -> None:
        receive_data = _parser.ChatStreamParser().receive_data
        for piece in pieces:
            receive_data(piece)

    def parser() -> None:
        core = _parser.ChatStreamParser()
        for piece in pieces:
            if core.receive_data(piece):
                while core.next_chunk() not in (_parser.NEED_DATA, _parser.END):
                    pass

    def stream(source: Any, content: bool) -> None:
        chunks = ssestream.ChatStream(source)
        for chunk in chunks:
            if content and chunk.choices:
                chunk.choices[0].delta.content  # noqa: B018
        chunks.get_final_completion()

    return {
        "decoder": decoder,
        "+ receive_data": receive,
        "+ pulls": parser,
        "+ stream loop": lambda: stream(pieces, False),
        "+ httpx.Response": lambda: stream(b.httpx_response(pieces), False),
        "+ .content": lambda: stream(b.httpx_response(pieces), True),
        "hand loop": lambda: b.hand_loop(pieces),
        "hand loop (httpx)": lambda: b.hand_loop_httpx(pieces),
    }


def alone() -> dict[str, Callable[[], Any]]:
    def decode() -> None:
        for text in TEXTS:
            _parser.decode_json(text)

    def accumulate() -> None:
        add = ChatCompletionAccumulator().add
        for payload in PAYLOADS:
            add(payload)

    def view() -> None:
        make = ssestream.ChatCompletionChunk
        for payload in PAYLOADS:
            make(payload)

    return {"JSON": decode, "accumulator": accumulate, "view": view}


def main() -> int:
    accelerator = _parser._fast_loads
    for fast in (accelerator, None):
        _parser._fast_loads = fast
        shown_json = (b.ACCELERATED or "none") if fast is not None else "stdlib (pure Python)"
        print(f"JSON: {shown_json}; µs per chunk")
        for size in (7, 64, 4096, b.EVENT):
            pieces = b.split(BODY, size)
            shown = " ".join(f"{name}={per_chunk(run):.2f}" for name, run in layers(pieces).items())
            label = "one event" if size == b.EVENT else f"{size} B"
            print(f"{label}, {len(pieces) / len(TEXTS):.1f} reads per chunk: {shown}")
        print(" ".join(f"{name}={per_chunk(run):.2f}" for name, run in alone().items()))
        if fast is None:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
