"""``ssestream check``: is streaming from this OpenAI-compatible endpoint really working?

Two halves with one boundary between them, as in the rest of the package:

* **the probe** (I/O, :func:`probe`): an ``httpx`` sync client sends ``GET {base}/models``,
  one normal chat request and the same request with ``"stream": true`` twice (with
  ``Accept-Encoding: identity``, then with ``gzip, deflate`` allowed as httpx, the openai
  SDK and browsers send it). For each streaming response it records every network read of
  the body (arrival time from ``time.perf_counter()`` relative to sending the request, and
  size before decompression), and feeds the body through :class:`ChatStreamParser`, so
  that the read that completed each chunk is known. It decides nothing.
* **the analysis** (pure, :func:`analyse`): from those records to metrics, chunk
  deviations and problems. It can be tested on synthetic timings without any network.

Reads. A read is one ``read()`` of the connection that returned body bytes, taken from
the ``network_stream`` that httpx exposes in ``response.extensions`` (HTTP/1.1); bytes
that came in with the response head count as a read at the head's time. Where that
extension is missing (HTTP/2, a mock transport) each piece of ``response.iter_raw()`` is
counted as a read instead (``reads_source`` says which). ``iter_raw()`` alone would not
do: it hands out each HTTP/1.1 chunk separately even when one read carried many.

Chunks. Each ``data:`` payload other than ``[DONE]`` is a chunk, numbered from 1 in
stream order, whether it could be decoded or not. The body is fed to the parser one line
at a time, so a chunk that is not JSON is attributed exactly and the check goes on with a
fresh parser after it (a client would stop there: that is reported, not imitated).

Rules (the thresholds are the fields of :class:`Thresholds`). Time ratios do not move
when the server or the machine is uniformly slower, and read counts do not depend on
time at all, so the buffering verdicts rest on them and never on one absolute duration.

The principle: each verdict needs evidence of its own cause in the stream's shape. A
buffered body shows itself by how it *arrives*: several chunks per read, near-zero gaps
between chunks, or one burst after a wait. A late first token alone is not evidence of
buffering: a server that queues the request, or a model that thinks without streaming
its reasoning, sends the first token late and then streams normally; that is
``slow_first_token``, and nothing else. These are tested as properties of
:func:`analyse`: scaling every time (and ``slow_first_token`` with them) by 0.1x-20x
changes no verdict; a constant delay before the first token of a healthy stream gives
``slow_first_token`` alone; a steady slow stream, and a long reasoning phase followed by
the answer, are healthy.
``N`` is the number of chunks, ``R`` the number of reads that completed at least one
chunk, ``TTFT`` the time to the first chunk with text (content, reasoning or refusal;
else the first tool-call fragment; else the first chunk) and ``total`` the time to the
end of the body (or to ``[DONE]``). Nothing is said about buffering below
``min_chunks`` = 8 chunks: too few to tell a burst from a stream.

* ``buffered``: the body was held back and delivered at once. Any of
  (a) ``R <= few_reads`` (2): N chunks arrived in at most two reads; a client that
  reads late collects the chunks that waited in one read, but a stream paced by
  generation keeps it reading: only a client frozen for the whole answer would see
  this from a healthy server;
  (b) ``TTFT / total >= ttft_share`` (0.9) *and the answer came in a burst*: the first
  token came in the last tenth of the response time, and then the chunks came at least
  ``burst_chunks_per_read`` (4) to a read, or with at least ``burst_near_zero_share``
  (75 %) of their gaps near zero;
  (c) ``TTFT >= ttft_vs_non_streaming`` (0.9) x the non-streaming latency and
  ``TTFT / total >= 0.75``, and the answer came in a burst (as in (b)): the stream
  waited about as long as a whole non-streamed answer, then arrived at once.
  Without the burst, (b) and (c) describe a slow first token, not a buffer.
  A ``Content-Length`` on an event stream is added as evidence (the sender knew the
  whole body in advance), never used alone.
* ``partially_buffered``: bursts separated by stalls (a proxy flushing a 4-8 KiB buffer,
  a compressor emitting blocks). Not ``buffered``, N >= 8, and both: at least
  ``near_zero_share`` (50 %) of the gaps between chunks (from the first token on) are
  "near zero", under ``near_zero_gap`` (0.1) x the mean gap; and the largest
  ``top_gaps`` (10 %) of the gaps take at least ``top_gaps_share`` (75 %) of the time
  between the first and the last chunk. An even stream has ~10 % of its time in its 10 %
  largest gaps, a jittery one (exponential gaps) ~33 %, tokens emitted in pairs or
  fours (speculative decoding) under 50 %; bursts of 8 or more chunks pass 75 %. Both are
  ratios of the stream's own gaps, so a uniformly slower stream keeps its verdict. The
  reasoning phase and the answer phase are measured apart (each against its own mean
  gap, the pause between them left out): a model may think at one pace and answer at
  another.
* ``compressed``: the streaming response had a ``Content-Encoding`` and was buffered or
  partially buffered while the uncompressed request (``Accept-Encoding: identity``) was
  not, or the server compressed even the ``identity`` request (and it buffered), or the
  encoding is one that was not asked for and cannot be decoded. A compressed stream that
  still arrives chunk by chunk is only a warning (``compressed_stream``).
* ``not_streamed``: the body was one JSON object (``stream: true`` ignored).
* ``malformed_chunks``: at least one chunk has an *error* deviation from the OpenAI
  ``chat.completion.chunk`` shape (see :func:`validate_chunk`): not JSON, not an object,
  ``choices`` not a list, a field of the wrong JSON type. Deviations that tolerant
  clients accept (a missing ``created``, ``object`` other than
  ``"chat.completion.chunk"``, a tool call without ``index``) are listed as warnings.
* ``error_in_stream``: the stream carried an error payload or ``event: error``.
* ``missing_done``: the body ended cleanly without ``data: [DONE]`` (the evidence says
  whether a ``finish_reason`` came: without one, the answer itself is cut off).
* ``missing_usage``: no chunk carried ``usage`` although ``stream_options.include_usage``
  was sent, in a stream that reached its end (``[DONE]`` or a ``finish_reason``; the
  usage chunk comes last, so a stream cut before is ``missing_done`` alone).
* ``interrupted``: the connection failed mid-body (reset, incomplete chunked body).
* ``stalled``: no byte for the read timeout (``--timeout``) before the stream ended.
* ``too_long``: the stream was still going when the check stopped reading it: the
  deadline of the whole check (``--max-time``) ran out, or it passed :data:`MAX_CHUNKS`
  chunks or :data:`MAX_READS` reads (the request asks for ``max_tokens`` 120).
* ``slow_first_token``: ``TTFT >= slow_first_token`` (3 s by default). This one is a
  user-facing latency, so an absolute threshold is the point; it is not reported when
  the stream was buffered (the buffering is the cause).
* ``bad_content_type``: an event stream served without ``Content-Type:
  text/event-stream`` (browsers' ``EventSource`` and several SDKs refuse it).
* refusals, which stop the check (exit status 2): ``unreachable`` (no connection or no
  answer), ``wrong_base_url`` (404/405, a redirect, or an HTML page where the API should
  be), ``auth_failed`` (401/403), ``model_not_found``, ``rate_limited`` (429),
  ``server_error`` (5xx), ``http_error`` (any other status >= 300).

``missing_done`` and ``missing_usage`` are left out when the stream was cut short by an
error, an interruption or a stall, and every stream rule when the body was not an event
stream: the root cause is reported, not its consequences. A missing
``X-Accel-Buffering`` header is never a problem by itself: it is shown with the other
headers that matter for streaming.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ._exceptions import ChunkParseError, LimitExceededError, StreamAPIError
from ._parser import END, ERROR_BODY_BYTES, NEED_DATA, ChatStreamParser, error_fields
from ._redact import redact_text, redact_url
from ._types import ChatCompletionChunk

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_PROMPT",
    "PROBLEM_CODES",
    "REFUSAL_CODES",
    "CheckData",
    "CheckObserver",
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
    "analyse",
    "analyse_stream",
    "percentile",
    "probe",
    "validate_chunk",
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
    "missing_usage",
    "slow_first_token",
)
"""Every problem code :func:`analyse` can report, refusals first (exit status 1 for the
others)."""

_STREAM_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "cache-control",
    "x-accel-buffering",
    "transfer-encoding",
)
_FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
_RUNS = {"identity": "identity", "gzip": "gzip, deflate"}
_MODEL_WORD = re.compile(r"\bmodel\b", re.IGNORECASE)  # "model", not "models" (a URL)


# --------------------------------------------------------------------------- records


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
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

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
    """

    base_url: str
    model: str
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
        ttft_share: ``TTFT / total`` at or above this: buffered.
        ttft_vs_non_streaming: ``TTFT`` at or above this share of the non-streaming
            latency, with ``TTFT / total >= ttft_share_with_reference``: buffered.
        ttft_share_with_reference: see ``ttft_vs_non_streaming``.
        burst_chunks_per_read: at least this many chunks per read: the answer came in
            a burst (the evidence ``ttft_share`` and ``ttft_vs_non_streaming`` need).
        burst_near_zero_share: or at least this share of near-zero gaps.
        near_zero_gap: a gap under this share of the mean gap is "near zero".
        near_zero_share: at least this share of near-zero gaps for partial buffering.
        top_gaps: the share of the gaps (the largest ones) whose time is measured.
        top_gaps_share: at least this share of the time in those gaps for partial
            buffering.
        slow_first_token: seconds; a TTFT at or above it is slow.
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

    ``None`` means "not measured" (no such event, or too few values).

    Attributes:
        run, accept_encoding: as in :class:`StreamRecord`.
        status, http_version: of the response.
        headers: the response headers that matter for streaming (lower-case names;
            ``None`` when absent): Content-Type, Content-Length, Content-Encoding,
            Cache-Control, X-Accel-Buffering, Transfer-Encoding.
        streamed: ``True`` for an event stream, ``False`` for one JSON body.
        time_to_headers: to the response head.
        time_to_first_byte: to the first read of the body.
        time_to_first_chunk: to the first chunk.
        ttft: to the first text (content, reasoning or refusal), else to the first
            tool-call fragment.
        ttft_content, ttft_reasoning: to the first content (or refusal) text and to the
            first reasoning text; both are given, and ``ttft`` is the earlier.
        time_to_last_chunk: to the last chunk.
        total_time: to the end of the body, ``[DONE]``, the error or the failure.
        generation_time: from the first chunk with text or a tool call (the first
            visible chunk) to the last chunk: the span the gaps cover.
        chunks: chunks received (decodable or not).
        malformed_chunks: chunks with an error deviation.
        reads: reads of the body.
        reads_with_chunks: distinct reads that completed at least one chunk.
        reads_source: ``"network"`` or ``"iter_raw"``.
        chunks_per_read: ``chunks / reads_with_chunks``.
        bytes: body bytes as sent (compressed size if compressed).
        inter_chunk: gaps between consecutive chunks from the first token on:
            ``{"p50", "p90", "p99", "max", "mean"}`` (linear interpolation).
        near_zero_gap_share: share of those gaps under ``near_zero_gap`` x the mean gap
            of their phase (reasoning, then answer; the gap between them left out).
        largest_gaps_share: share of the first-to-last-chunk time spent in the largest
            ``top_gaps`` of the gaps (each measured in its phase's mean gap).
        bursts: groups of chunks separated by gaps that are not near zero.
        ttft_share: ``ttft / total_time``.
        ttft_vs_non_streaming: ``ttft`` / the non-streaming request's latency.
        done: ``[DONE]`` arrived.
        usage: whether some chunk carried ``usage``.
        usage_chunks: how many chunks carried it.
        prompt_tokens, completion_tokens: from the last ``usage`` seen.
        tokens_per_second: ``completion_tokens / generation_time``.
        finish_reason: the last non-null ``finish_reason`` of choice 0.
        text_chars: characters of content and reasoning text received.
        error_in_stream: the server's error message, or ``None``.
        transport_error: the transport failure, or ``None``.
        timed_out: the read timeout fired.
    """

    run: str
    accept_encoding: str
    status: int | None = None
    http_version: str | None = None
    headers: dict[str, str | None] = field(default_factory=dict)
    streamed: bool | None = None
    time_to_headers: float | None = None
    time_to_first_byte: float | None = None
    time_to_first_chunk: float | None = None
    ttft: float | None = None
    ttft_content: float | None = None
    ttft_reasoning: float | None = None
    time_to_last_chunk: float | None = None
    total_time: float | None = None
    generation_time: float | None = None
    chunks: int = 0
    malformed_chunks: int = 0
    reads: int = 0
    reads_with_chunks: int = 0
    reads_source: str = "network"
    chunks_per_read: float | None = None
    bytes: int = 0
    inter_chunk: dict[str, float | None] = field(default_factory=dict)
    near_zero_gap_share: float | None = None
    largest_gaps_share: float | None = None
    bursts: int | None = None
    ttft_share: float | None = None
    ttft_vs_non_streaming: float | None = None
    done: bool = False
    usage: bool = False
    usage_chunks: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_per_second: float | None = None
    finish_reason: str | None = None
    text_chars: int = 0
    error_in_stream: str | None = None
    transport_error: str | None = None
    timed_out: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every attribute by name, floats rounded to microseconds."""
        return {key: _rounded(value) for key, value in asdict(self).items()}


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


# --------------------------------------------------------------------------- analysis


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of ``values`` by linear interpolation, or ``None``.

    Linear interpolation between the closest ranks (numpy's default): the 50th of
    ``[1, 2, 3, 4]`` is 2.5. ``None`` for an empty sequence.
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_chunk(payload: Any) -> list[tuple[str, str]]:
    """Check one decoded chunk against the OpenAI ``chat.completion.chunk`` object.

    Source: the OpenAI API reference, "The chat completion chunk object". Returns a list
    of ``(severity, message)``, empty when the chunk conforms. ``"error"``: a client
    that follows the reference fails on it (the wrong JSON type for a field it reads,
    ``choices`` missing). ``"warning"``: a required field missing or with an unexpected
    value that tolerant clients accept (``created`` missing, ``object`` other than
    ``"chat.completion.chunk"``, a tool call or choice without ``index``, typed content
    parts, a provider's own ``finish_reason``).
    """
    found: list[tuple[str, str]] = []

    def error(message: str) -> None:
        found.append(("error", message))

    def warn(message: str) -> None:
        found.append(("warning", message))

    if not isinstance(payload, Mapping):
        return [("error", f"the chunk is a JSON {_kind(payload)}, not an object")]
    if "id" not in payload:
        warn("id is missing")
    elif not isinstance(payload["id"], str):
        error(f"id is a {_kind(payload['id'])}, not a string")
    if payload.get("object") != "chat.completion.chunk":
        if "object" not in payload:
            warn("object is missing")
        else:
            warn(f"object is {payload['object']!r}, not 'chat.completion.chunk'")
    if "created" not in payload:
        warn("created is missing")
    elif not _is_int(payload["created"]):
        error(f"created is a {_kind(payload['created'])}, not an integer")
    if "model" not in payload:
        warn("model is missing")
    elif not isinstance(payload["model"], str):
        error(f"model is a {_kind(payload['model'])}, not a string")
    usage = payload.get("usage")
    if usage is not None:
        if not isinstance(usage, Mapping):
            error(f"usage is a {_kind(usage)}, not an object")
        else:
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                if name not in usage:
                    warn(f"usage.{name} is missing")
                elif not _is_int(usage[name]):
                    error(f"usage.{name} is a {_kind(usage[name])}, not an integer")
    if "choices" not in payload:
        error("choices is missing")
        return found
    choices = payload["choices"]
    if not isinstance(choices, list):
        error(f"choices is a {_kind(choices)}, not a list")
        return found
    for position, choice in enumerate(choices):
        where = f"choices[{position}]"
        if not isinstance(choice, Mapping):
            error(f"{where} is a {_kind(choice)}, not an object")
            continue
        if "index" not in choice:
            warn(f"{where}.index is missing")
        elif not _is_int(choice["index"]):
            error(f"{where}.index is a {_kind(choice['index'])}, not an integer")
        reason = choice.get("finish_reason")
        if reason is not None:
            if not isinstance(reason, str):
                error(f"{where}.finish_reason is a {_kind(reason)}, not a string")
            elif reason not in _FINISH_REASONS:
                warn(f"{where}.finish_reason {reason!r} is not one of the API's values")
        logprobs = choice.get("logprobs")
        if logprobs is not None and not isinstance(logprobs, Mapping):
            error(f"{where}.logprobs is a {_kind(logprobs)}, not an object")
        if "delta" not in choice:
            warn(f"{where}.delta is missing")
            continue
        delta = choice["delta"]
        if not isinstance(delta, Mapping):
            error(f"{where}.delta is a {_kind(delta)}, not an object")
            continue
        _validate_delta(delta, f"{where}.delta", error, warn)
    return found


def _validate_delta(
    delta: Mapping[str, Any],
    where: str,
    error: Callable[[str], None],
    warn: Callable[[str], None],
) -> None:
    for name in ("role", "refusal"):
        value = delta.get(name)
        if value is not None and not isinstance(value, str):
            error(f"{where}.{name} is a {_kind(value)}, not a string")
    content = delta.get("content")
    if isinstance(content, list):
        warn(f"{where}.content is a list of parts, not a string")
    elif content is not None and not isinstance(content, str):
        error(f"{where}.content is a {_kind(content)}, not a string")
    for name in ("reasoning_content", "reasoning"):
        value = delta.get(name)
        if value is not None and not isinstance(value, str):
            warn(f"{where}.{name} is a {_kind(value)}, not a string")
    function_call = delta.get("function_call")
    if function_call is not None and not isinstance(function_call, Mapping):
        error(f"{where}.function_call is a {_kind(function_call)}, not an object")
    calls = delta.get("tool_calls")
    if calls is None:
        return
    if not isinstance(calls, list):
        error(f"{where}.tool_calls is a {_kind(calls)}, not a list")
        return
    for number, call in enumerate(calls):
        at = f"{where}.tool_calls[{number}]"
        if not isinstance(call, Mapping):
            error(f"{at} is a {_kind(call)}, not an object")
            continue
        if "index" not in call:
            warn(f"{at}.index is missing")
        elif not _is_int(call["index"]):
            error(f"{at}.index is a {_kind(call['index'])}, not an integer")
        if call.get("id") is not None and not isinstance(call["id"], str):
            error(f"{at}.id is a {_kind(call['id'])}, not a string")
        function = call.get("function")
        if function is None:
            continue
        if not isinstance(function, Mapping):
            error(f"{at}.function is a {_kind(function)}, not an object")
            continue
        for name in ("name", "arguments"):
            value = function.get(name)
            if value is not None and not isinstance(value, str):
                error(f"{at}.function.{name} is a {_kind(value)}, not a string")


def _deviations(chunks: Sequence[ChunkArrival]) -> tuple[ChunkDeviation, ...]:
    """Every chunk's deviations, grouped by message, errors first, in order of appearance."""
    grouped: dict[tuple[str, str], list[int]] = {}
    for number, chunk in enumerate(chunks, 1):
        if chunk.payload is None:
            found = [("error", chunk.error or "not a JSON object")]
        else:
            found = validate_chunk(chunk.payload)
        for key in dict.fromkeys(found):
            grouped.setdefault(key, []).append(number)
    ordered = sorted(grouped.items(), key=lambda item: item[0][0] != "error")
    return tuple(
        ChunkDeviation(severity=severity, message=message, chunks=tuple(numbers))
        for (severity, message), numbers in ordered
    )


def _chunk_numbers(numbers: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(number) for number in numbers[:limit])
    if len(numbers) > limit:
        shown += f", ... ({len(numbers)} chunks)"
    return shown


@dataclass(slots=True)
class _Text:
    """What one chunk carries that a user would see (choice 0 and any other)."""

    content: int = 0
    reasoning: int = 0
    visible: bool = False


def _text_of(payload: Mapping[str, Any] | None) -> _Text:
    found = _Text()
    if payload is None:
        return found
    try:
        chunk = ChatCompletionChunk(dict(payload))
        for choice in chunk.choices:
            delta = choice.delta
            content = delta.content
            reasoning = delta.reasoning_content
            refusal = delta.refusal
            if isinstance(content, str):
                found.content += len(content)
            if isinstance(reasoning, str):
                found.reasoning += len(reasoning)
            if isinstance(refusal, str) and refusal:
                found.content += len(refusal)
            if delta.get("tool_calls") or delta.get("function_call"):
                found.visible = True
    except (AttributeError, TypeError):  # a malformed chunk: it shows nothing
        return _Text()
    found.visible = found.visible or bool(found.content or found.reasoning)
    return found


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def _phase_gaps(chunks: Sequence[ChunkArrival], texts: Sequence[_Text], start: int) -> list[float]:
    """The gaps between chunks from ``start`` on, each divided by its phase's mean gap.

    A reasoning model may think at one pace and answer at another (reasoning summaries a
    second apart, then the answer at 20 ms): measured together, the answer's gaps would
    look "near zero" next to the reasoning's, and the reasoning's like stalls. So the
    reasoning phase (up to the first chunk with content, a refusal or a tool call) and
    the answer phase are measured apart, and the gap between them is left out. Each
    phase's gaps are normalised to a mean of 1, which keeps every ratio of the shape.
    """
    answer = next(
        (i for i in range(start, len(texts)) if texts[i].visible and not texts[i].reasoning),
        None,
    )
    bounds = [start, len(chunks)]
    if answer is not None and answer > start:
        bounds = [start, answer, len(chunks)]
    normalised: list[float] = []
    for low, high in itertools.pairwise(bounds):
        gaps = [b.time - a.time for a, b in itertools.pairwise(chunks[low:high])]
        mean = sum(gaps) / len(gaps) if gaps else 0.0
        normalised.extend(gap / mean if mean > 0 else 0.0 for gap in gaps)
    return normalised


def _gap_shape(
    gaps: Sequence[float], thresholds: Thresholds
) -> tuple[float | None, float | None, int | None]:
    """(near-zero share, largest-gaps share, bursts) of a stream's gaps."""
    if not gaps:
        return None, None, None
    span = sum(gaps)
    if span <= 0:
        return 1.0, None, 1
    mean = span / len(gaps)
    near = [gap < thresholds.near_zero_gap * mean for gap in gaps]
    top = max(1, math.ceil(thresholds.top_gaps * len(gaps)))
    largest = sum(sorted(gaps, reverse=True)[:top])
    return sum(near) / len(gaps), largest / span, 1 + near.count(False)


def analyse_stream(
    record: StreamRecord,
    *,
    non_streaming_time: float | None = None,
    thresholds: Thresholds | None = None,
) -> tuple[StreamMetrics, tuple[ChunkDeviation, ...]]:
    """The figures and the chunk deviations of one streaming request (pure).

    Args:
        record: what the probe measured.
        non_streaming_time: the latency of the normal request, in seconds, for
            ``ttft_vs_non_streaming``; ``None`` if unknown.
        thresholds: for the gap shape (``near_zero_gap``, ``top_gaps``).
    """
    thresholds = thresholds or Thresholds()
    exchange = record.exchange
    headers = {name: exchange.headers.get(name) for name in _STREAM_HEADERS}
    chunks = record.chunks
    # A plain JSON body is a chat.completion, not chunks: not_streamed says it all.
    deviations = _deviations(chunks) if record.streamed is not False else ()
    malformed = {
        number
        for deviation in deviations
        if deviation.severity == "error"
        for number in deviation.chunks
    }
    texts = [_text_of(chunk.payload) for chunk in chunks]
    ttft_content = next((c.time for c, t in zip(chunks, texts, strict=True) if t.content), None)
    ttft_reasoning = next((c.time for c, t in zip(chunks, texts, strict=True) if t.reasoning), None)
    first_visible = next((i for i, t in enumerate(texts) if t.visible), None)
    texts_at = [at for at in (ttft_content, ttft_reasoning) if at is not None]
    if texts_at:
        ttft: float | None = min(texts_at)
    elif first_visible is not None:
        ttft = chunks[first_visible].time
    else:
        ttft = chunks[0].time if chunks else None
    start = first_visible if first_visible is not None else 0
    times = [chunk.time for chunk in chunks[start:]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    near_zero, largest, bursts = _gap_shape(_phase_gaps(chunks, texts, start), thresholds)
    inter_chunk = {
        "p50": percentile(gaps, 50),
        "p90": percentile(gaps, 90),
        "p99": percentile(gaps, 99),
        "max": max(gaps) if gaps else None,
        "mean": sum(gaps) / len(gaps) if gaps else None,
    }
    usage_payloads = [
        chunk.payload["usage"]
        for chunk in chunks
        if chunk.payload is not None and isinstance(chunk.payload.get("usage"), Mapping)
    ]
    usage = usage_payloads[-1] if usage_payloads else {}
    prompt_tokens = usage.get("prompt_tokens")
    prompt_tokens = prompt_tokens if _is_int(prompt_tokens) else None
    completion_tokens = usage.get("completion_tokens")
    completion_tokens = completion_tokens if _is_int(completion_tokens) else None
    finish_reason = None
    for chunk in chunks:
        choices = chunk.payload.get("choices") if chunk.payload is not None else None
        for choice in choices if isinstance(choices, list) else ():
            if isinstance(choice, Mapping) and choice.get("index", 0) == 0:
                reason = choice.get("finish_reason")
                if isinstance(reason, str):
                    finish_reason = reason
    last = chunks[-1].time if chunks else None
    generation = (
        None if last is None or first_visible is None else last - chunks[first_visible].time
    )
    tokens_per_second = None
    if completion_tokens is not None and generation is not None and generation > 0:
        tokens_per_second = completion_tokens / generation
    reads_with_chunks = len({chunk.read for chunk in chunks})
    metrics = StreamMetrics(
        run=record.run,
        accept_encoding=record.accept_encoding,
        status=exchange.status,
        http_version=exchange.http_version,
        headers=headers,
        streamed=record.streamed,
        time_to_headers=exchange.time,
        time_to_first_byte=record.reads[0].time if record.reads else None,
        time_to_first_chunk=chunks[0].time if chunks else None,
        ttft=ttft,
        ttft_content=ttft_content,
        ttft_reasoning=ttft_reasoning,
        time_to_last_chunk=last,
        total_time=record.end_time,
        generation_time=generation,
        chunks=len(chunks),
        malformed_chunks=len(malformed),
        reads=len(record.reads),
        reads_with_chunks=reads_with_chunks,
        reads_source=record.reads_source,
        chunks_per_read=_ratio(len(chunks), reads_with_chunks),
        bytes=sum(read.size for read in record.reads),
        inter_chunk=inter_chunk,
        near_zero_gap_share=near_zero,
        largest_gaps_share=largest,
        bursts=bursts,
        ttft_share=_ratio(ttft, record.end_time),
        ttft_vs_non_streaming=_ratio(ttft, non_streaming_time),
        done=record.done,
        usage=bool(usage_payloads),
        usage_chunks=len(usage_payloads),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        tokens_per_second=tokens_per_second,
        finish_reason=finish_reason,
        text_chars=sum(text.content + text.reasoning for text in texts),
        error_in_stream=record.stream_error.message if record.stream_error else None,
        transport_error=record.transport_error,
        timed_out=record.timed_out,
    )
    return metrics, deviations


def _s(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds:.3f} s"


def _burst(metrics: StreamMetrics, thresholds: Thresholds) -> str | None:
    """How the answer came in one burst (for the evidence), or ``None`` if it did not.

    A burst: the chunks from the first token on came several to a read
    (``chunks_per_read >= burst_chunks_per_read``), or with most gaps between them near
    zero (``near_zero_gap_share >= burst_near_zero_share``). Both are counts or ratios of
    the stream's own gaps, so a uniformly slower stream keeps its verdict.
    """
    per_read = metrics.chunks_per_read
    if per_read is not None and per_read >= thresholds.burst_chunks_per_read:
        reads = metrics.reads_with_chunks
        return f"{metrics.chunks} chunks in {reads} reads ({per_read:.1f} per read)"
    near_zero = metrics.near_zero_gap_share
    if near_zero is not None and near_zero >= thresholds.burst_near_zero_share:
        return f"{near_zero:.0%} of the gaps between chunks near zero"
    return None


def _buffering(metrics: StreamMetrics, thresholds: Thresholds) -> Problem | None:
    """``buffered`` or ``partially_buffered`` for one stream, or ``None``."""
    n = metrics.chunks
    if n < thresholds.min_chunks or not metrics.streamed:
        return None
    reads = metrics.reads_with_chunks
    ttft = metrics.ttft
    evidence: list[str] = []
    if reads <= thresholds.few_reads:
        evidence.append(f"{n} chunks arrived in {reads} read{'s' if reads != 1 else ''}")
    burst = _burst(metrics, thresholds)
    share = metrics.ttft_share
    if burst is not None and share is not None and share >= thresholds.ttft_share:
        evidence.append(
            f"the first token came at {_s(ttft)} of {_s(metrics.total_time)} "
            f"({share:.0%} of the response time), then {burst}"
        )
    reference = metrics.ttft_vs_non_streaming
    if (
        burst is not None
        and not evidence
        and reference is not None
        and reference >= thresholds.ttft_vs_non_streaming
        and share is not None
        and share >= thresholds.ttft_share_with_reference
    ):
        evidence.append(
            f"the first token came at {_s(ttft)}, {reference:.0%} of the "
            f"{_s(ttft / reference if ttft is not None else None)} the whole "
            f"non-streaming answer took, then {burst}"
        )
    length = metrics.headers.get("content-length")
    if evidence:
        if length is not None:
            evidence.append(
                f"Content-Length: {length} on an event stream: the whole body was known "
                "before it was sent"
            )
        return Problem(
            code="buffered",
            message="the stream is buffered: the answer arrives all at once, not as it is "
            "generated",
            evidence=tuple(evidence),
            hint="Something between the model and this client holds the body until it is "
            "complete. Behind nginx set `proxy_buffering off;` (or send `X-Accel-Buffering: "
            "no` from the app); turn off response buffering in the load balancer, API "
            "gateway or CDN; make the app flush each event (no whole-body middleware, no "
            "Content-Length). If the prompt is long and the answer short, re-run with a "
            "longer answer (--max-tokens) before concluding.",
        )
    near_zero, largest = metrics.near_zero_gap_share, metrics.largest_gaps_share
    if (
        near_zero is None
        or largest is None
        or near_zero < thresholds.near_zero_share
        or largest < thresholds.top_gaps_share
    ):
        return None
    mean = metrics.inter_chunk.get("mean")
    return Problem(
        code="partially_buffered",
        message="the stream arrives in bursts separated by stalls",
        evidence=(
            f"{near_zero:.0%} of the gaps between chunks are near zero (under "
            f"{thresholds.near_zero_gap:.0%} of the mean gap of {_s(mean)})",
            f"the largest {thresholds.top_gaps:.0%} of the gaps take {largest:.0%} of the "
            f"time from the first token to the last chunk ({_s(metrics.generation_time)}); "
            f"the longest is "
            f"{_s(metrics.inter_chunk.get('max'))}",
            f"{n} chunks in {metrics.bursts} bursts, {reads} reads "
            f"({metrics.chunks_per_read or 0:.1f} chunks per read)",
        ),
        hint="A proxy or the server flushes in blocks. Behind nginx set `proxy_buffering off;` "
        "(a 4-8 KiB proxy buffer gives exactly this); don't compress text/event-stream; "
        "make the server flush after each event. A provider that emits a few tokens at "
        "once (speculative decoding) makes small bursts, which are normal.",
    )


def _media(headers: Mapping[str, str | None], name: str = "content-type") -> str:
    value = headers.get(name) or ""
    return value.split(";", 1)[0].strip().lower()


def _stream_problems(
    record: StreamRecord,
    metrics: StreamMetrics,
    deviations: Sequence[ChunkDeviation],
    thresholds: Thresholds,
) -> list[Problem]:
    """The problems of one stream whose head was accepted (refusals are handled apart)."""
    problems: list[Problem] = []
    media = _media(metrics.headers)
    if record.decode_error is not None:
        problems.append(
            Problem(
                code="compressed",
                message="the stream could not be decoded: "
                f"Content-Encoding {metrics.headers.get('content-encoding')!r}",
                evidence=(record.decode_error,),
                hint="Don't compress text/event-stream responses, or at least honour "
                f"the client's Accept-Encoding ({record.accept_encoding!r} was sent).",
            )
        )
        return problems
    if record.streamed is False:
        problems.append(
            Problem(
                code="not_streamed",
                message="the server answered `stream: true` with one JSON object, not an "
                "event stream",
                evidence=(
                    f"Content-Type: {metrics.headers.get('content-type')}",
                    f"one body of {metrics.bytes} bytes in {metrics.reads} "
                    f"read{'s' if metrics.reads != 1 else ''}, complete at "
                    f"{_s(metrics.total_time)}",
                ),
                hint="The server or a gateway in front of it ignores `stream: true`: check "
                "that the backend can stream this model and that no proxy rewrites the "
                "request body or collects the response.",
            )
        )
        return problems
    if record.streamed and media != "text/event-stream":
        shown = metrics.headers.get("content-type")
        problems.append(
            Problem(
                code="bad_content_type",
                message="the event stream is served "
                + (f"with Content-Type {shown!r}" if shown else "without a Content-Type"),
                evidence=(
                    f"Content-Type: {shown if shown else '(none)'}; the body is an event "
                    f"stream of {metrics.chunks} chunks",
                ),
                hint="Send `Content-Type: text/event-stream` (with `Cache-Control: "
                "no-cache`) on streaming responses: browsers' EventSource and several "
                "clients refuse anything else, and proxies pass event streams through "
                "unbuffered only when they recognise them.",
            )
        )
    errors = [deviation for deviation in deviations if deviation.severity == "error"]
    if errors:
        problems.append(
            Problem(
                code="malformed_chunks",
                message=f"{metrics.malformed_chunks} of {metrics.chunks} chunks do not have "
                "the chat.completion.chunk shape",
                evidence=tuple(
                    f"chunk {_chunk_numbers(deviation.chunks)}: {deviation.message}"
                    for deviation in errors[:5]
                ),
                hint="Each `data:` payload must be one complete JSON chat.completion.chunk "
                "(OpenAI API reference): clients stop at the first one they cannot parse. "
                "Check the server's serialisation, and any proxy that rewrites the body.",
            )
        )
    cut_short = False
    if record.stream_error is not None:
        cut_short = True
        error = record.stream_error
        problems.append(
            Problem(
                code="error_in_stream",
                message="the server sent an error inside the stream",
                evidence=(
                    f"after {error.after_chunks} chunks, at {_s(error.time)}: {error.message}",
                ),
                hint="The request failed after the stream began with HTTP 200, so clients "
                "see the error only inside the stream. Read the message; retry if it is "
                "transient (overload, an upstream timeout).",
            )
        )
    if record.timed_out:
        cut_short = True
        last = record.reads[-1].time if record.reads else metrics.time_to_headers
        problems.append(
            Problem(
                code="stalled",
                message="the stream stalled: the server stopped sending without ending it",
                evidence=(
                    f"no byte from {_s(last)} until the read timeout at "
                    f"{_s(record.end_time)}, after {metrics.chunks} chunks",
                    *(("[DONE] never came",) if not record.done else ()),
                ),
                hint="A hung backend, or a proxy waiting to fill a buffer. During long "
                "pauses the server should send keep-alive comments (`: ping`); check the "
                "server logs and the proxy's read timeout.",
            )
        )
    elif record.stopped is not None:
        cut_short = True
        limit = {
            "max_time": "the deadline of the whole check (--max-time) ran out",
            "max_chunks": f"the check reads at most {MAX_CHUNKS} chunks",
            "max_reads": f"the check reads at most {MAX_READS} reads",
        }.get(record.stopped, record.stopped)
        problems.append(
            Problem(
                code="too_long",
                message="the stream was still going when the check stopped reading it",
                evidence=(
                    f"{metrics.chunks} chunks in {metrics.reads} reads up to "
                    f"{_s(record.end_time)}, no end: {limit}",
                ),
                hint="The request asks for a short answer (max_tokens), so its stream "
                "should end in seconds with `data: [DONE]`: check that the server "
                "honours max_tokens and ends the stream, and that no proxy keeps the "
                "connection open after it. A very slow model may need a larger --max-time.",
            )
        )
    elif record.transport_error is not None:
        cut_short = True
        problems.append(
            Problem(
                code="interrupted",
                message="the connection failed in the middle of the stream",
                evidence=(
                    f"after {metrics.chunks} chunks and {metrics.reads} reads, at "
                    f"{_s(record.end_time)}: {record.transport_error}",
                ),
                hint="The connection was closed or reset mid-stream: a proxy's idle or "
                "total timeout (nginx `proxy_read_timeout`), a load balancer draining, or "
                "a server crash. Check the proxy timeouts and the server logs.",
            )
        )
    if not cut_short and not record.done and record.streamed:
        reason = metrics.finish_reason
        problems.append(
            Problem(
                code="missing_done",
                message="the stream ended without `data: [DONE]`",
                evidence=(
                    f"the body ended after {metrics.chunks} chunks, at {_s(record.end_time)}",
                    f"finish_reason: {reason}"
                    if reason
                    else "no chunk had a finish_reason: the answer is cut off",
                ),
                hint="OpenAI ends every stream with `data: [DONE]` after the last chunk "
                "(and after the usage chunk); clients that wait for it hang or report an "
                "incomplete answer.",
            )
        )
    ended = record.done or metrics.finish_reason is not None
    if not cut_short and ended and record.streamed and not metrics.usage:
        problems.append(
            Problem(
                code="missing_usage",
                message="no chunk carried `usage`, although "
                "`stream_options.include_usage` was sent",
                evidence=(f"none of the {metrics.chunks} chunks had a usage object",),
                hint='The server ignores `stream_options: {"include_usage": true}` '
                "(OpenAI answers it with a last chunk that has empty choices and the "
                "usage): upgrade or configure the server, or count tokens on the client.",
            )
        )
    buffering = _buffering(metrics, thresholds)
    if buffering is not None:
        problems.append(buffering)
    ttft = metrics.ttft
    if (
        (buffering is None or buffering.code != "buffered")
        and ttft is not None
        and ttft >= thresholds.slow_first_token
    ):
        problems.append(
            Problem(
                code="slow_first_token",
                message=f"the first token took {_s(ttft)}",
                evidence=(
                    f"response head after {_s(metrics.time_to_headers)}, first chunk after "
                    f"{_s(metrics.time_to_first_chunk)}, first token after {_s(ttft)} "
                    f"(threshold {thresholds.slow_first_token:g} s)",
                ),
                hint="The server takes long before the first token: a queue, a long "
                "prompt, a cold model, or hidden reasoning (reasoning models that don't "
                "stream their reasoning wait longer; that is normal for them). A head "
                "that came early means the wait is in the model server, not the network.",
            )
        )
    return problems


def _refusal(exchange: Exchange, *, what: str, key_env: str, key_set: bool) -> Problem | None:
    """The problem of a request that got no usable answer, or ``None`` if it got one."""
    shown = f"{exchange.method} {exchange.url}"
    if exchange.error is not None:
        return Problem(
            code="unreachable",
            message=f"no answer from {what}",
            evidence=(f"{shown}: {exchange.error}",),
            hint="Check the host and port of --base-url, that the server runs, and any "
            "proxy (HTTPS_PROXY) or firewall on the way."
            if exchange.error_kind != "timeout"
            else "The server accepted nothing or said nothing within the timeout: check "
            "that it runs and is not overloaded, or raise --timeout.",
        )
    status = exchange.status or 0
    body = exchange.body.decode("utf-8", "replace").strip()
    excerpt = " ".join(body[:200].split())
    payload = exchange.json()
    error = payload.get("error") if isinstance(payload, dict) else None
    error_text = json.dumps(error)[:300] if error is not None else excerpt
    evidence = (f"{shown}: HTTP {status}" + (f": {error_text}" if error_text else ""),)
    is_html = exchange.content_type == "text/html" or body[:1] == "<"
    base_hint = (
        "The base URL must be the API root that /chat/completions is under, usually "
        "ending in /v1 (e.g. https://api.openai.com/v1, http://localhost:11434/v1)."
    )
    if 300 <= status < 400:
        location = exchange.headers.get("location", "?")
        return Problem(
            code="wrong_base_url",
            message=f"{what} redirects (HTTP {status}) to {location}",
            evidence=evidence,
            hint=base_hint + " Use the address it redirects to (http to https?).",
        )
    if status in (401, 403):
        return Problem(
            code="auth_failed",
            message=f"{what} refused the API key (HTTP {status})",
            evidence=evidence,
            hint=f"Check the key in ${key_env} (--api-key-env selects the variable) and "
            "its permissions for this model."
            if key_set
            else f"No key was sent: ${key_env} is not set. Export it, or name another "
            "variable with --api-key-env.",
        )
    # The parser's reading of an error payload: OpenAI's shape, Ollama's, vLLM's...
    message, _, code, _ = error_fields(payload)
    mentions_model = code == "model_not_found" or (
        message is not None and _MODEL_WORD.search(message) is not None
    )
    if status in (400, 404) and mentions_model:
        return Problem(
            code="model_not_found",
            message=f"{what}: the model is unknown to this endpoint (HTTP {status})",
            evidence=evidence,
            hint="Check --model against GET {base}/models (shown above when it answered).",
        )
    if status in (404, 405) or (status < 300 and is_html):
        return Problem(
            code="wrong_base_url",
            message=f"{what}: "
            + (
                "an HTML page answered where the API should be"
                if is_html
                else f"HTTP {status}: no OpenAI-compatible API at this address"
            ),
            evidence=evidence,
            hint=base_hint
            + (" An HTML page is often a web UI or a login page." if is_html else ""),
        )
    if status == 429:
        return Problem(
            code="rate_limited",
            message=f"{what} is rate limited (HTTP 429)",
            evidence=evidence
            + (
                (f"Retry-After: {exchange.headers['retry-after']}",)
                if "retry-after" in exchange.headers
                else ()
            ),
            hint="Wait and retry (honour Retry-After), or check the quota of the key.",
        )
    if status >= 500:
        return Problem(
            code="server_error",
            message=f"{what} failed on the server side (HTTP {status})",
            evidence=evidence,
            hint="A 502/503/504 usually comes from a proxy whose upstream is down or slow; "
            "a 500 from the model server. Check their logs, and retry.",
        )
    if status >= 300:
        return Problem(
            code="http_error",
            message=f"{what} was refused (HTTP {status})",
            evidence=evidence,
            hint="Read the error message above: the request was rejected as sent.",
        )
    return None


def _completion_warnings(exchange: Exchange) -> tuple[dict[str, Any], list[str]]:
    """Metrics and shape deviations of the non-streaming answer."""
    metrics: dict[str, Any] = {
        "status": exchange.status,
        "time": exchange.time,
        "content_type": exchange.headers.get("content-type"),
        "finish_reason": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "text_chars": 0,
    }
    found: list[str] = []
    payload = exchange.json()
    if exchange.content_type == "text/event-stream" or exchange.body.lstrip()[:5] == b"data:":
        found.append("the answer to `stream: false` is an event stream")
        return metrics, found
    if not isinstance(payload, dict):
        found.append("the body is not a JSON object")
        return metrics, found
    if payload.get("object") != "chat.completion":
        found.append(f"object is {payload.get('object')!r}, not 'chat.completion'")
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices:
        found.append("choices is missing or empty")
    else:
        choice = choices[0]
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            found.append("choices[0].message is missing")
        else:
            for name in ("content", "reasoning_content", "reasoning"):
                value = message.get(name)
                if isinstance(value, str):
                    metrics["text_chars"] += len(value)
            if message.get("content") is not None and not isinstance(message["content"], str):
                found.append("choices[0].message.content is not a string")
        if isinstance(choice, dict) and isinstance(choice.get("finish_reason"), str):
            metrics["finish_reason"] = choice["finish_reason"]
    usage = payload.get("usage")
    if isinstance(usage, dict):
        for name in ("prompt_tokens", "completion_tokens"):
            if _is_int(usage.get(name)):
                metrics[name] = usage[name]
    else:
        found.append("usage is missing")
    return metrics, found


def _discovery_metrics(exchange: Exchange, model: str) -> dict[str, Any]:
    payload = exchange.json() if exchange.status == 200 else None
    data = payload.get("data") if isinstance(payload, dict) else None
    ids = (
        [entry.get("id") for entry in data if isinstance(entry, dict)]
        if isinstance(data, list)
        else None
    )
    return {
        "status": exchange.status,
        "time": exchange.time,
        "content_type": exchange.headers.get("content-type"),
        "models": None if ids is None else len(ids),
        "model_listed": None if ids is None else model in ids,
    }


def _is_buffering(problem: Problem) -> bool:
    return problem.code in ("buffered", "partially_buffered")


def _compression(
    runs: Sequence[tuple[StreamRecord, StreamMetrics, list[Problem]]],
) -> list[Problem]:
    """Turn buffering caused by compression into ``compressed``; returns warnings."""
    warnings: list[Problem] = []
    identity_buffered = any(
        _is_buffering(problem)
        for record, metrics, problems in runs
        if record.run == "identity"
        and _media(metrics.headers, "content-encoding") in ("", "identity")
        for problem in problems
    )
    for record, metrics, problems in runs:
        encoding = _media(metrics.headers, "content-encoding")
        if encoding in ("", "identity") or record.decode_error is not None:
            continue
        buffering = [problem for problem in problems if _is_buffering(problem)]
        asked_identity = record.run == "identity"
        if buffering and (asked_identity or not identity_buffered):
            kind = buffering[0]
            problems[:] = [problem for problem in problems if not _is_buffering(problem)]
            problems.append(
                Problem(
                    code="compressed",
                    message=f"the compressed stream is {kind.code.replace('_', ' ')}: "
                    f"Content-Encoding {encoding} holds the chunks back",
                    evidence=(
                        f"Content-Encoding: {encoding} (Accept-Encoding sent: "
                        f"{record.accept_encoding})",
                        *kind.evidence,
                        *(
                            ()
                            if asked_identity
                            else ("with Accept-Encoding: identity the same stream is not buffered",)
                        ),
                    ),
                    hint="Don't compress text/event-stream (nginx: leave it out of "
                    "`gzip_types`; Starlette/FastAPI: GZipMiddleware excludes it in recent "
                    "versions), or flush the compressor after every event (Z_SYNC_FLUSH). "
                    "Clients can send `Accept-Encoding: identity` meanwhile."
                    + (
                        " The server even ignored Accept-Encoding: identity."
                        if asked_identity
                        else ""
                    ),
                )
            )
        elif not buffering:
            warnings.append(
                Problem(
                    code="compressed_stream",
                    message=f"the stream is compressed ({encoding}) but still arrives chunk "
                    "by chunk",
                    evidence=(
                        f"{record.run}: {metrics.chunks} chunks in "
                        f"{metrics.reads_with_chunks} reads",
                    ),
                    hint="It works because the server flushes the compressor per event; "
                    "proxies that recompress may still buffer it.",
                )
            )
    return warnings


def _merge(runs: Sequence[tuple[str, Sequence[Problem]]]) -> list[Problem]:
    """One problem per code; with two runs, each evidence line names its run."""
    labelled = len(runs) > 1
    merged: dict[str, Problem] = {}
    for run, problems in runs:
        for problem in problems:
            evidence = tuple(f"{run}: {line}" if labelled else line for line in problem.evidence)
            known = merged.get(problem.code)
            if known is None:
                merged[problem.code] = Problem(
                    code=problem.code,
                    message=problem.message,
                    evidence=evidence,
                    hint=problem.hint,
                )
            else:
                merged[problem.code] = Problem(
                    code=known.code,
                    message=known.message,
                    evidence=known.evidence + evidence,
                    hint=known.hint,
                )
    order = {code: position for position, code in enumerate(PROBLEM_CODES)}
    return sorted(merged.values(), key=lambda problem: order.get(problem.code, len(order)))


def analyse(data: CheckData, thresholds: Thresholds | None = None) -> Report:
    """Turn what the probe measured into the report: metrics, problems, warnings (pure).

    Args:
        data: the probe's records (or synthetic ones in tests).
        thresholds: the rules' thresholds; the defaults of :class:`Thresholds` if ``None``.
    """
    thresholds = thresholds or Thresholds()
    metrics: dict[str, Any] = {
        "discovery": None,
        "non_streaming": None,
        "streaming": None,
        "streaming_gzip": None,
    }
    problems: list[Problem] = []
    warnings: list[Problem] = []
    deviations: dict[str, tuple[ChunkDeviation, ...]] = {}

    def report() -> Report:
        return Report(
            base_url=data.base_url,
            model=data.model,
            problems=tuple(_merge([("", problems)])),
            warnings=tuple(warnings),
            metrics=_rounded(metrics),
            deviations=deviations,
        )

    def refusal(exchange: Exchange, what: str) -> Problem | None:
        return _refusal(exchange, what=what, key_env=data.api_key_env, key_set=data.api_key_set)

    discovery = data.discovery
    discovery_problem = None
    if discovery is not None:
        metrics["discovery"] = _discovery_metrics(discovery, data.model)
        discovery_problem = refusal(discovery, "GET /models")
        if discovery_problem is not None and discovery_problem.code == "unreachable":
            problems.append(discovery_problem)
            return report()
        if metrics["discovery"]["model_listed"] is False:
            warnings.append(
                Problem(
                    code="model_not_listed",
                    message=f"GET /models does not list {data.model!r}",
                    evidence=(f"{metrics['discovery']['models']} models listed",),
                    hint="Some servers accept models they don't list (aliases); check "
                    "--model if the chat request fails.",
                )
            )
    normal = data.non_streaming
    if normal is None:
        if discovery_problem is not None:
            problems.append(discovery_problem)
        return report()
    refused = refusal(normal, "the chat request")
    if refused is not None:
        if discovery_problem is not None and discovery_problem.code == refused.code:
            refused = Problem(
                code=refused.code,
                message=refused.message,
                evidence=discovery_problem.evidence + refused.evidence,
                hint=refused.hint,
            )
        problems.append(refused)
        return report()
    if discovery_problem is not None:
        warnings.append(
            Problem(
                code="models_endpoint",
                message="GET /models failed, but the chat request works",
                evidence=discovery_problem.evidence,
                hint="Harmless for chat; tools that list models first (IDEs, UIs) will "
                "fail. The key may lack the permission to list models.",
            )
        )
    metrics["non_streaming"], shape = _completion_warnings(normal)
    if shape:
        warnings.append(
            Problem(
                code="non_streaming_shape",
                message="the non-streaming answer deviates from the chat.completion shape",
                evidence=tuple(shape),
                hint="Clients read choices[0].message and usage (OpenAI API reference).",
            )
        )
    runs: list[tuple[StreamRecord, StreamMetrics, list[Problem]]] = []
    for record in data.streams:
        name = "streaming" if record.run == "identity" else f"streaming_{record.run}"
        what = f"the streaming request (Accept-Encoding: {record.accept_encoding})"
        refused = refusal(record.exchange, what)
        if refused is not None:
            problems.append(refused)
            return report()
        stream_metrics, found = analyse_stream(
            record, non_streaming_time=normal.time, thresholds=thresholds
        )
        metrics[name] = stream_metrics.to_dict()
        deviations[record.run] = found
        runs.append(
            (record, stream_metrics, _stream_problems(record, stream_metrics, found, thresholds))
        )
        minor = [deviation for deviation in found if deviation.severity == "warning"]
        if minor:
            warnings.append(
                Problem(
                    code="chunk_deviations",
                    message=f"{record.run}: chunks deviate from the chat.completion.chunk "
                    "shape in ways tolerant clients accept",
                    evidence=tuple(
                        f"chunk {_chunk_numbers(deviation.chunks)}: {deviation.message}"
                        for deviation in minor[:5]
                    ),
                    hint="Strict clients (typed SDKs) may reject these fields.",
                )
            )
    warnings.extend(_compression(runs))
    problems.extend(_merge([(record.run, found) for record, _, found in runs]))
    return report()


# --------------------------------------------------------------------------- probe (I/O)


class CheckObserver:
    """Receives the probe's progress, for a live view. Every method here does nothing.

    Methods are called from the thread that runs :func:`probe`, in this order:
    ``request`` and ``response`` around each request (``response`` also after a stream
    ended), and ``text`` for each piece of text of choice 0 while a stream arrives.
    """

    def request(self, step: str, description: str) -> None:
        """A request is about to be sent. ``step``: ``"discovery"``, ``"non_streaming"``,
        ``"identity"`` or ``"gzip"``."""

    def text(self, step: str, kind: str, text: str) -> None:
        """A stream delivered text: ``kind`` is ``"content"`` or ``"reasoning"``."""

    def response(self, step: str, exchange: Exchange, record: StreamRecord | None) -> None:
        """A request is over: ``record`` is set for the streaming ones."""


# One piece per line, terminator included, so that one piece completes at most one event.
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class _Feeder:
    """Feeds a body to :class:`ChatStreamParser` and records each chunk's read.

    After a chunk that cannot be decoded it goes on with a fresh parser, primed with a
    comment line so that it does not sniff the rest as a JSON body.
    """

    def __init__(self, on_chunk: Callable[[ChatCompletionChunk], None]) -> None:
        self.parser = ChatStreamParser()
        self.on_chunk = on_chunk
        self.chunks: list[ChunkArrival] = []
        self.done = False
        self.streamed: bool | None = None
        self.error: StreamError | None = None
        self.finished = False

    def feed(self, data: bytes, read: int, at: float) -> None:
        for piece in _LINE.findall(data):
            if self.finished:
                return
            try:
                self.parser.receive_data(piece)
            except LimitExceededError as exc:
                self.chunks.append(ChunkArrival(read=read, time=at, error=exc.message))
                self.finished = True
                return
            self._drain(read, at)

    def eof(self, read: int, at: float) -> None:
        if not self.finished:
            self.parser.receive_eof()
            self._drain(read, at)
            self.finished = True

    def _drain(self, read: int, at: float) -> None:
        parser = self.parser
        while True:
            try:
                item = parser.next_chunk()
            except StreamAPIError as exc:
                self.error = StreamError(
                    message=exc.message, after_chunks=len(self.chunks), time=at
                )
                self.finished = True
                return
            except (ChunkParseError, LimitExceededError) as exc:
                self.chunks.append(ChunkArrival(read=read, time=at, error=_parse_error(exc)))
                if parser.streamed:
                    self.parser = ChatStreamParser()
                    self.parser.receive_data(b":\n")
                else:
                    self.finished = True
                return
            if parser.streamed is not None and not self.streamed:
                self.streamed = parser.streamed
            if item is NEED_DATA:
                return
            if item is END:
                self.done = parser.done
                self.finished = True
                return
            assert isinstance(item, ChatCompletionChunk)
            self.chunks.append(ChunkArrival(read=read, time=at, payload=item.to_dict()))
            self.on_chunk(item)


def _parse_error(exc: ChunkParseError | LimitExceededError) -> str:
    """Why a payload is not a chunk, without the parser's event numbering."""
    if exc.event is None:  # a whole body that is not JSON: the message quotes it
        return exc.message
    data = exc.event.data
    cause = exc.__cause__
    if isinstance(cause, ValueError):
        return f"not JSON ({cause}): {data[:120]!r}"
    if data and not data.lstrip().startswith("{"):
        return f"JSON but not an object: {data[:120]!r}"
    return exc.message


class _Identity:
    def decompress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped, or raw (as httpx accepts both)."""

    def __init__(self) -> None:
        self._first = True
        self._decoder = zlib.decompressobj()

    def decompress(self, data: bytes) -> bytes:
        if self._first and data:
            self._first = False
            try:
                return self._decoder.decompress(data)
            except zlib.error:
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._decoder.decompress(data)

    def flush(self) -> bytes:
        return self._decoder.flush()


def _body_decoder(encoding: str) -> Any:
    """A decoder with ``decompress``/``flush`` for a ``Content-Encoding``, or ``None``."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return _Identity()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return _Deflate()
    return None


class _ReadTap:
    """Records each read of the connection while a response body is read.

    Uses the ``network_stream`` that httpx puts in ``response.extensions`` (HTTP/1.1):
    its ``read`` is wrapped on the instance for the duration of the body and restored
    by :meth:`remove`. Without it (HTTP/2, mock transports), each ``iter_raw()`` piece
    is counted as a read.
    """

    def __init__(self, response: Any, started: float, head_time: float) -> None:
        self.reads: list[NetworkRead] = []
        self.started = started
        self.head_time = head_time
        self._stream = response.extensions.get("network_stream")
        self.installed = False
        read = getattr(self._stream, "read", None)
        if callable(read):
            reads = self.reads

            def tapped(max_bytes: int, timeout: float | None = None) -> bytes:
                data: bytes = read(max_bytes, timeout)
                if data:
                    reads.append(NetworkRead(time=time.perf_counter() - started, size=len(data)))
                return data

            try:
                self._stream.read = tapped
                self.installed = True
            except (AttributeError, TypeError):
                pass
        self.source = "network" if self.installed else "iter_raw"

    def attribute(self, size: int, now: float) -> int:
        """The index of the read that delivered an ``iter_raw()`` piece of ``size`` bytes."""
        if self.source == "iter_raw":
            self.reads.append(NetworkRead(time=now, size=size))
        elif not self.reads:  # the piece came in with the response head
            self.reads.append(NetworkRead(time=self.head_time, size=size))
        return len(self.reads) - 1

    def remove(self) -> None:
        if self.installed:
            with contextlib.suppress(AttributeError):
                del self._stream.read
            self.installed = False


def _error_kind(exc: BaseException) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "connect" if isinstance(exc, httpx.ConnectTimeout) else "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    return "transport"


def _describe(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """``"ConnectError: ..."``: the first line of the message, with every secret (the
    API key, a header value quoted by h11's "Illegal header value", URL userinfo)
    redacted, since the message goes to the terminal and the ``--json`` report."""
    text = str(exc) or exc.__class__.__doc__ or ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return redact_text(f"{type(exc).__name__}: {first}", secrets)


def _head(method: str, url: str, response: Any, head_time: float) -> Exchange:
    return Exchange(
        method=method,
        url=redact_url(url),
        status=response.status_code,
        headers={name.lower(): value for name, value in response.headers.items()},
        http_version=response.http_version,
        time=head_time,
    )


class _Budget:
    """The check's time: ``timeout`` for each silence, ``deadline`` for everything.

    Each request gets a read timeout of at most the time left, so that no wait goes
    past the deadline (``time.perf_counter()`` based, like every time of the probe).
    """

    def __init__(self, timeout: float, max_time: float) -> None:
        self.read = timeout
        self.deadline = time.perf_counter() + max_time

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def expired(self) -> bool:
        return self.left() <= 0

    def timeout(self) -> Any:
        import httpx

        read = max(0.001, min(self.read, self.left()))
        return httpx.Timeout(read, connect=min(read, 10.0))


def _read_excerpt(response: Any, budget: _Budget | None = None) -> bytes:
    """Up to :data:`BODY_EXCERPT_BYTES` of the decoded body; the rest is left unread,
    as is anything still coming when the budget's deadline passes."""
    body = bytearray()
    for data in response.iter_bytes():
        body += data
        if len(body) >= BODY_EXCERPT_BYTES or (budget is not None and budget.expired()):
            break
    return bytes(body[:BODY_EXCERPT_BYTES])


def _request(
    client: Any,
    method: str,
    url: str,
    secrets: Sequence[str] = (),
    budget: _Budget | None = None,
    **kwargs: Any,
) -> Exchange:
    """Send one request and read (an excerpt of) its body; failures become ``error``."""
    import httpx

    if budget is not None:
        kwargs["timeout"] = budget.timeout()
    request = client.build_request(method, url, **kwargs)
    started = time.perf_counter()
    try:
        response = client.send(request, stream=True)
        try:
            head = _head(method, url, response, time.perf_counter() - started)
            body = _read_excerpt(response, budget)
        finally:
            response.close()
    except httpx.HTTPError as exc:
        return Exchange(
            method=method,
            url=redact_url(url),
            time=None,
            error=_describe(exc, secrets),
            error_kind=_error_kind(exc),
        )
    return Exchange(
        method=method,
        url=redact_url(url),
        status=head.status,
        headers=head.headers,
        http_version=head.http_version,
        time=time.perf_counter() - started,
        body=body,
    )


def _stream(
    client: Any,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    run: str,
    observer: CheckObserver,
    secrets: Sequence[str] = (),
    budget: _Budget | None = None,
) -> StreamRecord:
    """One streaming request, every read and chunk timed from sending it."""
    import httpx

    accept_encoding = _RUNS[run]
    request = client.build_request(
        "POST",
        url,
        json=body,
        headers={**headers, "Accept": "text/event-stream", "Accept-Encoding": accept_encoding},
        **({"timeout": budget.timeout()} if budget is not None else {}),
    )
    started = time.perf_counter()
    try:
        response = client.send(request, stream=True)
    except httpx.HTTPError as exc:
        exchange = Exchange(
            method="POST",
            url=redact_url(url),
            error=_describe(exc, secrets),
            error_kind=_error_kind(exc),
        )
        return StreamRecord(run=run, accept_encoding=accept_encoding, exchange=exchange)
    head_time = time.perf_counter() - started
    exchange = _head("POST", url, response, head_time)
    tap: _ReadTap | None = None
    try:
        if _refused_head(response.status_code, exchange.headers, exchange.content_type):
            excerpt = _read_excerpt(response)
            return StreamRecord(
                run=run,
                accept_encoding=accept_encoding,
                exchange=Exchange(
                    method="POST",
                    url=redact_url(url),
                    status=exchange.status,
                    headers=exchange.headers,
                    http_version=exchange.http_version,
                    time=head_time,
                    body=excerpt,
                ),
                end_time=time.perf_counter() - started,
            )

        def on_chunk(chunk: ChatCompletionChunk) -> None:
            for choice in chunk.choices:
                if choice.index in (0, None):
                    delta = choice.delta
                    reasoning = delta.reasoning_content
                    if reasoning:
                        observer.text(run, "reasoning", reasoning)
                    if delta.content:
                        observer.text(run, "content", delta.content)

        feeder = _Feeder(on_chunk)
        decoder = _body_decoder(exchange.headers.get("content-encoding", ""))
        tap = _ReadTap(response, started, head_time)
        decode_error = None
        transport_error = None
        timed_out = False
        stopped = None
        end_time = None
        if decoder is None:
            decode_error = (
                f"Content-Encoding {exchange.headers.get('content-encoding')!r} was not "
                f"asked for (Accept-Encoding: {accept_encoding}) and cannot be decoded"
            )
        else:
            index = -1
            try:
                for piece in response.iter_raw():
                    index = tap.attribute(len(piece), time.perf_counter() - started)
                    at = tap.reads[index].time
                    try:
                        data = decoder.decompress(piece)
                    except zlib.error as exc:
                        decode_error = f"the compressed body is corrupt: {exc}"
                        break
                    feeder.feed(data, index, at)
                    if feeder.finished:
                        end_time = at
                        break
                    stopped = _limit_reached(feeder, tap, budget)
                    if stopped is not None:
                        break
                else:
                    end_time = time.perf_counter() - started
                    at = tap.reads[index].time if index >= 0 else end_time
                    feeder.feed(decoder.flush(), index, at)
                    feeder.eof(index, at)
            except httpx.TimeoutException as exc:
                if budget is not None and budget.expired():
                    stopped = "max_time"  # the deadline, not a silence of --timeout
                else:
                    timed_out = True
                    transport_error = _describe(exc, secrets)
            except httpx.TransportError as exc:
                transport_error = _describe(exc, secrets)
        if end_time is None:
            end_time = time.perf_counter() - started
        tap.remove()
        return StreamRecord(
            run=run,
            accept_encoding=accept_encoding,
            exchange=exchange,
            reads=tuple(tap.reads),
            reads_source=tap.source,
            chunks=tuple(feeder.chunks),
            done=feeder.done,
            streamed=feeder.streamed,
            stream_error=feeder.error,
            transport_error=transport_error,
            timed_out=timed_out,
            decode_error=decode_error,
            stopped=stopped,
            end_time=end_time,
        )
    finally:
        if tap is not None:
            tap.remove()
        response.close()


def _limit_reached(feeder: _Feeder, tap: _ReadTap, budget: _Budget | None) -> str | None:
    """Why the probe must stop reading a stream that has not ended, or ``None``."""
    if budget is not None and budget.expired():
        return "max_time"
    if len(feeder.chunks) >= MAX_CHUNKS:
        return "max_chunks"
    if len(tap.reads) >= MAX_READS:
        return "max_reads"
    return None


def _refused_head(status: int, headers: Mapping[str, str], media: str) -> bool:
    """Whether a streaming response's head means "no stream: read the body as an error".

    The rule is :class:`ChatStreamParser`'s (``receive_head``: a status >= 400, or a
    Content-Type that is neither an event stream nor JSON), so the check refuses what a
    client refuses, plus two cases only a probe sees: a redirect (3xx: the probe does
    not follow them, to report a wrong base URL) and, among the Content-Types a client
    refuses, only ``text/html`` (a web page where the API should be). Any other refused
    Content-Type on a 2xx is still read as a stream, to report what it carries
    (``bad_content_type``) rather than only that it was refused.
    """
    if 300 <= status < 400:
        return True
    if not ChatStreamParser().receive_head(status, headers):
        return False
    return status >= 400 or media == "text/html"


def _refused(exchange: Exchange) -> bool:
    return _refusal(exchange, what="", key_env="", key_set=False) is not None


def probe(
    base_url: str,
    model: str,
    *,
    api_key: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    timeout: float = 60.0,
    max_time: float = DEFAULT_MAX_TIME,
    prompt: str = DEFAULT_PROMPT,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    observer: CheckObserver | None = None,
    client: Any = None,
) -> CheckData:
    """Run the requests of the check against a live endpoint and record what happened.

    Sends ``GET {base_url}/models``, a normal chat request, then the streaming request
    with ``Accept-Encoding: identity`` and with ``gzip, deflate``; stops after the first
    request that gets no usable answer. Never raises for what the server does: failures
    are recorded (see :class:`Exchange` and :class:`StreamRecord`).

    Args:
        base_url: the API root, e.g. ``"https://api.openai.com/v1"``.
        model: the model to ask.
        api_key: sent as ``Authorization: Bearer``; ``None`` or blank sends no key.
            Surrounding whitespace is stripped (a key read from a CRLF ``.env`` file ends
            in ``\\r``). Never recorded: every URL and error message in the result has
            it, the URL's userinfo and any quoted header value redacted.
        api_key_env: the variable the key came from (for the hints).
        timeout: seconds: the read timeout (the longest silence accepted) and, capped
            at 10 s, the connect timeout.
        max_time: seconds: the deadline of the whole check. A request still running
            then is cut short (a stream gets ``stopped="max_time"``, reported as
            ``too_long``) and no further request is sent; every read timeout is capped
            by the time left. A stream also stops after :data:`MAX_CHUNKS` chunks or
            :data:`MAX_READS` reads, so memory stays bounded.
        prompt, max_tokens: the chat request. A server that rejects ``max_tokens``
            with a 400 naming ``max_completion_tokens`` gets that instead.
        observer: receives the progress (live view); ``None`` for none.
        client: an ``httpx.Client`` to use (not closed); by default one is made and
            closed, without following redirects.
    """
    import httpx

    observer = observer or CheckObserver()
    budget = _Budget(timeout, max_time)
    base_url = base_url.rstrip("/")
    headers = {"User-Agent": "ssestream-check"}
    api_key = api_key.strip() if api_key else None
    secrets = (api_key,) if api_key else ()
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    own = client is None
    if own:
        client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=False
        )
    data = CheckData(
        base_url=redact_url(base_url),
        model=model,
        api_key_env=api_key_env,
        api_key_set=bool(api_key),
    )
    try:
        url = f"{base_url}/models"
        observer.request("discovery", f"GET {redact_url(url)}")
        discovery = _request(
            client, "GET", url, secrets, budget, headers={**headers, "Accept": "application/json"}
        )
        observer.response("discovery", discovery, None)
        data = _replace(data, discovery=discovery)
        if discovery.error is not None:
            return data
        url = f"{base_url}/chat/completions"
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
        }
        shown = redact_url(url)
        observer.request("non_streaming", f"POST {shown} (stream: false)")
        options: dict[str, Any] = {"headers": headers}
        normal = _request(
            client, "POST", url, secrets, budget, json={**body, "stream": False}, **options
        )
        if normal.status == 400 and b"max_completion_tokens" in normal.body:
            body["max_completion_tokens"] = body.pop("max_tokens")
            normal = _request(
                client, "POST", url, secrets, budget, json={**body, "stream": False}, **options
            )
        observer.response("non_streaming", normal, None)
        data = _replace(data, non_streaming=normal)
        if _refused(normal):
            return data
        streaming = {**body, "stream": True, "stream_options": {"include_usage": True}}
        records: list[StreamRecord] = []
        for run, accept_encoding in _RUNS.items():
            if budget.expired():
                break
            observer.request(
                run, f"POST {shown} (stream: true, Accept-Encoding: {accept_encoding})"
            )
            record = _stream(
                client,
                url,
                streaming,
                headers,
                run=run,
                observer=observer,
                secrets=secrets,
                budget=budget,
            )
            records.append(record)
            observer.response(run, record.exchange, record)
            if _refused(record.exchange):
                break
        return _replace(data, streams=tuple(records))
    finally:
        if own:
            client.close()


def _replace(data: CheckData, **changes: Any) -> CheckData:
    fields = {name: getattr(data, name) for name in CheckData.__dataclass_fields__}
    return CheckData(**{**fields, **changes})


# --------------------------------------------------------------------------- the command

DEMO_RECORDING = "zai-glm-4.7-flash-tool-turn1.sse"
"""The bundled recording ``--demo`` serves: reasoning, an answer, a tool call, usage and
``[DONE]`` in 82 events."""

DEMO_TIMEOUT = 3.0
"""The read timeout of ``--demo`` when ``--timeout`` is not given, in seconds, on top of
the longest silence the demo server plans (the non-streaming answer comes when the
recorded stream would have ended; ``--fault slow-first-token`` waits before the first
token; ``--pace 0.5`` doubles every wait): so that a healthy server is never cut off, and
``--fault stall`` still ends a few seconds after the stream stops."""

DEFAULT_TIMEOUT = 60.0
"""The read timeout against a real endpoint when ``--timeout`` is not given, in seconds."""


def add_arguments(parser: Any) -> None:
    """Add the options of ``ssestream check`` to an ``argparse`` parser."""
    from ._args import parse_pace, positive_float, positive_int
    from .testing._server import FAULTS

    defaults = Thresholds()
    parser.add_argument(
        "--base-url", metavar="URL", help="the API root, e.g. https://api.openai.com/v1"
    )
    parser.add_argument("--model", help="the model to ask (required unless --demo)")
    parser.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="environment variable holding the API key, sent as Authorization: Bearer "
        "(default OPENAI_API_KEY; unset: no key, fine for local servers). Never printed.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object for machines")
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help=f"give up on a request when no byte arrives for this long (default "
        f"{DEFAULT_TIMEOUT:g}; with --demo {DEMO_TIMEOUT:g} more than the longest wait the "
        "demo server plans)",
    )
    parser.add_argument(
        "--max-time",
        type=positive_float,
        default=DEFAULT_MAX_TIME,
        metavar="SECONDS",
        help=f"deadline of the whole check; a stream still going then is reported "
        f"as too_long (default {DEFAULT_MAX_TIME:g})",
    )
    parser.add_argument(
        "--slow-first-token",
        type=positive_float,
        default=defaults.slow_first_token,
        metavar="SECONDS",
        help=f"a first token later than this is reported (default {defaults.slow_first_token:g})",
    )
    parser.add_argument(
        "--max-tokens",
        type=positive_int,
        default=DEFAULT_MAX_TOKENS,
        metavar="N",
        help=f"max_tokens of the chat requests (default {DEFAULT_MAX_TOKENS})",
    )
    parser.add_argument(
        "--prompt", default=DEFAULT_PROMPT, help="the user message (default: count to 40)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="check the built-in server (ssestream serve) with a bundled recording; no key",
    )
    parser.add_argument(
        "--fault",
        choices=list(FAULTS),
        default="none",
        metavar="NAME",
        help="with --demo: the server's fault, to see it detected (see ssestream serve -h)",
    )
    parser.add_argument(
        "--pace",
        type=parse_pace,
        default="recorded",
        metavar="recorded|none|SPEED",
        help="with --demo: the server's pace (default recorded: 20 ms between events)",
    )


