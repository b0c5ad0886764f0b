"""The records of a check: what the probe measured, the thresholds, and the report.

Small, immutable, keyword-only dataclasses; the probe builds the measurements
(:class:`CheckData` and what it holds), :func:`ssestream.check.analyse` turns them into a
:class:`Report`. Constants that several parts share (the problem codes, the request's
prompt and limits) live here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import ERROR_BODY_BYTES, StreamTimings
from .._http import media_type

__all__ = [
    "BODY_EXCERPT_BYTES",
    "DEFAULT_MAX_TIME",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_PROMPT",
    "FINISH_REASONS",
    "MAX_CHUNKS",
    "MAX_READS",
    "MODEL_WORD",
    "PROBLEM_CODES",
    "REFUSAL_CODES",
    "RUNS",
    "STREAM_HEADERS",
    "CheckData",
    "ChunkArrival",
    "ChunkDeviation",
    "Exchange",
    "NetworkRead",
    "Problem",
    "Report",
    "StreamError",
    "StreamMetrics",
    "StreamRecord",
    "Thresholds",
    "rounded",
]

DEFAULT_PROMPT = "Count from 1 to 40, separated by spaces. Reply with the numbers only."
"""The prompt of the check's chat requests: an answer of some 50 tokens, cheap but long
enough that generation, not the prompt, fills most of a healthy stream's time."""

DEFAULT_MAX_TOKENS = 120
"""``max_tokens`` of the check's chat requests."""

BODY_EXCERPT_BYTES = ERROR_BODY_BYTES
"""How much of a refused or non-streaming response body is kept: the parser's error body
budget, :data:`ssestream._parser.ERROR_BODY_BYTES` (64 KiB), so that the check reads
what a client reads to explain the error."""

DEFAULT_MAX_TIME = 180.0
"""The deadline of the whole check (every request), in seconds: ``--max-time``. With
``--timeout`` bounding each silence, the check ends however the server behaves."""

MAX_CHUNKS = 10_000
"""The probe stops reading a stream after this many chunks (the check asks for about 50
tokens), so that memory stays bounded however long a stream goes on."""

MAX_READS = 100_000
"""The probe stops reading a stream after this many network reads (a server that sends
keep-alive comments without end)."""

REFUSAL_CODES = (
    "unreachable",
    "wrong_base_url",
    "auth_failed",
    "model_not_found",
    "rate_limited",
    "server_error",
    "http_error",
)
"""Problem codes meaning the endpoint could not be reached or refused the request
(exit status 2)."""

PROBLEM_CODES = (
    *REFUSAL_CODES,
    "not_streamed",
    "bad_content_type",
    "buffered",
    "partially_buffered",
    "compressed",
    "malformed_chunks",
    "error_in_stream",
    "interrupted",
    "stalled",
    "too_long",
    "missing_done",
    "missing_terminal_event",
    "missing_usage",
    "slow_first_token",
)
"""Every problem code :func:`analyse` can report, refusals first (exit status 1 for the
others)."""

STREAM_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "cache-control",
    "x-accel-buffering",
    "transfer-encoding",
)
"""The response headers that matter for streaming, shown in the report."""

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
"""The ``finish_reason`` values of the OpenAI API reference; others are a warning."""

RUNS = {"identity": "identity", "gzip": "gzip, deflate"}
"""The streaming requests, by name, with the ``Accept-Encoding`` each sends."""

