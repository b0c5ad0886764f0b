"""Timings of one stream: time to first token, inter-chunk gaps, output tokens per second.

Pure: the parser hands :class:`StreamTimer` the time of each event it sees, read from an
injected clock (``time.perf_counter`` by default, a fake one in tests), so every figure
is exact and testable without I/O. :class:`StreamTimings` is the frozen record a stream
exposes as ``stream.timings``; ``ssestream check`` reports the same record, so the
project has one definition of each figure.

Definitions (all times in seconds, from the same monotonic clock; ``None`` until known):

* a chunk *arrives* when the read that completed its event arrives. Chunks decoded from
  one read arrive together: their gap is 0, which is what buffering looks like;
* **TTFT** (time to first token) is ``first_token - request_sent``, or from
  ``response_head`` when the request time is unknown. The first token is the first
  non-empty ``content``, ``refusal`` or tool-call fragment; the role-only first chunk
  does not count (vLLM #15106), and reasoning counts separately
  (``first_reasoning_token``). This follows the OpenTelemetry GenAI semantic conventions'
  ``gen_ai.response.time_to_first_chunk`` where a chunk carries output;
* **inter-chunk gaps** are the differences between consecutive chunks' arrival times,
  role chunk included (OTel's ``time_per_output_chunk``);
* **output tokens per second** is ``usage.completion_tokens`` over the time from the first
  token (reasoning or answer) to the last chunk, when the server sent usage; else the
  number of chunks from the first output to the last over the same time
  (``tokens_source="counted"``), an estimate: most providers send one token per chunk.

Memory: one float per chunk (the gaps), 8 bytes, against the text those chunks carry.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Clock", "StreamTimer", "StreamTimings", "chunk_output"]

Clock = Callable[[], float]
"""A monotonic clock in seconds, such as ``time.perf_counter`` (the default)."""

_REASONING = ("reasoning_content", "reasoning", "reasoning_details", "thinking")


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamTimings:
    """When each stage of one stream happened, and the figures built on them.

    Every time is a reading of the stream's clock in seconds (``time.perf_counter`` unless
    another was given), or ``None`` if that stage has not happened (yet). The record is
    a snapshot: read ``stream.timings`` again for newer figures. See the module
    :mod:`ssestream._timings` for the definitions.

    Attributes:
        request_sent: when the request was sent (known to ``connect_chat``), else None.
        response_head: when the response head was handed to the parser.
        first_byte: when the first body byte arrived.
        first_chunk: when the first chunk arrived (the role chunk counts).
        first_reasoning_token: when the first non-empty reasoning fragment arrived.
        first_token: when the first non-empty content, refusal or tool-call fragment
            arrived: the "first token" of TTFT.
        last_chunk: when the last chunk so far arrived.
        end: when the stream ended (its end marker, the end of the body, or an error).
        chunks: chunks handed out.
        reads: body reads that completed at least one event (the reads that deliver;
            a read holding part of an event only is not counted).
        output_chunks: chunks from the first that carried output (content, refusal,
            reasoning, tool calls) to the last.
        output_tokens: ``usage.completion_tokens`` when sent, else ``output_chunks``.
        tokens_source: ``"usage"`` or ``"counted"`` (see ``output_tokens``).
        gap_p50, gap_p90, gap_p99, gap_max: inter-chunk gaps in seconds (nearest-rank
            percentiles), None before two chunks.
    """

    request_sent: float | None = None
    response_head: float | None = None
    first_byte: float | None = None
    first_chunk: float | None = None
    first_reasoning_token: float | None = None
    first_token: float | None = None
    last_chunk: float | None = None
    end: float | None = None
    chunks: int = 0
    reads: int = 0
    output_chunks: int = 0
    output_tokens: int = 0
    tokens_source: str = "counted"
    gap_p50: float | None = None
    gap_p90: float | None = None
    gap_p99: float | None = None
    gap_max: float | None = None

    @property
    def start(self) -> float | None:
        """The origin of the "time to" figures: ``request_sent``, else ``response_head``,
        else ``first_byte``."""
        for value in (self.request_sent, self.response_head, self.first_byte):
            if value is not None:
                return value
        return None

    def _since_start(self, moment: float | None) -> float | None:
        start = self.start
        return None if moment is None or start is None else moment - start

    @property
    def ttft(self) -> float | None:
        """Time to first token in seconds: ``first_token - start``."""
        return self._since_start(self.first_token)

    @property
    def time_to_first_chunk(self) -> float | None:
        """Seconds from ``start`` to the first chunk (the role chunk counts)."""
        return self._since_start(self.first_chunk)

    @property
    def time_to_first_byte(self) -> float | None:
        """Seconds from ``start`` to the first body byte."""
        return self._since_start(self.first_byte)

    @property
    def duration(self) -> float | None:
        """Seconds from ``start`` to ``end`` (None while the stream runs)."""
        return self._since_start(self.end)

    @property
    def chunks_per_read(self) -> float | None:
        """Chunks per delivering read (see ``reads``): 1 for a server that flushes each
        chunk, more when a proxy or server buffers them."""
        return self.chunks / self.reads if self.reads else None

    @property
    def output_tokens_per_second(self) -> float | None:
        """``output_tokens`` over the seconds from the first output (reasoning or answer)
        to the last chunk; None until that time is positive."""
        firsts = [t for t in (self.first_reasoning_token, self.first_token) if t is not None]
        if not firsts or self.last_chunk is None:
            return None
        elapsed = self.last_chunk - min(firsts)
        return self.output_tokens / elapsed if elapsed > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """Every field and derived figure as plain JSON data (seconds as floats)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in (
            "ttft",
            "time_to_first_chunk",
            "time_to_first_byte",
            "duration",
            "chunks_per_read",
            "output_tokens_per_second",
        ):
            data[name] = getattr(self, name)
        return data


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a sorted, non-empty list."""
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil(n * fraction), at least 1
    return ordered[int(rank) - 1]


def _carries(delta: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    return any(delta.get(key) for key in keys)


_ANSWER = ("content", "refusal", "tool_calls", "function_call")


def chunk_output(payload: Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether a decoded chunk carries output: ``(answer, reasoning)``.

    ``answer``: a non-empty ``content``, ``refusal`` or tool-call fragment in any
    choice's delta (what TTFT waits for; the role-only chunk carries none);
    ``reasoning``: a non-empty reasoning fragment under any name providers use. The one
    definition of "this chunk shows something", used by the timings, by ``ssestream
    check`` and by ``serve``'s slow-first-token fault. Never raises on odd shapes.
    """
    choices = payload.get("choices")
    answer = reasoning = False
    if type(choices) is not list:
        return answer, reasoning
    for choice in choices:
        delta = choice.get("delta") if type(choice) is dict else None
        if type(delta) is dict and delta:
            answer = answer or _carries(delta, _ANSWER)
            reasoning = reasoning or _carries(delta, _REASONING)
    return answer, reasoning