def command(args: Any) -> int:
    """Run ``ssestream check`` from parsed arguments; returns the exit status.

    0: streaming works; 1: problems found; 2: the endpoint could not be reached or
    refused the request, or the command was misused (a message on stderr).
    """
    import os
    import sys

    err = sys.stderr
    if not args.demo and (not args.base_url or not args.model):
        err.write("error: ssestream check needs --base-url and --model (or --demo)\n")
        return 2
    if args.demo and args.base_url:
        err.write("error: --demo checks the built-in server; leave out --base-url\n")
        return 2
    if not args.demo and args.fault != "none":
        err.write("error: --fault only applies with --demo\n")
        return 2
    if args.base_url and not args.base_url.startswith(("http://", "https://")):
        shown = redact_url(args.base_url)
        err.write(f"error: --base-url must start with http:// or https://: {shown!r}\n")
        return 2
    console = None
    if not args.json:
        from .testing._server import INSTALL_CLI_EXTRA

        try:
            from rich.console import Console
        except ImportError:
            err.write(f"error: the report needs rich (or use --json): {INSTALL_CLI_EXTRA}\n")
            return 2
        console = Console(highlight=False)
    thresholds = Thresholds(slow_first_token=args.slow_first_token)
    timeout = args.timeout
    if timeout is None and not args.demo:
        timeout = DEFAULT_TIMEOUT  # the demo's follows its server's plans: see _demo
    observer = _LiveObserver(console) if console is not None else None
    options: dict[str, Any] = {
        "timeout": timeout,
        "max_time": args.max_time,
        "prompt": args.prompt,
        "max_tokens": args.max_tokens,
        "observer": observer,
        "api_key_env": args.api_key_env,
    }
    if args.demo:
        try:
            data = _demo(args.fault, args.pace, thresholds, options, console)
        except ImportError as exc:
            err.write(f"error: --demo: {exc}\n")
            return 2
    else:
        key = (os.environ.get(args.api_key_env) or "").strip() or None
        if console is not None:
            console.print(
                f"[bold]ssestream check[/] {redact_url(args.base_url)}  "
                f"model [bold]{args.model}[/]  "
                + (
                    f"key from ${args.api_key_env}"
                    if key
                    else f"no key (${args.api_key_env} unset)"
                )
            )
        data = probe(args.base_url, args.model, api_key=key, **options)
    report = analyse(data, thresholds)
    if console is None:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        _render(report, console, thresholds)
    return report.exit_status