MODEL_WORD = re.compile(r"\bmodel\b", re.IGNORECASE)
"""The word "model" in an error message (not "models", as in a URL)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One HTTP request of the check and what came back, or how it failed.

    Attributes:
        method: ``"GET"`` or ``"POST"``.
        url: the URL requested.
        status: the HTTP status, or ``None`` when no response came (see ``error``).
        headers: the response headers, names in lower case (empty without a response).
        http_version: e.g. ``"HTTP/1.1"``, or ``None``.
        time: seconds from sending the request to the end of the body (non-streaming
            requests) or to the response head (streaming ones); ``None`` without a
            response.
        body: the first :data:`BODY_EXCERPT_BYTES` of the body (decoded
            ``Content-Encoding``); empty for a streaming response that was read as a
            stream.
        error: the transport failure, e.g. ``"ConnectError: [Errno 111] Connection
            refused"``, or ``None``.
        error_kind: ``"connect"``, ``"timeout"`` or ``"transport"`` when ``error`` is set.
    """

    method: str
    url: str
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    http_version: str | None = None
    time: float | None = None
    body: bytes = b""
    error: str | None = None
    error_kind: str | None = None

    @property
    def content_type(self) -> str:
        """The media type of ``Content-Type`` in lower case, without parameters ("" if none)."""
        return media_type(self.headers.get("content-type"))

    def json(self) -> Any:
        """The body decoded as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8", "replace"))
        except ValueError:
            return None


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkRead:
    """One read of the response body from the connection.

    Attributes:
        time: seconds from sending the request to the read's return.
        size: bytes read, as sent (before any ``Content-Encoding`` is undone; chunked
            transfer framing included when counted from the network).
    """

    time: float
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkArrival:
    """One chunk of a stream (a ``data:`` payload other than ``[DONE]``).

    Attributes:
        read: index in :attr:`StreamRecord.reads` of the read that completed it.
        time: that read's time, in seconds from sending the request.
        payload: the decoded JSON object, or ``None`` when it could not be decoded.
        error: why it could not be decoded (the parser's message), else ``None``.
    """

    read: int
    time: float
    payload: Mapping[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamError:
    """An error the server sent inside a 200 stream.

    Attributes:
        message: the server's error message.
        after_chunks: how many chunks came before it.
        time: seconds from sending the request to its arrival.
    """

    message: str
    after_chunks: int
    time: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamRecord:
    """What the probe measured for one streaming request.

    Attributes:
        run: ``"identity"`` or ``"gzip"`` (which ``Accept-Encoding`` was sent).
        accept_encoding: the ``Accept-Encoding`` header sent.
        exchange: the request and response head; ``exchange.time`` is the time to the
            head, ``exchange.body`` an excerpt when the response was not read as a stream
            (a status >= 300 or an HTML page).
        reads: every read of the body, in order.
        reads_source: ``"network"`` (reads of the connection) or ``"iter_raw"``
            (pieces of ``iter_raw()``, where the connection could not be observed).
        chunks: every chunk, in order.
        done: ``data: [DONE]`` arrived.
        streamed: ``True`` for an event stream, ``False`` for a plain JSON body,
            ``None`` when no body byte was decoded.
        stream_error: the error sent in the stream, or ``None``.
        transport_error: the transport failure mid-body, or ``None``.
        timed_out: the failure was the read timeout: no byte for that long.
        decode_error: why the body could not be decoded (an unknown
            ``Content-Encoding``, corrupt gzip), or ``None``.
        stopped: why the probe stopped reading before the end (``"max_time"``,
            ``"max_chunks"`` or ``"max_reads"``), or ``None``.
        api: ``"chat"`` (a chat-completion stream) or ``"responses"`` (a Responses API
            stream: each event is recorded as a chunk, ``done`` means its terminal event
            ``response.completed`` / ``response.incomplete`` arrived).
        event_reads: reads that completed at least one event (a chunk, ``[DONE]`` or an
            error), as :class:`~ssestream.StreamTimings` counts ``reads``; ``None`` in
            records made without it (then the distinct reads of the chunks count).
        end_time: seconds from sending the request to the end of the body, to
            ``[DONE]``, to the error or to the failure; ``None`` without a response.
    """

    run: str
    accept_encoding: str
    exchange: Exchange
    reads: tuple[NetworkRead, ...] = ()
    reads_source: str = "network"
    chunks: tuple[ChunkArrival, ...] = ()
    done: bool = False
    streamed: bool | None = None
    stream_error: StreamError | None = None
    transport_error: str | None = None
    timed_out: bool = False
    decode_error: str | None = None
    stopped: str | None = None
    api: str = "chat"
    event_reads: int | None = None
    end_time: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckData:
    """Everything the probe measured; the input of :func:`analyse`.

    Attributes:
        base_url: the API base URL, without a trailing slash.
        model: the model asked for.
        api_key_env: the environment variable the key was read from.
        api_key_set: whether a key was sent (the key itself is never kept).
        discovery: ``GET {base}/models``.
        non_streaming: the normal chat request, or ``None`` if the check stopped before.
        streams: the streaming requests made (``identity`` first, then ``gzip``).
        api: ``"chat"`` (``POST /chat/completions``) or ``"responses"`` (``POST
            /responses``, OpenAI's Responses API).
    """

    base_url: str
    model: str
    api: str = "chat"
    api_key_env: str = "OPENAI_API_KEY"
    api_key_set: bool = False
    discovery: Exchange | None = None
    non_streaming: Exchange | None = None
    streams: tuple[StreamRecord, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """The thresholds of the rules (see the module docstring for why each value).

    Attributes:
        min_chunks: below this many chunks nothing is said about buffering.
        few_reads: at most this many reads for ``min_chunks`` or more chunks: buffered.
        ttft_share: ``first output / total`` at or above this: buffered (the first
            output: the first reasoning or answer token, see :class:`StreamMetrics`).
        ttft_vs_non_streaming: the time to the first output at or above this share of
            the non-streaming latency, with ``first output / total >=
            ttft_share_with_reference``: buffered.
        ttft_share_with_reference: see ``ttft_vs_non_streaming``.
        burst_chunks_per_read: at least this many chunks per read: the answer came in
            a burst (the evidence ``ttft_share`` and ``ttft_vs_non_streaming`` need).
        burst_near_zero_share: or at least this share of near-zero gaps.
        near_zero_gap: a gap under this share of the mean gap is "near zero".
        near_zero_share: at least this share of near-zero gaps for partial buffering.
        top_gaps: the share of the gaps (the largest ones) whose time is measured.
        top_gaps_share: at least this share of the time in those gaps for partial
            buffering.
        slow_first_token: seconds; a first output (reasoning or answer) this late or
            later is slow.
    """

    min_chunks: int = 8
    few_reads: int = 2
    ttft_share: float = 0.9
    ttft_vs_non_streaming: float = 0.9
    ttft_share_with_reference: float = 0.75
    burst_chunks_per_read: float = 4.0
    burst_near_zero_share: float = 0.75
    near_zero_gap: float = 0.1
    near_zero_share: float = 0.5
    top_gaps: float = 0.1
    top_gaps_share: float = 0.75
    slow_first_token: float = 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One problem found, with what shows it and what to do about it.

    Attributes:
        code: one of :data:`PROBLEM_CODES`.
        message: one sentence saying what is wrong.
        evidence: the measured facts behind it, one short sentence each.
        hint: what to change (server, proxy or client side).
    """

    code: str
    message: str
    evidence: tuple[str, ...] = ()
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"code", "message", "evidence", "hint"}`` (evidence a list)."""
        return {
            "code": self.code,
            "message": self.message,
            "evidence": list(self.evidence),
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkDeviation:
    """A deviation from the OpenAI ``chat.completion.chunk`` shape, and where it occurs.

    Attributes:
        severity: ``"error"`` (clients that follow the API reference fail on it) or
            ``"warning"`` (tolerant clients accept it).
        message: what deviates, e.g. ``"choices is a str, not a list"``.
        chunks: the 1-based numbers of the chunks that have it.
    """

    severity: str
    message: str
    chunks: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"severity", "message", "chunks"}``."""
        return {"severity": self.severity, "message": self.message, "chunks": list(self.chunks)}


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamMetrics:
    """The figures of one streaming request. Times in seconds from sending the request.

    ``None`` means "not measured" (no such event, or too few values). The timing
    figures are those of :class:`~ssestream.StreamTimings` (``timings``), built by the
    library's own ``StreamTimer`` from the probe's reads: TTFT, time to first chunk,
    inter-chunk gaps, chunks per read and output tokens per second have one definition
    in the project, and ``check`` reports what ``stream.timings`` gives for the same
    stream.

    Attributes:
        run, accept_encoding: as in :class:`StreamRecord`.
        api: as in :class:`StreamRecord`: for ``"responses"`` each event counts as a
            chunk, ``done`` is the terminal event, ``finish_reason`` the final
            ``status`` and the tokens are ``input_tokens`` / ``output_tokens``.
        status, http_version: of the response.
        headers: the response headers that matter for streaming (lower-case names;
            ``None`` when absent): Content-Type, Content-Length, Content-Encoding,
            Cache-Control, X-Accel-Buffering, Transfer-Encoding.
        streamed: ``True`` for an event stream, ``False`` for one JSON body.
        time_to_headers: to the response head.
        time_to_first_byte: to the first read of the body.
        time_to_first_chunk: to the first chunk (the role chunk counts).
        ttft: time to first token as :attr:`StreamTimings.ttft` defines it: to the first
            non-empty content, refusal or tool-call fragment (reasoning does not count).
        ttft_reasoning: to the first reasoning fragment.
        time_to_first_output: the earlier of ``ttft`` and ``ttft_reasoning``, else the
            time to the first chunk: when the user first saw something. The buffering
            and ``slow_first_token`` verdicts rest on it, since streamed reasoning is
            streaming working.
        time_to_last_chunk: to the last chunk.
        total_time: to the end of the body, ``[DONE]``, the error or the failure.
        generation_time: from the first chunk with text or a tool call (the first
            visible chunk) to the last chunk: the span the gaps cover.
        chunks: chunks received (decodable or not).
        malformed_chunks: chunks with an error deviation.
        reads: reads of the body.
        reads_with_events: reads that completed at least one event
            (:attr:`StreamTimings.reads`).
        reads_source: ``"network"`` or ``"iter_raw"``.
        chunks_per_read: :attr:`StreamTimings.chunks_per_read` (decodable chunks over
            ``reads_with_events``).
        bytes: body bytes as sent (compressed size if compressed).
        inter_chunk: gaps between consecutive chunks, the role chunk included:
            ``{"p50", "p90", "p99", "max"}`` (nearest rank) from :class:`StreamTimings`,
            and ``"mean"``.
        near_zero_gap_share: share of those gaps under ``near_zero_gap`` x the mean gap
            of their phase (reasoning, then answer; the gap between them left out).
        largest_gaps_share: share of the first-to-last-chunk time spent in the largest
            ``top_gaps`` of the gaps (each measured in its phase's mean gap).
        bursts: groups of chunks separated by gaps that are not near zero.
        first_output_share: ``time_to_first_output / total_time``.
        first_output_vs_non_streaming: ``time_to_first_output`` / the non-streaming
            request's latency.
        done: ``[DONE]`` arrived.
        usage: whether some chunk carried ``usage``.
        usage_chunks: how many chunks carried it.
        prompt_tokens, completion_tokens: from the last ``usage`` seen.
        tokens_per_second: :attr:`StreamTimings.output_tokens_per_second`: output tokens
            over the time from the first output to the last chunk.
        tokens_source: ``"usage"`` (``completion_tokens`` sent) or ``"counted"``
            (chunks counted), as in :class:`StreamTimings`.
        finish_reason: the last non-null ``finish_reason`` of choice 0.
        text_chars: characters of content and reasoning text received.
        error_in_stream: the server's error message, or ``None``.
        transport_error: the transport failure, or ``None``.
        timed_out: the read timeout fired.
        timings: the :class:`~ssestream.StreamTimings` of the stream (in the JSON form,
            its ``to_dict()``).
    """

    run: str
    accept_encoding: str
    api: str = "chat"
    status: int | None = None
    http_version: str | None = None
    headers: dict[str, str | None] = field(default_factory=dict)
    streamed: bool | None = None
    time_to_headers: float | None = None
    time_to_first_byte: float | None = None
    time_to_first_chunk: float | None = None
    ttft: float | None = None
    ttft_reasoning: float | None = None
    time_to_first_output: float | None = None
    time_to_last_chunk: float | None = None
    total_time: float | None = None
    generation_time: float | None = None
    chunks: int = 0
    malformed_chunks: int = 0
    reads: int = 0
    reads_with_events: int = 0
    reads_source: str = "network"
    chunks_per_read: float | None = None
    bytes: int = 0
    inter_chunk: dict[str, float | None] = field(default_factory=dict)
    near_zero_gap_share: float | None = None
    largest_gaps_share: float | None = None
    bursts: int | None = None
    first_output_share: float | None = None
    first_output_vs_non_streaming: float | None = None
    done: bool = False
    usage: bool = False
    usage_chunks: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_per_second: float | None = None
    tokens_source: str = "counted"
    finish_reason: str | None = None
    text_chars: int = 0
    error_in_stream: str | None = None
    transport_error: str | None = None
    timed_out: bool = False
    timings: StreamTimings = field(default_factory=StreamTimings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every attribute by name, floats rounded to microseconds."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["headers"] = dict(self.headers)
        data["inter_chunk"] = dict(self.inter_chunk)
        data["timings"] = self.timings.to_dict()
        return {key: rounded(value) for key, value in data.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The result of a check: the verdict, the figures and the problems.

    Attributes:
        base_url, model: what was checked.
        problems: the problems found, refusals first; empty when streaming works.
        warnings: deviations worth knowing that do not break streaming (same shape).
        metrics: ``{"discovery", "non_streaming", "streaming", "streaming_gzip"}``, each
            a ``dict`` or ``None`` (see ``docs/cli.md``).
        deviations: chunk deviations per run: ``{"identity": [...], "gzip": [...]}``.
    """

    base_url: str
    model: str
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)
    deviations: dict[str, tuple[ChunkDeviation, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether streaming works: no problem at all (warnings allowed)."""
        return not self.problems

    @property
    def exit_status(self) -> int:
        """0: streaming works; 1: problems; 2: unreachable or the request was refused."""
        if any(problem.code in REFUSAL_CODES for problem in self.problems):
            return 2
        return 1 if self.problems else 0

    @property
    def verdict(self) -> str:
        """One line: ``"streaming works"`` or the problems' codes."""
        if not self.problems:
            return "streaming works"
        return "problems: " + ", ".join(problem.code for problem in self.problems)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` output (documented field by field in ``docs/cli.md``)."""
        return {
            "ok": self.ok,
            "exit_status": self.exit_status,
            "verdict": self.verdict,
            "base_url": self.base_url,
            "model": self.model,
            "metrics": self.metrics,
            "problems": [problem.to_dict() for problem in self.problems],
            "warnings": [warning.to_dict() for warning in self.warnings],
            "chunk_deviations": {
                run: [deviation.to_dict() for deviation in deviations]
                for run, deviations in self.deviations.items()
            },
        }


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    return value
