"""How far each layer is from the least work it must do: the full path rebuilt from an
ideal one-function loop, one real layer swapped in at a time, in µs per chunk.

The ideal path does, inline, what the full path must do for the headline stream's usual
chunk and nothing more: the WHATWG decoding of a block of one-line ``data:`` events
(UTF-8 with replacement, CR and CRLF line ends), the JSON (``raw_decode``, as
``decode_json``; msgspec with ``--speedups``), the type checks that turn a bad chunk into
a typed error, the merge (the text appended, the envelope's last values kept), one view
object for the chunk, its choice and its delta, and the user's read of the content. It
does not do what only unusual streams need (multi-line data, ``id``, ``retry``,
comments, limits, the other fields' merge rules, errors): those cost nothing on this
stream in the real layers either, beyond the tests that send a chunk elsewhere.

Then, each step adds one real layer in place of its inline twin: the SSEDecoder, the
ChatCompletionAccumulator, the real views (``chunk.choices[0].delta.content`` through
properties), the ChatStreamParser (events, the pulls, the checks for error payloads,
``stream.timings``; its own JSON: the stdlib's ``raw_decode``, or msgspec when
installed), and the ChatStream loop. The data strings go from the decoding step to the
merging step through a generator (about 50 ns a chunk, the same in the first steps).
The hand-written loop (``bench_parse.hand_loop``) is the reference. Every variant
returns the same text, checked before timing. CPU time, the variants interleaved in
each round, median of the rounds.

Run:  python benchmarks/bench_bound.py [--speedups] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from operator import countOf
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_parse as b

from ssestream import (
    ChatCompletionAccumulator,
    ChatCompletionChunk,
    ChatStream,
    SSEDecoder,
    _parser,
)

_new = object.__new__


class _View:
    """The least a view can be: one object holding its dict."""

    __slots__ = ("_data",)


def _ideal_data(reads: Iterable[bytes]) -> Iterator[str]:
    """The data of each event, decoded inline: a block of one-line ``data:`` events."""
    tail = b""
    for read in reads:
        buffer = tail + read
        cut = buffer.rfind(b"\n\n")
        if cut < 0:
            tail = buffer
            continue
        tail = buffer[cut + 2 :]
        text = buffer[: cut + 2].decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        lines.pop()
        values = lines[::2]
        if any(lines[1::2]) or not all(map(str.startswith, values, repeat("data: "))):
            raise NotImplementedError("the ideal loop takes one-line data events only")
        for line in values:
            if line[6:7] == "{":  # not [DONE]
                yield line[6:]


def _decoder_data(reads: Iterable[bytes]) -> Iterator[str]:
    """The data of each event, from the SSEDecoder."""
    feed = SSEDecoder().feed
    for read in reads:
        for event in feed(read):
            data = event[1]
            if data[:1] == "{":
                yield data


def _merged(datas: Iterable[str], loads: Callable[[str], Any]) -> str:
    """The accumulator's work on the usual chunk, the views and the read, inline."""
    parts: list[str] = []
    envelope: dict[str, Any] = {}
    out = []
    for data in datas:
        payload = loads(data)
        # The checks a typed error needs, then the merge: the text appended, the
        # envelope's last values kept (a chunk of another shape is out of scope).
        if type(payload) is not dict:
            raise ValueError("not an object")
        choices = payload.get("choices")
        if type(choices) is not list:
            raise ValueError("choices is not an array")
        if choices:
            choice = choices[0]
            if type(choice) is not dict or type(choice.get("index")) is not int:
                raise ValueError("bad choice")
            delta = choice.get("delta")
            if type(delta) is not dict:
                raise ValueError("bad delta")
            content = delta.get("content")
            if type(content) is str:
                parts.append(content)
        if countOf(payload.values(), None) == ("usage" in payload):
            envelope.update(payload)
        else:
            envelope.update({k: v for k, v in payload.items() if v is not None})
        # A view for the chunk, its choice and its delta; the user's read.
        chunk = _new(_View)
        chunk._data = payload
        if choices:
            choice_view = _new(_View)
            choice_view._data = choices[0]
            delta_view = _new(_View)
            delta_view._data = choice_view._data["delta"]
            out.append(delta_view._data.get("content"))
    return "".join(x for x in out if x)


