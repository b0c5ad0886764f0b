"""The verdict rules (pure): from the metrics of a check to its problems.

Rules (the thresholds are the fields of :class:`Thresholds`). Time ratios do not move
when the server or the machine is uniformly slower, and read counts do not depend on
time at all, so the buffering verdicts rest on them and never on one absolute duration.

The principle: each verdict needs evidence of its own cause in the stream's shape. A
buffered body shows itself by how it *arrives*: several chunks per read, near-zero gaps
between chunks, or one burst after a wait. A late first token alone is not evidence of
buffering: a server that queues the request, or a model that thinks without streaming
its reasoning, sends the first token late and then streams normally; that is
``slow_first_token``, and nothing else. These are tested as properties of
:func:`~ssestream.check.analyse`: scaling every time (and ``slow_first_token`` with
them) by 0.1x-20x changes no verdict; a constant delay before the first token of a
healthy stream gives ``slow_first_token`` alone; a steady slow stream, and a long
reasoning phase followed by the answer, are healthy.
``N`` is the number of chunks, ``R`` the number of reads that completed at least one
event, ``TTFT`` here the time to the first output (the earlier of the first reasoning
token and the first token, as :class:`~ssestream.StreamTimings` defines them; else the
first chunk: streamed reasoning is streaming working) and ``total`` the time to the
end of the body (or to ``[DONE]``). Every timing figure comes from
:func:`~ssestream.check.stream_timings`, the library's ``StreamTimer`` driven with the
probe's reads, so that ``check`` and ``stream.timings`` define TTFT, gaps, chunks per
read and tokens per second once. Nothing is said about buffering below ``min_chunks`` =
8 chunks: too few to tell a burst from a stream.

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
  ``chat.completion.chunk`` shape (see :func:`~ssestream.check.validate_chunk`): not
  JSON, not an object, ``choices`` not a list, a field of the wrong JSON type.
  Deviations that tolerant clients accept (a missing ``created``, ``object`` other than
  ``"chat.completion.chunk"``, a tool call without ``index``) are listed as warnings.
  On a Responses stream: an event that :class:`~ssestream.ResponseStreamParser` cannot
  read (not JSON, no ``type``, a field the rebuild reads of the wrong type), which ends
  the stream as it ends a client's; what follows from the cut is not reported.
* ``error_in_stream``: the stream carried an error payload or ``event: error``.
* ``missing_done``: the body ended cleanly without ``data: [DONE]`` (the evidence says
  whether a ``finish_reason`` came: without one, the answer itself is cut off).
* ``missing_terminal_event`` (Responses API, ``CheckData.api == "responses"``): the
  body ended cleanly without ``response.completed`` / ``response.incomplete``. A
  Responses stream's events count as chunks; the chunk shape and ``missing_done`` are
  the chat API's and are not checked on it.
* ``missing_usage``: no chunk carried ``usage`` although ``stream_options.include_usage``
  was sent, in a stream that reached its end (``[DONE]`` or a ``finish_reason``; the
  usage chunk comes last, so a stream cut before is ``missing_done`` alone). On a
  Responses stream: its terminal event came, and no event's ``response`` had ``usage``.
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

import json
from collections.abc import Mapping, Sequence

from .._http import media_type
from .._parser import error_fields  # the parser's reading of error payloads
from ._records import (
    MAX_CHUNKS,
    MAX_READS,
    MODEL_WORD,
    ChunkDeviation,
    Exchange,
    Problem,
    StreamMetrics,
    StreamRecord,
    Thresholds,
)
from ._shape import deviation_evidence

__all__ = ["compression_problems", "refusal_problem", "stream_problems"]


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
        reads = metrics.reads_with_events
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
    reads = metrics.reads_with_events
    ttft = metrics.time_to_first_output
    evidence: list[str] = []
    if reads <= thresholds.few_reads:
        evidence.append(f"{n} chunks arrived in {reads} read{'s' if reads != 1 else ''}")
    burst = _burst(metrics, thresholds)
    share = metrics.first_output_share
    if burst is not None and share is not None and share >= thresholds.ttft_share:
        evidence.append(
            f"the first token came at {_s(ttft)} of {_s(metrics.total_time)} "
            f"({share:.0%} of the response time), then {burst}"
        )
    reference = metrics.first_output_vs_non_streaming
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
    return media_type(headers.get(name))


def stream_problems(
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
    responses = record.api == "responses"
    if errors and responses:
        problems.append(
            Problem(
                code="malformed_chunks",
                message=f"event {errors[0].chunks[0]} of the Responses stream cannot be "
                "read, which ends the stream",
                evidence=deviation_evidence(errors, noun="event"),
                hint="Each `data:` payload must be one complete JSON Responses API event "
                "with its `type`, its fields of the types the OpenAI API reference gives "
                "(a `*.delta` event carries its `delta` text): clients stop at the first "
                "one they cannot read. Check the server's serialisation, and any proxy "
                "that rewrites the body.",
            )
        )
    elif errors:
        problems.append(
            Problem(
                code="malformed_chunks",
                message=f"{metrics.malformed_chunks} of {metrics.chunks} chunks do not have "
                "the chat.completion.chunk shape",
                evidence=deviation_evidence(errors),
                hint="Each `data:` payload must be one complete JSON chat.completion.chunk "
                "(OpenAI API reference): clients stop at the first one they cannot parse. "
                "Check the server's serialisation, and any proxy that rewrites the body.",
            )
        )
    # An event a Responses client cannot read ends its stream: the rest is a consequence.
    cut_short = bool(errors) and responses
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
    if not cut_short and not record.done and record.streamed and record.api == "responses":
        problems.append(
            Problem(
                code="missing_terminal_event",
                message="the Responses stream ended without its terminal event",
                evidence=(
                    f"the body ended after {metrics.chunks} events, at "
                    f"{_s(record.end_time)}, without response.completed or "
                    "response.incomplete",
                ),
                hint="A Responses API stream ends with `response.completed` (or "
                "`response.incomplete` / `response.failed`) carrying the whole response "
                "and its usage (OpenAI API reference, Streaming events); clients treat a "
                "stream without it as interrupted.",
            )
        )
    elif not cut_short and not record.done and record.streamed:
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
    if responses and not cut_short and record.done and record.streamed and not metrics.usage:
        problems.append(
            Problem(
                code="missing_usage",
                message="the Responses stream's terminal event carries no `usage`",
                evidence=(f"none of the {metrics.chunks} events had a response with usage",),
                hint="The OpenAI Responses API states the token usage in the `response` of "
                "`response.completed` (OpenAI API reference, the Response object's "
                "`usage`): upgrade or configure the server, or count tokens on the client.",
            )
        )
    elif not responses and not cut_short and ended and record.streamed and not metrics.usage:
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
    ttft = metrics.time_to_first_output
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


def refusal_problem(
    exchange: Exchange, *, what: str, key_env: str, key_set: bool
) -> Problem | None:
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
        message is not None and MODEL_WORD.search(message) is not None
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


def _is_buffering(problem: Problem) -> bool:
    return problem.code in ("buffered", "partially_buffered")


def compression_problems(
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
                        f"{metrics.reads_with_events} reads",
                    ),
                    hint="It works because the server flushes the compressor per event; "
                    "proxies that recompress may still buffer it.",
                )
            )
    return warnings