class StreamTimer:
    """Collects the times of one stream; :meth:`snapshot` makes a :class:`StreamTimings`.

    Args:
        clock: a monotonic clock in seconds (``time.perf_counter`` by default).

    The parser drives it at the few points where time matters, so that a read that
    completes no event costs nothing and a chunk one append: :meth:`head`;
    :attr:`first_byte`; :attr:`reads` (reads that completed events) counted and the
    clock read once per such read; the arrival time of each chunk appended to
    :attr:`arrivals`; :meth:`look` at each chunk until the first token is known;
    :meth:`finish`. A stream may set :attr:`request_sent`.

    Attributes:
        clock: the clock.
        request_sent, response_head, first_byte, end: as in :class:`StreamTimings`.
        reads: reads that completed events, counted by the parser.
        arrivals: the arrival time of each chunk handed out (``array("d")``).
    """

    __slots__ = (
        "_first_reasoning",
        "_first_token",
        "_output_from",
        "arrivals",
        "clock",
        "end",
        "first_byte",
        "reads",
        "request_sent",
        "response_head",
    )

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or time.perf_counter
        self.request_sent: float | None = None
        self.response_head: float | None = None
        self.first_byte: float | None = None
        self.end: float | None = None
        self.reads = 0
        self.arrivals = array("d")  # the arrival time of each chunk handed out
        self._first_reasoning: float | None = None
        self._first_token: float | None = None
        self._output_from: int | None = None  # the number of the first chunk with output

    def head(self) -> None:
        """The response head arrived now."""
        self.response_head = self.clock()

    def look(self, payload: Mapping[str, Any]) -> bool:
        """Look for the first token (and reasoning) in the chunk just appended to
        :attr:`arrivals`. Returns whether to keep looking: False once the first token
        is found."""
        choices = payload.get("choices")
        if type(choices) is not list:
            return True
        number = len(self.arrivals) - 1
        now = self.arrivals[number]
        for choice in choices:
            delta = choice.get("delta") if type(choice) is dict else None
            if type(delta) is not dict or not delta:
                continue
            if self._first_reasoning is None and _carries(delta, _REASONING):
                self._first_reasoning = now
                if self._output_from is None:
                    self._output_from = number
            if _carries(delta, _ANSWER):
                self._first_token = now
                if self._output_from is None:
                    self._output_from = number
                return False
        return True

    def finish(self) -> None:
        """The stream ended now (first call only)."""
        if self.end is None:
            self.end = self.clock()

    def snapshot(self, usage: Mapping[str, Any] | None = None) -> StreamTimings:
        """The figures so far, as a frozen :class:`StreamTimings`.

        ``usage`` is the stream's usage object so far, if any: its
        ``completion_tokens`` then count the output tokens.
        """
        arrivals = self.arrivals
        chunks = len(arrivals)
        gaps = sorted(arrivals[i] - arrivals[i - 1] for i in range(1, chunks))
        tokens = usage.get("completion_tokens") if isinstance(usage, Mapping) else None
        if type(tokens) is not int:
            tokens = None
        output = 0 if self._output_from is None else chunks - self._output_from
        return StreamTimings(
            request_sent=self.request_sent,
            response_head=self.response_head,
            first_byte=self.first_byte,
            first_chunk=arrivals[0] if chunks else None,
            first_reasoning_token=self._first_reasoning,
            first_token=self._first_token,
            last_chunk=arrivals[-1] if chunks else None,
            end=self.end,
            chunks=chunks,
            reads=self.reads,
            output_chunks=output,
            output_tokens=tokens if tokens is not None else output,
            tokens_source="usage" if tokens is not None else "counted",
            gap_p50=_percentile(gaps, 0.5) if gaps else None,
            gap_p90=_percentile(gaps, 0.9) if gaps else None,
            gap_p99=_percentile(gaps, 0.99) if gaps else None,
            gap_max=gaps[-1] if gaps else None,
        )
