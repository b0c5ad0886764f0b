"""The analysis (pure): from the probe's records to metrics, problems and a verdict.

Two steps. Each stream's figures come first (:func:`analyse_stream`): every timing from
:func:`stream_timings`, the library's ``StreamTimer`` driven with the probe's reads, so
that ``check`` and ``stream.timings`` define TTFT, gaps, chunks per read and tokens per
second once; then the shape of its gaps, its usage and its finish. The rules of
:mod:`._rules` turn those figures into problems (each rule, its thresholds and the
principle they follow are written there); :func:`analyse` runs them on every request
of a check, in order, stops at the first refusal, and merges the problems of the runs
into one :class:`Report`. A Responses API stream's events count as chunks; its usage
and status come from its terminal event.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import ChatCompletionChunk, StreamTimings
from .._responses_parser import OUTPUT_DELTAS
from .._timings import (
    StreamTimer,  # stream.timings' own figures
    chunk_output,
)
from ._records import (
    PROBLEM_CODES,
    STREAM_HEADERS,
    CheckData,
    ChunkArrival,
    ChunkDeviation,
    Exchange,
    Problem,
    Report,
    StreamMetrics,
    StreamRecord,
    Thresholds,
    rounded,
)
from ._rules import compression_problems, refusal_problem, stream_problems
from ._shape import chunk_deviations, deviation_evidence, is_int

__all__ = ["analyse", "analyse_stream", "stream_timings"]


def stream_timings(record: StreamRecord) -> StreamTimings:
    """The :class:`~ssestream.StreamTimings` of a probed stream, as ``stream.timings``
    gives them for the same reads.

    The library's ``StreamTimer`` is driven as :class:`~ssestream.ChatStreamParser`
    drives it, with the probe's times (seconds from sending the request, which is 0):
    the response head at ``exchange.time``, the first byte at the first read, each
    decodable chunk arriving with the read that completed it, the reads that completed
    events counted (``record.event_reads``), the end at ``record.end_time``, and the
    last ``usage`` sent. So TTFT, the gaps, chunks per read and tokens per second are
    computed by one piece of code in the project.
    """
    timer = StreamTimer(clock=lambda: 0.0)  # every time is set from the record
    timer.request_sent = 0.0
    timer.response_head = record.exchange.time
    timer.first_byte = record.reads[0].time if record.reads else None
    chunks = [chunk for chunk in record.chunks if chunk.payload is not None]
    timer.reads = (
        record.event_reads
        if record.event_reads is not None
        else len({chunk.read for chunk in chunks})
    )
    looking = True
    usage: Mapping[str, Any] | None = None
    responses = record.api == "responses"
    for chunk in chunks:
        payload = chunk.payload
        assert payload is not None
        timer.arrivals.append(chunk.time)
        if responses:  # as ResponseStreamParser tells its timer
            kind = payload.get("type")
            delta = payload.get("delta")
            field = _OUTPUT_DELTAS.get(kind) if type(kind) is str else None
            if looking and field is not None and type(delta) is str and delta:
                looking = timer.look({"choices": [{"delta": {field: delta}}]})
            output = _response_usage(payload).get("output_tokens")
            if type(output) is int:
                usage = {"completion_tokens": output}
            continue
        if looking:
            looking = timer.look(payload)
        if isinstance(payload.get("usage"), Mapping):
            usage = payload["usage"]
    timer.end = record.end_time
    return timer.snapshot(usage)


_TERMINAL_OK = ("response.completed", "response.incomplete")

_OUTPUT_DELTAS = OUTPUT_DELTAS  # the parser's table: the first token means one thing


def _response_usage(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``usage`` of a Responses lifecycle event's ``response``, or ``{}``."""
    response = payload.get("response")
    usage = response.get("usage") if isinstance(response, Mapping) else None
    return usage if isinstance(usage, Mapping) else {}