def _demo(
    fault: str, pace: Any, thresholds: Thresholds, options: dict[str, Any], console: Any
) -> CheckData:
    """Serve the bundled recording with ``fault`` on loopback and probe it."""
    from importlib import resources

    from .testing._server import create_app, running_server

    with resources.as_file(resources.files("ssestream") / "_data" / DEMO_RECORDING) as path:
        app = create_app(
            [path], pace=pace, fault=fault, first_token_delay=thresholds.slow_first_token + 1.0
        )
    model = app.state.models[0] if app.state.models else "demo"
    if options["timeout"] is None:
        options = {**options, "timeout": DEMO_TIMEOUT + app.state.longest_silence}
    with running_server(app) as url:
        if console is not None:
            console.print(
                f"[bold]ssestream check --demo[/]: the built-in server at {url}/v1 replays "
                f"{DEMO_RECORDING} with fault [bold]{fault}[/]"
            )
        return probe(f"{url}/v1", model, **options)


# --------------------------------------------------------------------------- rendering


def _t(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "-"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


def _share(value: Any) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{value:.0%}"


class _LiveObserver(CheckObserver):
    """Prints each request as it happens and shows a stream's text live (rich)."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.live: Any = None
        self.body: Any = None
        self.chunks = 0
        self.kind = ""  # of the text shown last: "reasoning" or "content"
        self.last_refresh = 0.0

    def request(self, step: str, description: str) -> None:
        self.console.print(f"[dim]-> {description}[/]")
        if step in _RUNS and self.console.is_terminal:
            from rich.live import Live
            from rich.text import Text

            self.body = Text()
            self.kind = ""
            self.live = Live(
                self._panel(step), console=self.console, auto_refresh=False, transient=False
            )
            self.live.start()

    def _panel(self, step: str) -> Any:
        from rich.panel import Panel

        return Panel(self.body, title=f"streaming ({_RUNS[step]})", title_align="left")

    def text(self, step: str, kind: str, text: str) -> None:
        if self.live is None:
            return
        if kind != self.kind:  # reasoning and answer apart, each under its label
            self.body.append(
                ("\n" if self.kind else "")
                + ("reasoning: " if kind == "reasoning" else "answer: "),
                style="bold",
            )
            self.kind = kind
        self.body.append(text, style="dim italic" if kind == "reasoning" else "")
        now = time.perf_counter()
        if now - self.last_refresh >= 0.03:
            self.last_refresh = now
            self.live.refresh()

    def response(self, step: str, exchange: Exchange, record: StreamRecord | None) -> None:
        if self.live is not None:
            self.live.refresh()
            self.live.stop()
            self.live = None
        if exchange.error is not None:
            line = f"[red]{exchange.error}[/]"
        else:
            line = f"HTTP {exchange.status} {exchange.headers.get('content-type', '')}"
            if record is None:
                line += f", {_t(exchange.time)}"
            else:
                line += (
                    f", head {_t(exchange.time)}, {len(record.chunks)} chunks in "
                    f"{len(record.reads)} reads, {_t(record.end_time)}"
                )
        self.console.print(f"   {line}")


def _render(report: Report, console: Any, thresholds: Thresholds) -> None:
    """Print the report: tables of figures and headers, problems, warnings, verdict."""
    from rich.table import Table

    metrics = report.metrics
    discovery = metrics.get("discovery")
    normal = metrics.get("non_streaming")
    console.print()
    if discovery is not None:
        listed = discovery.get("model_listed")
        console.print(
            f"GET /models: HTTP {discovery['status']} in {_t(discovery['time'])}"
            + (f", {discovery['models']} model(s)" if discovery.get("models") is not None else "")
            + (
                ""
                if listed is None
                else f", {report.model!r} {'listed' if listed else 'not listed'}"
            )
        )
    if normal is not None:
        console.print(
            f"non-streaming: HTTP {normal['status']} in {_t(normal['time'])}, "
            f"finish_reason {normal['finish_reason']}, "
            f"{normal['completion_tokens']} completion tokens"
        )
    runs = [metrics[key] for key in ("streaming", "streaming_gzip") if metrics.get(key)]
    if runs:
        table = Table(title="streaming (columns: Accept-Encoding sent)", title_justify="left")
        table.add_column("")
        for run in runs:
            table.add_column(run["accept_encoding"], justify="right")

        def row(label: str, render: Callable[[dict[str, Any]], str]) -> None:
            table.add_row(label, *(render(run) for run in runs))

        row("status", lambda m: f"{m['status']} {m['http_version'] or ''}")
        row("time to headers", lambda m: _t(m["time_to_headers"]))
        row("time to first byte", lambda m: _t(m["time_to_first_byte"]))
        row("time to first chunk", lambda m: _t(m["time_to_first_chunk"]))
        row("TTFT", lambda m: _t(m["ttft"]))
        if any(
            m["ttft_content"] is not None
            and m["ttft_reasoning"] is not None
            and m["ttft_content"] != m["ttft_reasoning"]
            for m in runs
        ):
            row("  first reasoning", lambda m: _t(m["ttft_reasoning"]))
            row("  first content", lambda m: _t(m["ttft_content"]))
        row("last chunk", lambda m: _t(m["time_to_last_chunk"]))
        row("total", lambda m: _t(m["total_time"]))
        row("TTFT / total", lambda m: _share(m["ttft_share"]))
        row("TTFT / non-streaming", lambda m: _share(m["ttft_vs_non_streaming"]))
        row(
            "chunks",
            lambda m: (
                f"{m['chunks']}"
                + (f" ({m['malformed_chunks']} malformed)" if m["malformed_chunks"] else "")
            ),
        )
        row("reads (with chunks)", lambda m: f"{m['reads']} ({m['reads_with_chunks']})")
        row(
            "chunks per read",
            lambda m: "-" if m["chunks_per_read"] is None else f"{m['chunks_per_read']:.1f}",
        )
        for q in ("p50", "p90", "p99", "max"):

            def gap(m: dict[str, Any], q: str = q) -> str:
                return _t(m["inter_chunk"].get(q))

            row(f"inter-chunk {q}", gap)
        row("near-zero gaps", lambda m: _share(m["near_zero_gap_share"]))
        row(
            f"time in largest {thresholds.top_gaps:.0%} gaps",
            lambda m: _share(m["largest_gaps_share"]),
        )
        row(
            "output tokens/s",
            lambda m: "-" if m["tokens_per_second"] is None else f"{m['tokens_per_second']:.1f}",
        )
        row(
            "completion tokens",
            lambda m: str(m["completion_tokens"] if m["completion_tokens"] is not None else "-"),
        )
        row("[DONE]", lambda m: "yes" if m["done"] else "no")
        row("usage", lambda m: "yes" if m["usage"] else "no")
        row("finish_reason", lambda m: str(m["finish_reason"]))
        console.print(table)
        headers = Table(title="response headers", title_justify="left")
        headers.add_column("")
        for run in runs:
            headers.add_column(run["run"])
        for name in _STREAM_HEADERS:
            headers.add_row(name, *(str(run["headers"].get(name) or "-") for run in runs))
        console.print(headers)
    for title, items, style in (
        ("problem", report.problems, "red"),
        ("warning", report.warnings, "yellow"),
    ):
        for item in items:
            console.print(f"\n[{style} bold]{title}: {item.code}[/] {item.message}")
            for line in item.evidence:
                console.print(f"  - {line}", soft_wrap=False)
            if item.hint:
                console.print(f"  [bold]hint:[/] {item.hint}")
    console.print()
    if report.ok:
        console.print("[green bold]verdict: streaming works[/]")
    else:
        codes = ", ".join(problem.code for problem in report.problems)
        console.print(f"[red bold]verdict: {len(report.problems)} problem(s): {codes}[/]")
