"""Partial JSON of tool-call arguments: linear work, against re-parsing with jiter per delta.

A tool call's arguments of 5, 20 and 80 KB are fed in 8-character deltas (ASCII, so 8
bytes), and the value so far is read after each delta, as the events layer does. Three
shapes of arguments:

  objects      {"items": [{"id": .., "name": .., "tags": [..], "ok": true}, ...]}
               (structured output: many small values)
  long string  {"path": "notes.txt", "content": "<the whole size as one string>"}
               (a file written by a tool: every read must build the string so far)
  nested       a tree of objects 6 deep with strings, numbers and literals at each level

Readers:

  PartialJSONParser.value     feed, then the live value (O(1) + the open string's join)
  PartialJSONParser.snapshot  feed, then a copy of the open containers only
  jiter re-parse per delta    jiter.from_json(all bytes so far, partial_mode=
                              "trailing-strings") at each delta (what the openai SDK does)
  json.loads once             the whole text parsed once at the end (the floor: no
                              partial values at all)

Reported: the CPU time (``time.process_time``, best of ``--rounds``) of one whole
argument, the time per delta, and the exponent of a log-log fit of time against size
(1 = linear, 2 = quadratic; the target of issue 9 is at most 1.1).

Run alone:  python benchmarks/bench_partial_json.py [--rounds 5] [--sizes 5,20,80]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from ssestream import PartialJSONParser

try:
    import jiter
except ImportError:  # pragma: no cover - jiter is a test dependency
    jiter = None

DELTA = 8


def objects(size: int) -> str:
    item = '{"id": %d, "name": "item number %d", "tags": ["a", "b"], "ok": true}'
    items = []
    length = 0
    while length < size:
        items.append(item % (len(items), len(items)))
        length += len(items[-1]) + 2
    return '{"items": [' + ", ".join(items) + "]}"


def long_string(size: int) -> str:
    return json.dumps({"path": "notes.txt", "content": "lorem ipsum " * (size // 12)})


def nested(size: int) -> str:
    def tree(depth: int, n: int) -> object:
        if depth == 0:
            return {"text": f"leaf {n}", "value": n * 1.5, "flag": n % 2 == 0, "none": None}
        return {f"k{i}": tree(depth - 1, n * 3 + i) for i in range(3)}

    value: list[object] = []
    while len(json.dumps(value)) < size:
        value.append(tree(5, len(value)))
    return json.dumps({"forest": value})


SHAPES: dict[str, Callable[[int], str]] = {
    "objects": objects,
    "long string": long_string,
    "nested": nested,
}


def deltas(text: str) -> list[str]:
    return [text[i : i + DELTA] for i in range(0, len(text), DELTA)]


def read_value(pieces: list[str]) -> object:
    parser = PartialJSONParser()
    for piece in pieces:
        parser.feed(piece)
        parser.value  # noqa: B018 - reading the value is the work measured
    return parser.finish()


def read_snapshot(pieces: list[str]) -> object:
    parser = PartialJSONParser()
    for piece in pieces:
        parser.feed(piece)
        parser.snapshot()
    return parser.finish()


def jiter_reparse(pieces: list[str]) -> object:
    assert jiter is not None
    data = b""
    value = None
    for piece in pieces:
        data += piece.encode()
        value = jiter.from_json(data, partial_mode="trailing-strings")
    return value


def json_once(pieces: list[str]) -> object:
    return json.loads("".join(pieces))


READERS: dict[str, Callable[[list[str]], object]] = {
    "PartialJSONParser.value": read_value,
    "PartialJSONParser.snapshot": read_snapshot,
    "jiter re-parse per delta": jiter_reparse,
    "json.loads once": json_once,
}


def best_time(reader: Callable[[list[str]], object], pieces: list[str], rounds: int) -> float:
    best = math.inf
    for _ in range(rounds):
        start = time.process_time()
        reader(pieces)
        best = min(best, time.process_time() - start)
    return best


def exponent(sizes: list[int], times: list[float]) -> float:
    """Slope of the least-squares line through (log size, log time)."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(max(t, 1e-9)) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def run(sizes_kb: list[int], rounds: int) -> list[dict[str, object]]:
    rows = []
    readers = {k: v for k, v in READERS.items() if jiter is not None or "jiter" not in k}
    for shape, make in SHAPES.items():
        texts = [make(kb * 1000) for kb in sizes_kb]
        for text in texts:  # the parser agrees with json.loads before it is timed
            assert read_value(deltas(text)) == json.loads(text)
        for name, reader in readers.items():
            times = [best_time(reader, deltas(text), rounds) for text in texts]
            rows.append(
                {
                    "shape": shape,
                    "reader": name,
                    "sizes": [len(t) for t in texts],
                    "ms": [t * 1000 for t in times],
                    "us_per_delta": [
                        t * 1e6 / len(deltas(text)) for t, text in zip(times, texts, strict=True)
                    ],
                    "exponent": exponent([len(t) for t in texts], times),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="5,20,80", help="argument sizes in KB")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = run(sizes, args.rounds)
    header = " / ".join(f"{s} KB" for s in sizes)
    print(f"{'shape':<12} {'reader':<28} {'ms (' + header + ')':<34} {'us/delta':<22} exponent")
    for row in rows:
        ms = " / ".join(f"{v:.2f}" for v in row["ms"])  # type: ignore[attr-defined]
        per = " / ".join(f"{v:.2f}" for v in row["us_per_delta"])  # type: ignore[attr-defined]
        print(f"{row['shape']:<12} {row['reader']:<28} {ms:<34} {per:<22} {row['exponent']:.2f}")


if __name__ == "__main__":
    main()