def _text_of_event(payload: Mapping[str, Any] | None) -> _Text:
    """What one Responses event carries that a user would see."""
    found = _Text()
    kind = payload.get("type") if payload is not None else None
    delta = payload.get("delta") if payload is not None else None
    field = _OUTPUT_DELTAS.get(kind) if isinstance(kind, str) else None
    if field is None or not isinstance(delta, str) or not delta:
        return found
    if field == "reasoning_content":
        found.reasoning = len(delta)
    elif field in ("content", "refusal"):
        found.content = len(delta)
    found.visible = True
    return found


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
    except (AttributeError, TypeError):  # a malformed chunk: it shows nothing
        return _Text()
    # Whether it shows anything is the library's one definition (the timings' too).
    found.visible = any(chunk_output(payload))
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
    headers = {name: exchange.headers.get(name) for name in STREAM_HEADERS}
    chunks = record.chunks
    # A plain JSON body is a chat.completion, not chunks: not_streamed says it all. The
    # chunk shape is the chat API's: a Responses stream's events are not chunks.
    responses = record.api == "responses"
    streamed = record.streamed is not False
    deviations = chunk_deviations(chunks, shape=not responses) if streamed else ()
    malformed = {
        number
        for deviation in deviations
        if deviation.severity == "error"
        for number in deviation.chunks
    }
    reader = _text_of_event if responses else _text_of
    texts = [reader(chunk.payload) for chunk in chunks]
    timings = stream_timings(record)
    firsts = [t for t in (timings.ttft, timings.first_reasoning_token) if t is not None]
    first_output = min(firsts) if firsts else timings.time_to_first_chunk
    first_visible = next((i for i, t in enumerate(texts) if t.visible), None)
    start = first_visible if first_visible is not None else 0
    near_zero, largest, bursts = _gap_shape(_phase_gaps(chunks, texts, start), thresholds)
    spanned = timings.chunks - 1  # the gaps StreamTimings measures: every chunk's
    mean = None
    if spanned > 0 and timings.first_chunk is not None and timings.last_chunk is not None:
        mean = (timings.last_chunk - timings.first_chunk) / spanned
    inter_chunk = {
        "p50": timings.gap_p50,
        "p90": timings.gap_p90,
        "p99": timings.gap_p99,
        "max": timings.gap_max,
        "mean": mean,
    }
    usage_payloads = [
        chunk.payload["usage"]
        for chunk in chunks
        if chunk.payload is not None and isinstance(chunk.payload.get("usage"), Mapping)
    ]
    names = ("prompt_tokens", "completion_tokens")
    finish_reason = None
    if responses:  # usage and status come in the terminal event's response
        names = ("input_tokens", "output_tokens")
        usage_payloads = [
            _response_usage(chunk.payload)
            for chunk in chunks
            if chunk.payload is not None and _response_usage(chunk.payload)
        ]
        for chunk in chunks:
            payload = chunk.payload or {}
            response = payload.get("response")
            if isinstance(response, Mapping) and payload.get("type") in _TERMINAL_OK:
                status = response.get("status")
                finish_reason = status if isinstance(status, str) else None
    usage = usage_payloads[-1] if usage_payloads else {}
    prompt_tokens = usage.get(names[0])
    prompt_tokens = prompt_tokens if is_int(prompt_tokens) else None
    completion_tokens = usage.get(names[1])
    completion_tokens = completion_tokens if is_int(completion_tokens) else None
    for chunk in chunks if not responses else ():
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
    metrics = StreamMetrics(
        run=record.run,
        accept_encoding=record.accept_encoding,
        api=record.api,
        status=exchange.status,
        http_version=exchange.http_version,
        headers=headers,
        streamed=record.streamed,
        time_to_headers=exchange.time,
        time_to_first_byte=record.reads[0].time if record.reads else None,
        time_to_first_chunk=timings.time_to_first_chunk,
        ttft=timings.ttft,
        ttft_reasoning=timings.first_reasoning_token,
        time_to_first_output=first_output,
        time_to_last_chunk=last,
        total_time=record.end_time,
        generation_time=generation,
        chunks=len(chunks),
        malformed_chunks=len(malformed),
        reads=len(record.reads),
        reads_with_events=timings.reads,
        reads_source=record.reads_source,
        chunks_per_read=timings.chunks_per_read,
        bytes=sum(read.size for read in record.reads),
        inter_chunk=inter_chunk,
        near_zero_gap_share=near_zero,
        largest_gaps_share=largest,
        bursts=bursts,
        first_output_share=_ratio(first_output, record.end_time),
        first_output_vs_non_streaming=_ratio(first_output, non_streaming_time),
        done=record.done,
        usage=bool(usage_payloads),
        usage_chunks=len(usage_payloads),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        tokens_per_second=timings.output_tokens_per_second,
        tokens_source=timings.tokens_source,
        finish_reason=finish_reason,
        text_chars=sum(text.content + text.reasoning for text in texts),
        error_in_stream=record.stream_error.message if record.stream_error else None,
        transport_error=record.transport_error,
        timed_out=record.timed_out,
        timings=timings,
    )
    return metrics, deviations


