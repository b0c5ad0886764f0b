"""Time the path from SSE bytes to chunks to a rebuilt completion, against the competitors.

Every competitor reads the same bytes, split into the same reads, in one run; rounds are
interleaved (each round runs every competitor once, in a rotating order) so that load on
this shared machine hits them alike. Reported: the median time per run, and its ratio to
the floor.

Competitors:
  floor            json.loads of each payload alone, after splitting the body on blank lines
  httpx-sse+json   httpx_sse.EventSource over an httpx.Response, then json.loads
  openai decoder   the openai SDK's SSEDecoder alone (openai._streaming.SSEDecoder)
  openai full      openai.Stream of ChatCompletionChunk over an httpx2.Response, fed to
                   openai.lib.streaming.chat.ChatCompletionStreamState
  ssestream decoder            ssestream.SSEDecoder.feed over the reads
  ssestream decoder+chunks     ssestream.iter_events + json.loads + ChatCompletionChunk
  ssestream full               ssestream.ChatStream over an httpx.Response, then .completion

Run:  python benchmarks/bench_parse.py [--rounds N] [--reads 64,4096] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

import ssestream

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

# --------------------------------------------------------------------------- streams


def _frame(chunks: list[dict[str, Any]], *, done: bool = True) -> bytes:
    body = b"".join(
        b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n" for chunk in chunks
    )
    return body + (b"data: [DONE]\n\n" if done else b"")


def chat_stream(n: int = 2000) -> bytes:
    """A realistic OpenAI chat stream: role first, n content chunks, finish, usage, [DONE]."""
    base = {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion.chunk",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "service_tier": "default",
        "system_fingerprint": "fp_eb9dce56a8",
    }
    words = [" The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."]
    chunks = [
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "", "refusal": None},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        }
    ]
    chunks += [
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": words[i % 10]},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        }
        for i in range(n)
    ]
    chunks.append(
        {**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]}
    )
    chunks.append(
        {
            **base,
            "choices": [],
            "usage": {"prompt_tokens": 25, "completion_tokens": n, "total_tokens": n + 25},
        }
    )
    return _frame(chunks)


def tool_stream(calls: int = 3, fragments: int = 600) -> bytes:
    """Parallel tool calls whose arguments arrive in many fragments, interleaved by index."""
    base = {
        "id": "chatcmpl-tool",
        "object": "chat.completion.chunk",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_eb9dce56a8",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": None})]
    for call in range(calls):
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": call,
                            "id": f"call_{call:024d}",
                            "type": "function",
                            "function": {"name": f"lookup_{call}", "arguments": ""},
                        }
                    ]
                }
            )
        )
        for i in range(fragments):
            fragment = '{"q": "' if i == 0 else ('"}' if i == fragments - 1 else f"w{i} ")
            chunks.append(
                chunk({"tool_calls": [{"index": call, "function": {"arguments": fragment}}]})
            )
    chunks.append(chunk({}, "tool_calls"))
    return _frame(chunks)


def recordings() -> list[bytes]:
    """The real provider recordings that every competitor can read, each its own body.

    The openai SDK's accumulator fails on some providers' quirks (a tool call at index 1
    with no index 0, Mistral's list content): those files are left out, and named.
    """
    bodies = []
    for path in sorted((FIXTURES / "providers").glob("*.sse")):
        body = path.read_bytes()
        try:
            for competitor in COMPETITORS.values():
                competitor([body])
        except Exception as exc:
            failed = f"{type(exc).__name__} in {competitor.__name__}"
            print(f"  (real recordings: {path.name} left out: {failed})")
            continue
        bodies.append(body)
    return bodies


STREAMS: dict[str, Callable[[], list[bytes]]] = {
    "chat (2000 chunks)": lambda: [chat_stream()],
    "tool (3x600 fragments)": lambda: [tool_stream()],
    "real provider recordings": recordings,
}

# --------------------------------------------------------------------------- competitors


def split(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


class _Pieces(httpx.SyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.pieces)


def httpx_response(pieces: list[bytes]) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=_Pieces(pieces)
    )


def floor(pieces: list[bytes]) -> Any:
    loads = json.loads
    body = b"".join(pieces)
    return [loads(part[6:]) for part in body.split(b"\n\n") if part.startswith(b"data: {")]


def httpx_sse_json(pieces: list[bytes]) -> Any:
    from httpx_sse import EventSource

    loads = json.loads
    events = EventSource(httpx_response(pieces)).iter_sse()
    return [loads(event.data) for event in events if event.data != "[DONE]"]


def openai_decoder(pieces: list[bytes]) -> Any:
    from openai._streaming import SSEDecoder

    return list(SSEDecoder().iter_bytes(iter(pieces)))


def openai_full(pieces: list[bytes]) -> Any:
    import httpx2
    import openai
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    class Pieces2(httpx2.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            return iter(pieces)

    response = httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=Pieces2())
    state = ChatCompletionStreamState()
    stream = openai.Stream(cast_to=ChatCompletionChunk, response=response, client=_openai_client())
    for chunk in stream:
        state.handle_chunk(chunk)
    return state.current_completion_snapshot


_CLIENT: Any = None


def _openai_client() -> Any:
    global _CLIENT
    if _CLIENT is None:
        import openai

        _CLIENT = openai.OpenAI(api_key="benchmark", base_url="http://127.0.0.1:1/v1")
    return _CLIENT


def ss_decoder(pieces: list[bytes]) -> Any:
    decoder = ssestream.SSEDecoder()
    feed = decoder.feed
    out = []
    for piece in pieces:
        out += feed(piece)
    return out


def ss_decoder_chunks(pieces: list[bytes]) -> Any:
    loads = json.loads
    chunk = ssestream.ChatCompletionChunk
    return [chunk(loads(e.data)) for e in ssestream.iter_events(pieces) if e.data != "[DONE]"]


def ss_full(pieces: list[bytes]) -> Any:
    stream = ssestream.ChatStream(httpx_response(pieces))
    for _ in stream:
        pass
    return stream.completion


COMPETITORS: dict[str, Callable[[list[bytes]], Any]] = {
    "floor (json.loads)": floor,
    "httpx-sse + json.loads": httpx_sse_json,
    "openai SDK decoder": openai_decoder,
    "openai SDK full path": openai_full,
    "ssestream decoder": ss_decoder,
    "ssestream decoder + chunks": ss_decoder_chunks,
    "ssestream full path": ss_full,
}

# --------------------------------------------------------------------------- harness


def measure(
    bodies: list[list[bytes]], competitors: dict[str, Callable[[list[bytes]], Any]], rounds: int
) -> dict[str, float]:
    """Median seconds per run (reading every body once), rounds interleaved and rotated."""
    names = list(competitors)
    for name in names:  # warm up: imports, caches
        for pieces in bodies:
            competitors[name](pieces)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            competitor = competitors[name]
            start = time.perf_counter()
            for pieces in bodies:
                competitor(pieces)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version(), "machine": platform.machine()}
    for dist in ("ssestream", "openai", "httpx", "httpx2", "httpx-sse"):
        out[dist] = version(dist)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--reads", default="64,4096", help="read sizes in bytes (default 64,4096)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    read_sizes = [int(size) for size in args.reads.split(",")]
    print("versions:", ", ".join(f"{k} {v}" for k, v in versions().items()))
    results = []
    for stream_name, make in STREAMS.items():
        bodies = make()
        total = sum(len(body) for body in bodies)
        for size in read_sizes:
            split_bodies = [split(body, size) for body in bodies]
            reads = sum(len(pieces) for pieces in split_bodies)
            medians = measure(split_bodies, COMPETITORS, args.rounds)
            floor_time = medians["floor (json.loads)"]
            print(f"\n{stream_name}, {total} bytes in {size}-byte reads ({reads} reads)")
            print(f"  {'competitor':30} {'median ms':>10} {'x floor':>8}")
            for name, seconds in medians.items():
                print(f"  {name:30} {seconds * 1000:10.2f} {seconds / floor_time:8.2f}")
                results.append(
                    {
                        "stream": stream_name,
                        "read_bytes": size,
                        "competitor": name,
                        "median_s": seconds,
                        "ratio_to_floor": seconds / floor_time,
                    }
                )
    if args.json:
        args.json.write_text(json.dumps({"versions": versions(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