def _accumulated(datas: Iterable[str], loads: Callable[[str], Any], views: bool) -> str:
    """The ChatCompletionAccumulator's add, then the ideal views or the real ones."""
    add = ChatCompletionAccumulator().add
    out = []
    for data in datas:
        payload = loads(data)
        add(payload)
        if views:
            chunk = ChatCompletionChunk(payload)
            if chunk.choices:
                out.append(chunk.choices[0].delta.content)
            continue
        view = _new(_View)
        view._data = payload
        choices = payload["choices"]
        if choices:
            choice_view = _new(_View)
            choice_view._data = choices[0]
            delta_view = _new(_View)
            delta_view._data = choice_view._data["delta"]
            out.append(delta_view._data.get("content"))
    return "".join(x for x in out if x)


def _parsed(reads: Iterable[bytes]) -> str:
    """The ChatStreamParser's pulls, sans-IO."""
    parser = _parser.ChatStreamParser()
    receive, pull = parser.receive_data, parser.next_chunk
    out = []
    for read in reads:
        if receive(read):
            chunk = pull()
            while type(chunk) is ChatCompletionChunk:
                if chunk.choices:
                    out.append(chunk.choices[0].delta.content)
                chunk = pull()
    return "".join(x for x in out if x)


def _streamed(reads: Iterable[bytes]) -> str:
    """The full path: a ChatStream over the reads."""
    out = []
    with ChatStream(reads) as stream:
        for chunk in stream:
            if chunk.choices:
                out.append(chunk.choices[0].delta.content)  # noqa: PERF401 - a user's loop
    return "".join(x for x in out if x)


def variants(loads: Callable[[str], Any]) -> dict[str, Callable[[list[bytes]], str]]:
    """The steps, each a function of the reads returning the text it read."""
    return {
        "hand-written loop": b.hand_loop,
        "ideal path": lambda reads: _merged(_ideal_data(reads), loads),
        "+ SSEDecoder": lambda reads: _merged(_decoder_data(reads), loads),
        "+ ChatCompletionAccumulator": lambda r: _accumulated(_decoder_data(r), loads, False),
        "+ views": lambda reads: _accumulated(_decoder_data(reads), loads, True),
        "+ ChatStreamParser": _parsed,
        "+ ChatStream (the full path)": _streamed,
    }


def measure(size: int, loads: Callable[[str], Any], rounds: int) -> list[tuple[str, float]]:
    """(step, µs per chunk) at ``size``-byte reads of the headline stream."""
    body = b.headline_stream()
    reads = [body[i : i + size] for i in range(0, len(body), size)]
    chunks = body.count(b"data: {")
    steps = variants(loads)
    expected = b.hand_loop(reads)
    for name, run in steps.items():
        if run(reads) != expected:
            raise AssertionError(f"{name} read another text")
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, run in steps.items():
            start = time.process_time()
            run(reads)
            times[name].append(time.process_time() - start)
    return [(name, statistics.median(t) / chunks * 1e6) for name, t in times.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speedups", action="store_true", help="msgspec for the JSON")
    parser.add_argument("--rounds", type=int, default=25, help="rounds (default 25)")
    args = parser.parse_args(argv)
    if args.speedups:
        from msgspec.json import Decoder

        loads: Callable[[str], Any] = Decoder().decode
    else:
        _parser._fast_loads = None  # the pure-Python default
        raw_decode = json.JSONDecoder().raw_decode

        def loads(text: str) -> Any:
            return raw_decode(text)[0]

    print(f"JSON: {'msgspec' if args.speedups else 'stdlib raw_decode'}; {args.rounds} rounds")
    for size in (4096, 64):
        rows = measure(size, loads, args.rounds)
        hand = rows[0][1]
        print(f"\n{size}-byte reads      µs/chunk  x hand loop  step")
        previous = None
        for name, us in rows:
            step = "" if previous is None else f"{us - previous:+.2f}"
            print(f"  {name:30} {us:6.2f}  {us / hand:9.2f}x  {step}")
            previous = us
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
