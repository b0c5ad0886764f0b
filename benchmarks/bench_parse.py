"""Time bytes -> events -> chunks -> completion against the floor and the competitors.

Every competitor reads the same bytes, cut into the same reads, in one run. Rounds are
interleaved: each round runs every competitor once, in an order rotated from round to
round, so that the load of this shared machine falls on all of them alike. A sample is
the CPU time (``time.process_time``) of one run over every body of the stream; reported
are the median of the samples, its ratio to the floor's median, and the spread of the
samples (interquartile range / median). An A/A control (the floor timed a second time)
shows how far two identical competitors drift apart in that run.

Sections (each a function returning rows; ``run.py`` turns them into tables):

* :func:`throughput`: the chat, tool and real-recording streams and one 4 MB event,
  in 7-, 64- and 4096-byte reads, every competitor.
* :func:`scaling`: one event of 0.5, 1, 2 and 4 MB in 16-byte reads; the exponent of
  a log-log fit of time against size (1 = linear, 2 = quadratic).
* :func:`memory`: tracemalloc's peak while a chat stream is read and accumulated,
  against the size of the rebuilt completion, for several stream lengths.

Competitors (``COMPETITORS``):

  floor                  json.loads of each payload alone, after splitting the body on
                         blank lines (the least work any reader must do)
  httpx-sse + json       httpx_sse.EventSource over an httpx.Response, then json.loads
  httpx-sse decoder      httpx-sse's decoding alone: UTF-8 incremental decoding (what the
                         response's iter_text does), its SSELineDecoder and SSEDecoder
  openai decoder         the openai SDK's SSEDecoder.iter_bytes alone
  openai full path       openai.Stream of ChatCompletionChunk over an httpx2.Response
                         (the SDK's client), each chunk fed to ChatCompletionStreamState
  ssestream decoder      SSEDecoder.feed over the reads
  ssestream + chunks     iter_events, then json.loads and ChatCompletionChunk per event
  ssestream full (bytes) ChatStream over the reads (an iterable), then .completion
  ssestream full (httpx) ChatStream over an httpx.Response, then .completion

Run alone:  python benchmarks/bench_parse.py [--rounds N] [--reads 7,64,4096]
(``python benchmarks/run.py`` runs it with the other benchmarks and writes the report.)
"""

from __future__ import annotations

import argparse
import atexit
import codecs
import gc
import importlib
import importlib.util
import io
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import ssestream

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

Competitor = Callable[[list[bytes]], Any]

# --------------------------------------------------------------------------- streams

_BASE = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion.chunk",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "service_tier": "default",
    "system_fingerprint": "fp_eb9dce56a8",
}


def frame(chunks: list[dict[str, Any]], *, done: bool = True) -> bytes:
    """The event-stream body of these chunks, as OpenAI writes it (compact JSON)."""
    body = b"".join(
        b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n" for chunk in chunks
    )
    return body + (b"data: [DONE]\n\n" if done else b"")


