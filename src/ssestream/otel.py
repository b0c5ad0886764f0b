"""OpenTelemetry tracing of streams: one span and the GenAI metrics per stream.

Install the extra (``pip install "ssestream[otel]"``) and pass a :class:`StreamTracer`
as a stream's ``on_end`` hook::

    tracer = StreamTracer(request_model="gpt-4.1")
    with connect_chat(client, "POST", url, json=body, on_end=tracer) as stream:
        ...

Strategy: nothing runs while the stream is read. When the stream is over, the hook
builds the span *retroactively* from ``stream.timings``, the answer
(``stream.completion`` of a chat stream, ``stream.snapshot`` of a Responses stream) and
the error the stream raised, and records the metrics; the hot path pays nothing, and a
stream read without the hook pays nothing either. This module is the only one that
imports OpenTelemetry (the API only: the application picks the SDK and exporters).

Conventions followed: the GenAI semantic conventions of **OpenTelemetry semantic
conventions v1.41.0**, the last release of the main semconv repository before the GenAI
conventions moved to their own repository (``semantic-conventions-genai``). These are
the names that the ``opentelemetry-semantic-conventions`` Python package ships as
constants (0.66b2 marks them "moved", not renamed) and that today's GenAI
instrumentations emit, so existing dashboards read them. The first standalone release
(semantic-conventions-genai v0.1.0) renames the client metrics to
``gen_ai.client.inference.*`` and splits token usage into counters; no SDK ships those
names yet, and the conventions' own transition plan says an instrumentation keeps the
names it emits until the user opts in, so they are not emitted here. The names:

* span ``chat {gen_ai.request.model}`` (``chat`` without a request model), kind CLIENT;
* span attributes ``gen_ai.operation.name`` (``"chat"``, for both APIs),
  ``openai.api.type`` (``"chat_completions"`` or ``"responses"``, from the OpenAI
  conventions), ``gen_ai.provider.name``,
  ``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.response.id``,
  ``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens``,
  ``gen_ai.usage.output_tokens``, ``gen_ai.response.time_to_first_chunk`` (seconds),
  ``server.address``, ``server.port``, ``http.response.status_code``, ``error.type``;
  and, outside the conventions, ``ssestream.time_to_first_token`` (seconds, see
  :class:`ssestream.StreamTimings`), ``ssestream.chunks``, ``ssestream.done``,
  ``ssestream.interrupted``;
* histograms ``gen_ai.client.operation.duration`` (s), ``gen_ai.client.token.usage``
  (``{token}``, with ``gen_ai.token.type`` ``input``/``output``),
  ``gen_ai.client.operation.time_to_first_chunk`` (s) and
  ``gen_ai.client.operation.time_per_output_chunk`` (s, one value per chunk after the
  first: the gap since the previous chunk).

No message content and no request header reaches an attribute: prompts, answers, tool
arguments, error messages (they may quote the payload) and the API key stay out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

try:
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # the extra is not installed
    raise ImportError(
        f"ssestream.otel needs the OpenTelemetry API: pip install 'ssestream[otel]' ({exc})"
    ) from exc

from .__about__ import __version__
from ._responses_events import response_finish_reason
from ._responses_streams import AsyncResponseStream, ResponseStream
from ._timings import Clock, StreamTimings

__all__ = ["SCHEMA_URL", "SEMCONV_VERSION", "StreamTracer"]

SEMCONV_VERSION = "1.41.0"
"""The OpenTelemetry semantic conventions release whose GenAI names this module emits."""

SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
"""The schema URL given to the tracer and the meter (see :data:`SEMCONV_VERSION`)."""

# Bucket boundaries (seconds): the conventions' advice for gen_ai.client.operation.duration,
# used for the two chunk histograms too (the SDK's default boundaries suit milliseconds).
_SECONDS_BUCKETS = [
    *(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64),
    *(1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92),
]
# Tokens: the conventions' advice for gen_ai.client.token.usage.
_TOKEN_BUCKETS = [float(4**n) for n in range(14)]  # 1, 4, 16, ... 67108864


class StreamTracer:
    """Record each stream as a span and the GenAI client metrics.

    An instance is an ``on_end`` hook: pass it to :class:`ssestream.ChatStream`,
    :class:`ssestream.AsyncChatStream`, :func:`ssestream.connect_chat` or
    :func:`ssestream.aconnect_chat` (``on_end=tracer``), or to their Responses API
    twins (:class:`ssestream.ResponseStream`, :func:`ssestream.connect_responses`...):
    a Responses stream's span reads its ``snapshot`` (input and output tokens, the
    finish reason its ``events()`` give: ``"stop"``, ``"tool_calls"``, ``"length"``...).
    One instance serves any number of streams, in any thread or task; to name the
    request model per request, pass
    ``functools.partial(tracer.record, request_model=body["model"])`` instead.

    Args:
        tracer_provider: the ``TracerProvider`` (the global one by default).
        meter_provider: the ``MeterProvider`` (the global one by default).
        provider_name: ``gen_ai.provider.name``, the API flavour as the conventions
            list them: ``"openai"`` (the default: ssestream reads OpenAI's wire format),
            ``"deepseek"``, ``"groq"``, ``"x_ai"``, ``"mistral_ai"``, ... or your own.
        request_model: ``gen_ai.request.model``, the model the request asked for (the
            stream never sees the request body). ``None``: not recorded.

    The span is a child of the span current when the stream ends (usually the one that
    was current when it began). An exception raised while recording (a broken
    exporter, a provider that raises) reaches the stream's ``on_end`` guard, which
    turns it into a ``RuntimeWarning``: the stream's result and error stay as they are.
    """

    def __init__(
        self,
        tracer_provider: _trace.TracerProvider | None = None,
        meter_provider: _metrics.MeterProvider | None = None,
        *,
        provider_name: str = "openai",
        request_model: str | None = None,
    ) -> None:
        self.provider_name = provider_name
        self.request_model = request_model
        self._tracer = _trace.get_tracer(
            "ssestream", __version__, tracer_provider, schema_url=SCHEMA_URL
        )
        meter = _metrics.get_meter("ssestream", __version__, meter_provider, schema_url=SCHEMA_URL)
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self._first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time from the request to the first chunk of the response stream.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self._per_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_per_output_chunk",
            unit="s",
            description="Time from the previous chunk to each chunk after the first.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )

    def __call__(self, stream: Any, error: BaseException | None) -> None:
        """The ``on_end`` hook: :meth:`record` the stream."""
        self.record(stream, error)

    def record(
        self,
        stream: Any,
        error: BaseException | None = None,
        *,
        request_model: str | None = None,
    ) -> None:
        """Record one ended stream: its span, then its metrics.

        Args:
            stream: a chat or Responses stream, sync or async, that is over
                (``stream.timings.end`` is set).
            error: the exception the stream raised, or ``None``; it sets ``error.type``
                (the exception's class name) and the span status ERROR. A stream closed
                early without an error is not an error: ``ssestream.interrupted`` says so.
            request_model: overrides the instance's ``request_model`` for this stream.

        Times: the stream's clock (``time.perf_counter`` unless it was given another)
        is monotonic, with an arbitrary origin; a span needs nanoseconds since the Unix
        epoch. The clock and ``time.time_ns()`` are read together once, now, and every
        stage is placed at its distance from that pair: durations are the monotonic
        clock's, exact whatever the wall clock did during the stream, and the absolute
        times are as right as the wall clock is now.
        """
        timings: StreamTimings = stream.timings
        to_epoch_ns, now = _epoch_mapping(_clock_of(stream))
        end = timings.end if timings.end is not None else now
        start = timings.start if timings.start is not None else end
        model = request_model if request_model is not None else self.request_model

        common: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self.provider_name,
        }
        if model is not None:
            common["gen_ai.request.model"] = model
        common.update(_server(stream))
        outcome = _outcome(stream)
        if outcome.model is not None:
            common["gen_ai.response.model"] = outcome.model
        error_type = None if error is None else type(error).__qualname__

        attributes = dict(common)
        attributes.update(_response_attributes(stream, outcome))
        streamed = stream.streamed is True
        first_chunk = timings.time_to_first_chunk if streamed else None
        if first_chunk is not None:
            attributes["gen_ai.response.time_to_first_chunk"] = first_chunk
        if timings.ttft is not None:
            attributes["ssestream.time_to_first_token"] = timings.ttft
        if error_type is not None:
            attributes["error.type"] = error_type

        span = self._tracer.start_span(
            f"chat {model}" if model else "chat",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=to_epoch_ns(start),
        )
        if error_type is not None:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=to_epoch_ns(end))

        measured = dict(common)
        if error_type is not None:
            measured["error.type"] = error_type
        self._duration.record(end - start, measured)
        if first_chunk is not None:
            self._first_chunk.record(first_chunk, measured)
            arrivals = stream.parser.timer.arrivals
            for i in range(1, len(arrivals)):
                self._per_chunk.record(arrivals[i] - arrivals[i - 1], measured)
        for token_type, count in outcome.usage.items():
            self._tokens.record(count, {**common, "gen_ai.token.type": token_type})


def _clock_of(stream: Any) -> Clock:
    parser = getattr(stream, "parser", None)
    timer = getattr(parser, "timer", None)
    clock = getattr(timer, "clock", None)
    return clock if callable(clock) else time.perf_counter


def _epoch_mapping(clock: Clock) -> tuple[Callable[[float], int], float]:
    """A function from the clock's seconds to epoch nanoseconds, and the clock's now.

    The clock is read on both sides of ``time.time_ns()`` and the midpoint taken, so the
    pair is as close as two reads allow.
    """
    before = clock()
    wall = time.time_ns()
    now = (before + clock()) / 2
    return (lambda moment: wall + round((moment - now) * 1e9)), now


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _server(stream: Any) -> dict[str, Any]:
    """``server.address``/``server.port`` from the response's request URL, when known."""
    response = getattr(stream, "response", None)
    if response is None:
        return {}
    try:
        url = response.request.url
    except (AttributeError, RuntimeError):  # a response built without a request
        return {}
    host = getattr(url, "host", None)
    if not isinstance(host, str) or not host:
        return {}
    port = _int(getattr(url, "port", None))
    if port is None:
        port = {"https": 443, "http": 80}.get(getattr(url, "scheme", ""))
    address: dict[str, Any] = {"server.address": host}
    if port is not None:
        address["server.port"] = port
    return address


class _Outcome(NamedTuple):
    """What a span says of the answer, read from either kind of stream."""

    api: str  # openai.api.type: "chat_completions" or "responses"
    model: str | None
    id: str | None
    finish_reasons: list[str]
    usage: dict[str, int]  # "input" / "output" tokens, as the server reported them
    done: bool  # [DONE], or a Responses stream's terminal event


def _outcome(stream: Any) -> _Outcome:
    """The answer of a chat stream (its ``completion``) or of a Responses stream (its
    ``snapshot``; the finish reason as its events give it: one definition)."""
    if isinstance(stream, (ResponseStream, AsyncResponseStream)):
        response = stream.snapshot
        reason = response_finish_reason(response.to_dict())
        usage = response.usage
        counts = (
            {} if usage is None else {"input": usage.input_tokens, "output": usage.output_tokens}
        )
        return _Outcome(
            "responses",
            _str(response.model),
            _str(response.id),
            [reason] if reason is not None else [],
            {kind: n for kind, n in counts.items() if type(n) is int},
            stream.terminal_event in ("response.completed", "response.incomplete"),
        )
    completion = stream.completion
    usage = completion.usage
    counts = (
        {} if usage is None else {"input": usage.prompt_tokens, "output": usage.completion_tokens}
    )
    return _Outcome(
        "chat_completions",
        _str(completion.model),
        _str(completion.id),
        [c.finish_reason for c in completion.choices if isinstance(c.finish_reason, str)],
        {kind: n for kind, n in counts.items() if type(n) is int},
        bool(stream.done),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _response_attributes(stream: Any, outcome: _Outcome) -> dict[str, Any]:
    """The span attributes of the response: ids, finish reasons, usage, stream state."""
    attributes: dict[str, Any] = {"openai.api.type": outcome.api}
    if outcome.id is not None:
        attributes["gen_ai.response.id"] = outcome.id
    if outcome.finish_reasons:
        attributes["gen_ai.response.finish_reasons"] = outcome.finish_reasons
    if "input" in outcome.usage:
        attributes["gen_ai.usage.input_tokens"] = outcome.usage["input"]
    if "output" in outcome.usage:
        attributes["gen_ai.usage.output_tokens"] = outcome.usage["output"]
    response = getattr(stream, "response", None)
    status = _int(getattr(response, "status_code", None))
    if status is not None:
        attributes["http.response.status_code"] = status
    attributes["ssestream.chunks"] = stream.timings.chunks
    attributes["ssestream.done"] = outcome.done
    attributes["ssestream.interrupted"] = bool(stream.interrupted)
    return attributes