def _answer(
    exchange: Exchange, stream_start: bytes, request: str
) -> tuple[dict[str, Any], list[str], dict[str, Any] | None]:
    """What every non-streaming answer is checked for first, for either API.

    Returns the metrics with their defaults, the deviations found, and the body's JSON
    object; ``None`` instead of the object when the body is an event stream (labelled
    so, or starting with ``stream_start``) or not a JSON object: nothing more to read.
    ``request`` names the request in the deviation (``"`stream: false`"``).
    """
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
    if exchange.content_type == "text/event-stream" or exchange.body.lstrip().startswith(
        stream_start
    ):
        found.append(f"the answer to {request} is an event stream")
        return metrics, found, None
    payload = exchange.json()
    if not isinstance(payload, dict):
        found.append("the body is not a JSON object")
        return metrics, found, None
    return metrics, found, payload


def _completion_warnings(exchange: Exchange) -> tuple[dict[str, Any], list[str]]:
    """Metrics and shape deviations of the non-streaming answer."""
    metrics, found, payload = _answer(exchange, b"data:", "`stream: false`")
    if payload is None:
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
            if is_int(usage.get(name)):
                metrics[name] = usage[name]
    else:
        found.append("usage is missing")
    return metrics, found


def _response_warnings(exchange: Exchange) -> tuple[dict[str, Any], list[str]]:
    """Metrics and shape deviations of the non-streaming Responses API answer (the
    ``response`` object of the OpenAI API reference)."""
    metrics, found, payload = _answer(exchange, b"event:", "a request without `stream: true`")
    if payload is None:
        return metrics, found
    if payload.get("object") != "response":
        found.append(f"object is {payload.get('object')!r}, not 'response'")
    if isinstance(payload.get("status"), str):
        metrics["finish_reason"] = payload["status"]
    output = payload.get("output")
    if not isinstance(output, list):
        found.append("output is missing")
    else:
        for item in output:
            for part in item.get("content") or [] if isinstance(item, dict) else []:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    metrics["text_chars"] += len(part["text"])
    usage = payload.get("usage")
    if isinstance(usage, dict):
        for ours, theirs in (
            ("prompt_tokens", "input_tokens"),
            ("completion_tokens", "output_tokens"),
        ):
            if is_int(usage.get(theirs)):
                metrics[ours] = usage[theirs]
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


def _merge(runs: Sequence[tuple[str, Sequence[Problem]]]) -> list[Problem]:
    """One problem per code; with two runs, each evidence line names its run."""
    labelled = len(runs) > 1
    merged: dict[str, Problem] = {}
    for run, problems in runs:
        for problem in problems:
            evidence = tuple(f"{run}: {line}" if labelled else line for line in problem.evidence)
            known = merged.get(problem.code)
            merged[problem.code] = (
                dataclasses.replace(problem, evidence=evidence)
                if known is None
                else dataclasses.replace(known, evidence=known.evidence + evidence)
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
            metrics=rounded(metrics),
            deviations=deviations,
        )

    def refusal(exchange: Exchange, what: str) -> Problem | None:
        return refusal_problem(
            exchange, what=what, key_env=data.api_key_env, key_set=data.api_key_set
        )

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
    refused = refusal(
        normal, "the Responses request" if data.api == "responses" else "the chat request"
    )
    if refused is not None:
        if discovery_problem is not None and discovery_problem.code == refused.code:
            refused = dataclasses.replace(
                refused, evidence=discovery_problem.evidence + refused.evidence
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
    if data.api == "responses":
        metrics["non_streaming"], shape = _response_warnings(normal)
    else:
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
            (record, stream_metrics, stream_problems(record, stream_metrics, found, thresholds))
        )
        minor = [deviation for deviation in found if deviation.severity == "warning"]
        if minor:
            warnings.append(
                Problem(
                    code="chunk_deviations",
                    message=f"{record.run}: chunks deviate from the chat.completion.chunk "
                    "shape in ways tolerant clients accept",
                    evidence=deviation_evidence(minor),
                    hint="Strict clients (typed SDKs) may reject these fields.",
                )
            )
    warnings.extend(compression_problems(runs))
    problems.extend(_merge([(record.run, found) for record, _, found in runs]))
    return report()