def _chunk(delta: dict[str, Any], finish: str | None = None, **envelope: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {**_BASE, **envelope, "choices": [choice]}


def chat_stream(n: int = 2000) -> bytes:
    """A realistic OpenAI chat stream: role first, n content chunks, finish, usage, [DONE]."""
    words = [" The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."]
    chunks = [_chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [_chunk({"content": words[i % 10]}) for i in range(n)]
    chunks.append(_chunk({}, "stop"))
    usage = {"prompt_tokens": 25, "completion_tokens": n, "total_tokens": n + 25}
    chunks.append({**_BASE, "choices": [], "usage": usage})
    return frame(chunks)


def tool_stream(calls: int = 3, fragments: int = 600) -> bytes:
    """Parallel tool calls whose arguments arrive in many fragments, one call after another."""
    chunks = [_chunk({"role": "assistant", "content": None})]
    for call in range(calls):
        head = {
            "index": call,
            "id": f"call_{call:024d}",
            "type": "function",
            "function": {"name": f"lookup_{call}", "arguments": ""},
        }
        chunks.append(_chunk({"tool_calls": [head]}))
        for i in range(fragments):
            fragment = '{"q": "' if i == 0 else ('"}' if i == fragments - 1 else f"w{i} ")
            entry = {"index": call, "function": {"arguments": fragment}}
            chunks.append(_chunk({"tool_calls": [entry]}))
    chunks.append(_chunk({}, "tool_calls"))
    return frame(chunks)


def headline_stream(n: int = 2000) -> bytes:
    """What users receive from OpenAI today: every chunk carries ``"usage": null`` and an
    ``obfuscation`` string (random padding against length side channels; sent with
    ``stream_options.include_obfuscation``, on by default), the last one the usage."""
    words = [" The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."]
    pads = ["kD2x", "Qp", "a7sLmZ", "Y", "fr0", "Xq9LwE", "j", "Zb", "Hn3", "pt"]

    def headline(delta: dict[str, Any], finish: str | None = None, i: int = 0) -> dict[str, Any]:
        return {**_chunk(delta, finish), "usage": None, "obfuscation": pads[i % 10]}

    chunks = [headline({"role": "assistant", "content": "", "refusal": None})]
    chunks += [headline({"content": words[i % 10]}, i=i) for i in range(n)]
    chunks.append(headline({}, "stop"))
    usage = {"prompt_tokens": 25, "completion_tokens": n, "total_tokens": n + 25}
    chunks.append({**_BASE, "choices": [], "usage": usage, "obfuscation": "Tq"})
    return frame(chunks)


def big_event(size: int) -> bytes:
    """One chunk event of about ``size`` bytes (its content), then [DONE]."""
    text = ("lorem ipsum dolor sit amet " * (size // 27 + 1))[: max(size - 300, 1)]
    return frame([_chunk({"role": "assistant", "content": text}, "stop")])


def recordings() -> tuple[list[bytes], list[str]]:
    """The real recordings of tests/fixtures that every competitor reads without error.

    Returns the bodies and the names left out, each with the competitor that failed
    (the openai SDK's accumulator refuses some providers' quirks: a tool call at index 1
    with no index 0, Mistral's list content, a mid-stream error).
    """
    bodies, left_out = [], []
    paths = sorted((FIXTURES / "openai").glob("*.sse")) + sorted(
        (FIXTURES / "providers").glob("*.sse")
    )
    for path in paths:
        body = path.read_bytes()
        failed = _first_failure(body)
        if failed is None:
            bodies.append(body)
        else:
            left_out.append(f"{path.parent.name}/{path.name} ({failed})")
    return bodies, left_out


def _first_failure(body: bytes) -> str | None:
    """The first competitor that raises on ``body`` (and its error), or None."""
    for name, competitor in COMPETITORS.items():
        error = _error(competitor, body)
        if error is not None:
            return f"{error} in {name}"
    return None


def _error(competitor: Competitor, body: bytes) -> str | None:
    try:
        with _quiet():
            competitor([body])
    except Exception as exc:
        return type(exc).__name__
    return None


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the warnings pydantic prints for payloads the SDK's models do not expect."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


EVENT = 0  # the read size that means one event per read, as a flushing server sends them


def split(body: bytes, size: int) -> list[bytes]:
    """``body`` cut into reads of ``size`` bytes (the last one shorter); ``EVENT``: one
    read per event, each ending with its blank line."""
    if size == EVENT:
        return [part + b"\n\n" for part in body.split(b"\n\n") if part]
    return [body[i : i + size] for i in range(0, len(body), size)]


# --------------------------------------------------------------------------- competitors


class _Pieces(httpx.SyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.pieces)


def httpx_response(pieces: list[bytes]) -> httpx.Response:
    """A streaming httpx.Response whose body arrives in exactly these reads."""
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=_Pieces(pieces)
    )


def floor(pieces: list[bytes]) -> Any:
    loads = json.loads
    body = b"".join(pieces)
    return [loads(part[6:]) for part in body.split(b"\n\n") if part.startswith(b"data: {")]


def strict_floor(pieces: list[bytes]) -> Any:
    # The floor without keeping the payloads: each decoded dict is dropped at once
    # (keeping 2,000 of them alive costs a quarter of the floor: allocation and GC).
    loads = json.loads
    for part in b"".join(pieces).split(b"\n\n"):
        if part.startswith(b"data: {"):
            loads(part[6:])


def _hand_loop(reads: Any) -> str:
    # The loop a user writes without a library: buffer the reads, split on blank lines,
    # json.loads each data line, append the first choice's content. No typing, no
    # spec (CR line ends, multi-line data, comments, limits and errors are ignored).
    loads = json.loads
    buffer = b""
    text = []
    for read in reads:
        buffer += read
        if b"\n\n" not in buffer:
            continue
        *blocks, buffer = buffer.split(b"\n\n")
        for block in blocks:
            if block.startswith(b"data: {"):
                chunk = loads(block[6:])
                choices = chunk["choices"]
                if choices:
                    content = choices[0]["delta"].get("content")
                    if content:
                        text.append(content)
    return "".join(text)


def hand_loop(pieces: list[bytes]) -> Any:
    return _hand_loop(pieces)


def hand_loop_httpx(pieces: list[bytes]) -> Any:
    return _hand_loop(httpx_response(pieces).iter_bytes())


def litellm_builder(pieces: list[bytes]) -> Any:
    # LiteLLM's stream_chunk_builder over the decoded chunks (its documented way to
    # rebuild a completion from a stream); the chunks are decoded as the floor does.
    from litellm import stream_chunk_builder

    return stream_chunk_builder(floor(pieces))


def httpx_sse_json(pieces: list[bytes]) -> Any:
    from httpx_sse import EventSource

    loads = json.loads
    events = EventSource(httpx_response(pieces)).iter_sse()
    return [loads(event.data) for event in events if event.data != "[DONE]"]


def httpx_sse_decoder(pieces: list[bytes]) -> Any:
    # EventSource.iter_sse without the response: httpx's iter_text decodes UTF-8 with
    # an incremental decoder and skips empty text; iter_sse strips the line's LF.
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    text = codecs.getincrementaldecoder("utf-8")("replace")
    lines = SSELineDecoder()
    decoder = SSEDecoder()
    out = []
    for piece in pieces:
        chunk = text.decode(piece)
        if chunk:
            for line in lines.decode(chunk):
                event = decoder.decode(line.rstrip("\n"))
                if event is not None:
                    out.append(event)
    for line in lines.flush():
        event = decoder.decode(line.rstrip("\n"))
        if event is not None:
            out.append(event)
    return out


def openai_decoder(pieces: list[bytes]) -> Any:
    from openai._streaming import SSEDecoder

    return list(SSEDecoder().iter_bytes(iter(pieces)))


_OPENAI_CLIENT: Any = None


def _openai_client() -> Any:
    global _OPENAI_CLIENT
    if _OPENAI_CLIENT is None:
        import openai

        _OPENAI_CLIENT = openai.OpenAI(api_key="benchmark", base_url="http://127.0.0.1:9/v1")
    return _OPENAI_CLIENT


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


def ssestream_competitors(package: Any, suffix: str = "") -> dict[str, Competitor]:
    """The ssestream competitors, for this package (ssestream, or a baseline of it)."""

    def decoder(pieces: list[bytes]) -> Any:
        feed = package.SSEDecoder().feed
        out = []
        for piece in pieces:
            out += feed(piece)
        return out

    def decoder_chunks(pieces: list[bytes]) -> Any:
        loads = json.loads
        chunk = package.ChatCompletionChunk
        events = package.iter_events(pieces)
        return [chunk(loads(e.data)) for e in events if e.data != "[DONE]"]

    def full(pieces: list[bytes]) -> Any:
        stream = package.ChatStream(pieces)
        for _ in stream:
            pass
        return stream.completion

    def full_httpx(pieces: list[bytes]) -> Any:
        stream = package.ChatStream(httpx_response(pieces))
        for _ in stream:
            pass
        return stream.completion

    def user(pieces: list[bytes]) -> Any:
        # The full path with the typical user access: the content of every chunk.
        stream = package.ChatStream(pieces)
        for chunk in stream:
            if chunk.choices:
                chunk.choices[0].delta.content  # noqa: B018
        return stream.completion

    def user_httpx(pieces: list[bytes]) -> Any:
        stream = package.ChatStream(httpx_response(pieces))
        for chunk in stream:
            if chunk.choices:
                chunk.choices[0].delta.content  # noqa: B018
        return stream.completion

    def events(pieces: list[bytes]) -> Any:
        stream = package.ChatStream(pieces)
        for _ in stream.events():
            pass
        return stream.completion

    return {
        f"ssestream decoder{suffix}": decoder,
        f"ssestream decoder + chunks{suffix}": decoder_chunks,
        f"ssestream full (bytes){suffix}": full,
        f"ssestream full (httpx.Response){suffix}": full_httpx,
        f"{USER} (bytes){suffix}": user,
        f"{USER} (httpx.Response){suffix}": user_httpx,
        f"ssestream events (bytes){suffix}": events,
    }


USER = "ssestream + .content"


def stdlib_json(competitor: Competitor) -> Competitor:
    """``competitor`` with ssestream's accelerator off: JSON by the stdlib alone."""
    from ssestream import _parser

    def run(pieces: list[bytes]) -> Any:
        fast, _parser._fast_loads = _parser._fast_loads, None
        try:
            return competitor(pieces)
        finally:
            _parser._fast_loads = fast

    return run


def load_baseline(revision: str) -> Any:
    """Import the ssestream package of git ``revision`` as ``ssestream_baseline``.

    Its modules import one another relatively, so the copy runs side by side with the
    package under test.
    """
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src/ssestream"],
        capture_output=True,
        check=True,
    ).stdout
    directory = Path(tempfile.mkdtemp(prefix="ssestream-baseline-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    (directory / "src" / "ssestream").rename(directory / "ssestream_baseline")
    sys.path.insert(0, str(directory))
    return importlib.import_module("ssestream_baseline")


HEADLINE = "headline: OpenAI chunks with usage null and obfuscation (2,000 chunks)"
SLOW_ON_BIG = ("hand-written", "LiteLLM")
FLOOR = "floor (json.loads)"
STRICT_FLOOR = "strict floor (json.loads, dropped)"
HAND = "hand-written loop (bytes)"
HAND_HTTPX = "hand-written loop (httpx.Response)"
CONTROL = "A/A control (floor again)"
ACCELERATED = "msgspec" if ssestream._parser._fast_loads is not None else None
STDLIB = " [stdlib json]"


def _litellm() -> dict[str, Competitor]:
    # Found, not imported: importing litellm takes seconds and much memory, which every
    # process importing this module (bench_scale's clients too) would pay. Without
    # LITELLM_LOCAL_MODEL_COST_MAP, its import fetches the model price map from GitHub,
    # retrying for about 10 s when offline (this machine); the bundled copy does here.
    if importlib.util.find_spec("litellm") is None:
        return {}
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    return {"LiteLLM stream_chunk_builder": litellm_builder}


COMPETITORS: dict[str, Competitor] = {
    FLOOR: floor,
    STRICT_FLOOR: strict_floor,
    HAND: hand_loop,
    HAND_HTTPX: hand_loop_httpx,
    "httpx-sse + json.loads": httpx_sse_json,
    "httpx-sse decoder": httpx_sse_decoder,
    "openai SDK decoder": openai_decoder,
    "openai SDK full path": openai_full,
    **ssestream_competitors(ssestream),
    **_litellm(),
}
if ACCELERATED:  # the same paths with the stdlib alone, for the accelerator's gain
    for _name in ("ssestream full (bytes)", f"{USER} (httpx.Response)"):
        COMPETITORS[_name + STDLIB] = stdlib_json(COMPETITORS[_name])

# --------------------------------------------------------------------------- harness


class BudgetExceededError(Exception):
    """A competitor took longer than its budget."""


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Raise :class:`BudgetExceededError` in the block after ``seconds`` of CPU time (SIGPROF)."""

    def expire(signum: int, frame: Any) -> None:
        raise BudgetExceededError

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@dataclass
class Sample:
    """The samples of one competitor on one stream and read size."""

    times: list[float] = field(default_factory=list)
    timed_out: float | None = None  # the budget it passed, in seconds

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else math.nan

    @property
    def spread(self) -> float:
        """Interquartile range / median (0.05 = the middle half within 5%)."""
        if len(self.times) < 4:
            return math.nan
        q1, _, q3 = statistics.quantiles(self.times, n=4)
        return (q3 - q1) / self.median


def _warm_up(competitor: Competitor, bodies: list[list[bytes]], budget_s: float) -> bool:
    """Run ``competitor`` once over ``bodies``; False if it passed ``budget_s``."""
    try:
        with _quiet(), budget(budget_s):
            for pieces in bodies:
                competitor(pieces)
    except BudgetExceededError:
        return False
    return True


def measure(
    bodies: list[list[bytes]],
    competitors: dict[str, Competitor],
    rounds: int,
    *,
    budget_s: float = 20.0,
) -> dict[str, Sample]:
    """Sample each competitor ``rounds`` times over every body, rounds interleaved.

    A first, untimed run warms each competitor up (imports, caches) and must finish
    within ``budget_s`` seconds of CPU time; one that does not is left out of the rounds
    and reported with the budget it passed.
    """
    samples = {name: Sample() for name in competitors}
    live = []
    for name, competitor in competitors.items():
        if _warm_up(competitor, bodies, budget_s):
            live.append(name)
        else:
            samples[name].timed_out = budget_s
    clock = time.process_time
    for round_number in range(rounds):
        shift = round_number % max(len(live), 1)
        for name in live[shift:] + live[:shift]:
            competitor = competitors[name]
            gc.collect()
            with _quiet():
                start = clock()
                for pieces in bodies:
                    competitor(pieces)
                samples[name].times.append(clock() - start)
    return samples


# --------------------------------------------------------------------------- sections


@dataclass
class Row:
    """One line of a table: a competitor on a stream, in reads of a size."""

    section: str
    stream: str
    read_bytes: int
    reads: int
    body_bytes: int
    competitor: str
    median_s: float
    ratio: float  # to the floor of the same stream and read size
    spread: float
    timed_out: float | None = None
    strict: float = math.nan  # to the strict floor (payloads dropped)
    ratio_lo: float = math.nan  # the least and greatest ratio to the floor over runs
    ratio_hi: float = math.nan
    runs: int = 1


def throughput(
    rounds: int,
    read_sizes: list[int],
    *,
    budget_s: float,
    big_mb: float = 4.0,
    baseline: str | None = None,
    only: list[str] | None = None,
) -> tuple[list[Row], list[str]]:
    """Every competitor on every stream and read size. Returns rows and notes.

    With ``baseline`` (a git revision), ssestream as of that revision runs too, in the
    same rounds, its competitors named with the revision. ``only``: the streams whose
    names start with one of these. The headline stream is also read one event per read
    (read size ``EVENT``, shown as 0).
    """
    real, left_out = recordings()
    notes = [f"real recordings read by every competitor: {len(real)}"]
    if left_out:
        notes.append("left out (a competitor fails on them): " + "; ".join(left_out))
    streams: dict[str, list[bytes]] = {
        HEADLINE: [headline_stream()],
        "chat (2,000 chunks)": [chat_stream()],
        "tool (3 calls x 600 fragments)": [tool_stream()],
        f"real recordings ({len(real)} files)": real,
        f"one {big_mb:g} MB event": [big_event(int(big_mb * 1024 * 1024))],
    }
    competitors = dict(COMPETITORS)
    if baseline is not None:
        competitors.update(ssestream_competitors(load_baseline(baseline), f" @ {baseline}"))
        notes.append(f"'@ {baseline}': ssestream as of git revision {baseline}")
    competitors[CONTROL] = floor
    if only:
        streams = {k: v for k, v in streams.items() if any(k.startswith(o) for o in only)}
    rows = []
    for stream_name, bodies in streams.items():
        size_total = sum(len(body) for body in bodies)
        sizes = [EVENT, *read_sizes] if stream_name == HEADLINE else read_sizes
        mine = competitors
        if stream_name.startswith("one "):
            # The hand-written loop re-copies its buffer on every read: quadratic on one
            # 4 MB event (it passes any budget), which is the point of a spec decoder.
            mine = {k: v for k, v in competitors.items() if not k.startswith(SLOW_ON_BIG)}
        for size in sizes:
            split_bodies = [split(body, size) for body in bodies]
            reads = sum(len(pieces) for pieces in split_bodies)
            print(f"  {stream_name}, {size}-byte reads ...", file=sys.stderr, flush=True)
            samples = measure(split_bodies, mine, rounds, budget_s=budget_s)
            floor_s = samples[FLOOR].median
            strict_s = samples[STRICT_FLOOR].median if STRICT_FLOOR in samples else math.nan
            for name, sample in samples.items():
                rows.append(
                    Row(
                        "throughput",
                        stream_name,
                        size,
                        reads,
                        size_total,
                        name,
                        sample.median,
                        sample.median / floor_s,
                        sample.spread,
                        sample.timed_out,
                        sample.median / strict_s,
                        sample.median / floor_s,
                        sample.median / floor_s,
                    )
                )
    return rows, notes


def combine(runs: list[list[Row]]) -> list[Row]:
    """One row per cell from several runs: medians of the runs' medians and ratios, the
    least and greatest ratio to the floor, the median within-run spread."""
    out = []
    for cell in zip(*runs, strict=True):
        first = cell[0]
        assert all(
            (r.stream, r.read_bytes, r.competitor)
            == (first.stream, first.read_bytes, first.competitor)
            for r in cell
        )
        ratios = [r.ratio for r in cell]
        out.append(
            Row(
                first.section,
                first.stream,
                first.read_bytes,
                first.reads,
                first.body_bytes,
                first.competitor,
                statistics.median(r.median_s for r in cell),
                statistics.median(ratios),
                statistics.median(r.spread for r in cell),
                next((r.timed_out for r in cell if r.timed_out), None),
                statistics.median(r.strict for r in cell),
                min(ratios),
                max(ratios),
                len(cell),
            )
        )
    return out


def per_run(runs: list[list[Row]], stream: str, size: int, a: str, b: str) -> list[float]:
    """The ratio of competitor ``a`` to ``b`` in each run (both timed in its rounds)."""
    out = []
    for rows in runs:
        x = [
            r.median_s
            for r in rows
            if r.stream.startswith(stream) and r.read_bytes == size and r.competitor == a
        ]
        y = [
            r.median_s
            for r in rows
            if r.stream.startswith(stream) and r.read_bytes == size and r.competitor == b
        ]
        if x and y:
            out.append(x[0] / y[0])
    return out


def views(rounds: int, n: int = 2000) -> dict[str, Any]:
    """ns per chunk to read ``chunk.choices[0].delta.content`` on fresh chunks.

    The chunks (views over the headline stream's payloads) are made before each timed
    loop, fresh each round as a stream hands them out; the loop's own cost (the same
    loop touching nothing) is subtracted.
    """
    payloads = [
        json.loads(p[6:]) for p in headline_stream(n).split(b"\n\n") if p.startswith(b"data: {")
    ]
    payloads = [p for p in payloads if p["choices"]]
    make = ssestream.ChatCompletionChunk
    clock = time.perf_counter_ns

    def guarded(chunks: list[Any]) -> None:
        for chunk in chunks:
            if chunk.choices:
                chunk.choices[0].delta.content  # noqa: B018

    def direct(chunks: list[Any]) -> None:
        for chunk in chunks:
            chunk.choices[0].delta.content  # noqa: B018

    def empty(chunks: list[Any]) -> None:
        for chunk in chunks:
            chunk  # noqa: B018

    loops = {
        "if chunk.choices: chunk.choices[0].delta.content": guarded,
        "chunk.choices[0].delta.content": direct,
        "loop": empty,
    }
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(rounds * 5):
        for name, loop in loops.items():
            chunks = [make(p) for p in payloads]
            gc.collect()
            start = clock()
            loop(chunks)
            times[name].append((clock() - start) / len(chunks))
    base = statistics.median(times["loop"])
    out = {}
    for name in loops:
        if name == "loop":
            continue
        values = [t - base for t in times[name]]
        q1, _, q3 = statistics.quantiles(values, n=4)
        out[name] = {"ns": statistics.median(values), "q1": q1, "q3": q3}
    return {"per_chunk": out, "loop_ns": base, "chunks": len(payloads)}


def growth(rounds: int) -> list[dict[str, Any]]:
    """The full path's time at n and 4n for many tool-argument fragments and for n=8
    interleaved choices: the exponent log(t(4n)/t(n)) / log 4 (1 = linear)."""

    def interleaved(rows: int) -> bytes:
        chunks = [_chunk({"role": "assistant", "content": ""}) for _ in range(1)]
        for i in range(rows):
            for c in range(8):
                choice = {
                    "index": c,
                    "delta": {"content": f"w{i} "},
                    "logprobs": None,
                    "finish_reason": None,
                }
                chunks.append({**_BASE, "choices": [choice]})
        for c in range(8):
            choice = {"index": c, "delta": {}, "logprobs": None, "finish_reason": "stop"}
            chunks.append({**_BASE, "choices": [choice]})
        return frame(chunks)

    cases = {
        "many tool-argument fragments (1 call)": lambda n: tool_stream(1, n),
        "n=8 interleaved choices": lambda n: interleaved(n // 8),
    }
    full = COMPETITORS["ssestream full (bytes)"]
    out = []
    for name, make in cases.items():
        small, large = split(make(4000), 64), split(make(16000), 64)
        samples = (
            measure([small], {"n": full}, rounds)["n"],
            measure([large], {"4n": full}, rounds)["4n"],
        )
        exponent = math.log(samples[1].median / samples[0].median) / math.log(4)
        out.append(
            {
                "case": name,
                "n_s": samples[0].median,
                "4n_s": samples[1].median,
                "exponent": exponent,
            }
        )
    return out


SCALING_COMPETITORS = [
    FLOOR,
    "httpx-sse decoder",
    "openai SDK decoder",
    "ssestream decoder",
    "ssestream full (bytes)",
]


def scaling(
    rounds: int, sizes_mb: list[float], read_bytes: int, *, budget_s: float
) -> list[dict[str, Any]]:
    """Time one event of each size in small reads; fit the exponent of time ~ size**k."""
    competitors = {name: COMPETITORS[name] for name in SCALING_COMPETITORS}
    times: dict[str, dict[float, float]] = {name: {} for name in competitors}
    timed_out: dict[str, float] = {}
    for size_mb in sizes_mb:
        pieces = split(big_event(int(size_mb * 1024 * 1024)), read_bytes)
        print(f"  one {size_mb:g} MB event, {read_bytes}-byte reads ...", file=sys.stderr)
        live = {n: c for n, c in competitors.items() if n not in timed_out}
        for name, sample in measure([pieces], live, rounds, budget_s=budget_s).items():
            if sample.timed_out is not None:
                timed_out[name] = size_mb
            else:
                times[name][size_mb] = sample.median
    results = []
    for name in competitors:
        points = sorted(times[name].items())
        results.append(
            {
                "competitor": name,
                "seconds": dict(points),
                "exponent": fit_exponent(points),
                "timed_out_at_mb": timed_out.get(name),
            }
        )
    return results


def fit_exponent(points: list[tuple[float, float]]) -> float:
    """The least-squares slope of log(time) against log(size): time ~ size**slope."""
    if len(points) < 2:
        return math.nan
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mx) ** 2 for x in xs)
    return num / den


def _traced_size(make: Callable[[], Any]) -> int:
    """The memory (tracemalloc) held by the object ``make`` returns."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        obj = make()
        size = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del obj
    return size


def _peak(read: Callable[[list[bytes]], Any], pieces: list[bytes]) -> tuple[int, Any]:
    """tracemalloc's peak while ``read`` runs over ``pieces`` (allocated before)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = read(pieces)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, result


def memory(lengths: list[int], read_bytes: int = 64) -> dict[str, Any]:
    """Peak memory while a chat stream is read and accumulated, against the completion.

    For each stream length: the peak of ssestream's full path (default, and with
    ``keep_chunks=True``) and of the openai SDK's (Stream + ChatCompletionStreamState),
    and the size of the rebuilt completion: the memory its ``to_dict()`` takes as
    freshly decoded JSON. The slope of peak against completion size (least squares) is
    the memory per byte of output; the intercept is the constant.
    """

    def ss_keep(pieces: list[bytes]) -> Any:
        stream = ssestream.ChatStream(pieces, keep_chunks=True)
        for _ in stream:
            pass
        return stream.completion

    def ss_default(pieces: list[bytes]) -> Any:
        stream = ssestream.ChatStream(pieces)
        for _ in stream:
            pass
        retained = len(stream.chunks)
        return stream.completion, retained, stream.parser.accumulator.chunk_count

    readers: dict[str, Callable[[list[bytes]], Any]] = {
        "ssestream full path": ss_default,
        "ssestream, keep_chunks=True": ss_keep,
        "openai SDK full path": openai_full,
    }
    rows = []
    for n in lengths:
        pieces = split(chat_stream(n), read_bytes)
        row: dict[str, Any] = {"chunks": n}
        for name, read in readers.items():
            with _quiet():
                peak, result = _peak(read, pieces)
            row[name] = peak
            if name == "ssestream full path":
                completion, retained, count = result
                data = completion.to_dict()
                text = json.dumps(data)
                row["completion_bytes"] = _traced_size(lambda text=text: json.loads(text))
                row["completion_json_bytes"] = len(text.encode())
                row["chunks_retained"] = retained
                row["chunk_count"] = count
        rows.append(row)
    fits = {}
    for name in readers:
        points = [(row["completion_bytes"], row[name]) for row in rows]
        xs, ys = zip(*points, strict=True)
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
        fits[name] = {"slope": slope, "intercept": my - slope * mx}
    return {"rows": rows, "fits": fits, "read_bytes": read_bytes}


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds (default 9)")
    parser.add_argument(
        "--reads", default="7,64,4096", help="read sizes in bytes (default 7,64,4096)"
    )
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per run, at most")
    parser.add_argument("--baseline", help="also time ssestream as of this git revision")
    parser.add_argument("--only", help="comma-separated prefixes of the streams to run")
    parser.add_argument("--competitors", help="comma-separated prefixes of the competitors")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.reads.split(",")]
    if args.competitors:
        keep = tuple(args.competitors.split(","))
        for name in list(COMPETITORS):
            if name != FLOOR and not name.startswith(keep):
                del COMPETITORS[name]
    rows, notes = throughput(
        args.rounds,
        sizes,
        budget_s=args.budget,
        baseline=args.baseline,
        only=args.only.split(",") if args.only else None,
    )
    for note in notes:
        print(note)
    current = None
    for row in rows:
        if (row.stream, row.read_bytes) != current:
            current = (row.stream, row.read_bytes)
            print(f"\n{row.stream}: {row.body_bytes} bytes in {row.read_bytes}-byte reads")
        shown = f"> {row.timed_out:g} s" if row.timed_out else f"{row.median_s * 1e3:9.2f}"
        print(f"  {row.competitor:34} {shown:>10} ms {row.ratio:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
