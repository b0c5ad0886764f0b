"""ssestream.otel: every stream as one span and the GenAI metrics, read back from the SDK's
in-memory span exporter and metric reader, on the real recordings, through every twin."""

from __future__ import annotations

import functools
import importlib
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Twin
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from test_streams import chunk, sse

import ssestream
from ssestream import (
    APIStatusError,
    AsyncChatStream,
    ChatStream,
    ResponseStream,
    SSEStreamError,
    StreamAPIError,
)
from ssestream.otel import SCHEMA_URL, StreamTracer
from ssestream.testing import ReplayTransport

PROVIDERS = Path(__file__).parent / "fixtures" / "providers"
REASONING = PROVIDERS / "deepseek-reasoner-reasoning.sse"  # role chunk, reasoning, usage
MIDSTREAM_ERROR = PROVIDERS / "openai-gpt-4.1-midstream-error.sse"
URL = "https://api.example.test/v1/chat/completions"


class Telemetry:
    """A tracer and meter provider that keep everything in memory."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def tracer(self, **kwargs: Any) -> StreamTracer:
        return StreamTracer(self.tracer_provider, self.meter_provider, **kwargs)

    def span(self) -> ReadableSpan:
        (span,) = self.spans.get_finished_spans()
        return span

    def metrics(self) -> dict[str, list[Any]]:
        """Each metric's data points, by name."""
        out: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                assert scope.scope.name == "ssestream"
                assert scope.scope.schema_url == SCHEMA_URL
                for metric in scope.metrics:
                    out[metric.name] = list(metric.data.data_points)
        return out


@pytest.fixture
def otel() -> Telemetry:
    return Telemetry()


def reads(path: Path) -> list[bytes]:
    """A recording's body as one read per event, as a server that flushes each chunk."""
    return [event + b"\n\n" for event in path.read_bytes().split(b"\n\n") if event.strip()]


def point(points: list[Any], **attributes: Any) -> Any:
    """The one data point whose attributes include ``attributes``."""
    found = [p for p in points if attributes.items() <= dict(p.attributes).items()]
    assert len(found) == 1, found
    return found[0]


def strings(span: ReadableSpan) -> list[str]:
    values: list[Any] = []
    for value in (span.attributes or {}).values():
        values += value if isinstance(value, tuple) else [value]
    return [v for v in values if isinstance(v, str)]


# ------------------------------------------------------------------------ a whole stream


@pytest.mark.parametrize("via", ["iterable", "connect:httpx", "httpx2"])
def test_a_stream_is_one_span_and_its_metrics(twin: Twin, via: str, otel: Telemetry) -> None:
    before = time.time_ns()
    tracer = otel.tracer(provider_name="deepseek", request_model="deepseek-reasoner")
    run = twin.read(reads(REASONING), via=via, on_end=tracer)
    after = time.time_ns()
    stream, timings, completion = run.stream, run.stream.timings, run.completion
    usage = completion.usage
    assert usage is not None
    assert timings.end is not None
    assert timings.start is not None

    span = otel.span()
    assert span.name == "chat deepseek-reasoner"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.schema_url == SCHEMA_URL
    expected: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "openai.api.type": "chat_completions",
        "gen_ai.provider.name": "deepseek",
        "gen_ai.request.model": "deepseek-reasoner",
        "gen_ai.response.model": completion.model,
        "gen_ai.response.id": completion.id,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "gen_ai.response.time_to_first_chunk": timings.time_to_first_chunk,
        "ssestream.time_to_first_token": timings.ttft,
        "ssestream.chunks": timings.chunks,
        "ssestream.done": stream.done,
        "ssestream.interrupted": False,
    }
    if via != "iterable":
        expected |= {
            "server.address": "api.example.test",
            "server.port": 443,
            "http.response.status_code": 200,
        }
    assert dict(span.attributes or {}) == expected
    # The reasoning comes before the answer: the first chunk is not the first token.
    assert timings.ttft is not None
    assert timings.time_to_first_chunk is not None
    assert timings.ttft > timings.time_to_first_chunk
    # Placed on the wall clock, lasting what the monotonic clock measured.
    assert span.start_time is not None
    assert span.end_time is not None
    assert before <= span.start_time <= span.end_time <= after
    assert abs((span.end_time - span.start_time) - timings.duration * 1e9) <= 2  # type: ignore[operator]
    # No content: neither the answer nor the reasoning is in any attribute.
    answer = completion.choices[0].message.content
    assert answer
    assert all(answer not in value for value in strings(span))

    metrics = otel.metrics()
    common = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "deepseek"}
    duration = point(metrics["gen_ai.client.operation.duration"], **common)
    assert "error.type" not in duration.attributes
    assert duration.count == 1
    assert duration.sum == pytest.approx(timings.duration)
    # The conventions' bucket advice, in seconds: 0.01 doubling up to 81.92.
    assert list(duration.explicit_bounds) == pytest.approx([0.01 * 2**n for n in range(14)])
    first = point(metrics["gen_ai.client.operation.time_to_first_chunk"], **common)
    assert first.count == 1
    assert first.sum == timings.time_to_first_chunk
    per_chunk = point(metrics["gen_ai.client.operation.time_per_output_chunk"], **common)
    assert per_chunk.count == timings.chunks - 1
    assert per_chunk.sum == pytest.approx(timings.last_chunk - timings.first_chunk)  # type: ignore[operator]
    assert per_chunk.max == timings.gap_max
    tokens = metrics["gen_ai.client.token.usage"]
    assert point(tokens, **{"gen_ai.token.type": "input"}).sum == usage.prompt_tokens
    assert point(tokens, **{"gen_ai.token.type": "output"}).sum == usage.completion_tokens
    assert all(p.attributes["gen_ai.response.model"] == "deepseek-reasoner" for p in tokens)
    assert list(tokens[0].explicit_bounds) == [4**n for n in range(14)]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_exact_figures_from_a_fake_clock(otel: Telemetry) -> None:
    clock = FakeClock()
    role = chunk()
    role["choices"][0]["delta"] = {"role": "assistant", "content": ""}
    body = [(100.5, sse(role)), (101.0, sse(chunk("Hi"))), (101.25, sse(chunk(None, "stop")))]

    def source() -> Any:
        for now, data in body:
            clock.now = now
            yield data
        clock.now = 101.5

    stream = ChatStream(source(), clock=clock, on_end=otel.tracer())
    stream.get_final_completion()
    span = otel.span()
    assert span.name == "chat"  # no request model given
    attributes = span.attributes or {}
    assert attributes["gen_ai.response.time_to_first_chunk"] == 0.0  # from the first byte
    assert attributes["ssestream.time_to_first_token"] == 0.5
    assert "gen_ai.usage.output_tokens" not in attributes  # no usage sent: none counted
    assert span.end_time - span.start_time == 1_000_000_000  # type: ignore[operator]
    metrics = otel.metrics()
    (per_chunk,) = metrics["gen_ai.client.operation.time_per_output_chunk"]
    assert (per_chunk.count, per_chunk.sum, per_chunk.min, per_chunk.max) == (2, 0.75, 0.25, 0.5)
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert duration.sum == 1.0
    assert "gen_ai.client.token.usage" not in metrics


def test_the_request_model_per_request(otel: Telemetry) -> None:
    tracer = otel.tracer(request_model="default-model")
    on_end = functools.partial(tracer.record, request_model="gpt-4.1")
    ChatStream(
        [sse(chunk("a"), chunk(None, "stop"), done=True)], on_end=on_end
    ).get_final_completion()
    assert otel.span().name == "chat gpt-4.1"
    (duration,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.attributes["gen_ai.request.model"] == "gpt-4.1"


# ------------------------------------------------------------------------------- errors


def test_an_error_mid_stream(twin: Twin, otel: Telemetry) -> None:
    run = twin.read(
        reads(MIDSTREAM_ERROR), via="connect:httpx", on_end=otel.tracer(), raises=StreamAPIError
    )
    span = otel.span()
    attributes = span.attributes or {}
    assert span.status.status_code is StatusCode.ERROR
    assert attributes["error.type"] == "StreamAPIError"
    assert attributes["gen_ai.response.model"] == run.completion.model == "gpt-4.1-2025-04-14"
    assert attributes["ssestream.interrupted"] is True
    assert attributes["ssestream.chunks"] == run.stream.timings.chunks == 4
    assert "gen_ai.response.finish_reasons" not in attributes  # the choice never finished
    # The server's message (which may quote the payload) stays out of the span.
    message = str(run.error)
    assert "server had an error" in message
    assert span.status.description is None
    assert all("server had an error" not in value for value in strings(span))
    assert not span.events
    (duration,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "StreamAPIError"


def test_an_http_error(twin: Twin, otel: Telemetry) -> None:
    body = b'{"error": {"message": "Rate limit reached", "type": "requests"}}'
    run = twin.read(
        [body],
        via="connect:httpx2",
        status=429,
        headers={"content-type": "application/json"},
        on_end=otel.tracer(),
        raises=APIStatusError,
    )
    span = otel.span()
    attributes = span.attributes or {}
    assert span.status.status_code is StatusCode.ERROR
    assert attributes["error.type"] == "APIStatusError"
    assert attributes["http.response.status_code"] == 429
    assert "gen_ai.response.time_to_first_chunk" not in attributes  # no stream began
    assert run.stream.timings.chunks == 0
    metrics = otel.metrics()
    assert "gen_ai.client.operation.time_to_first_chunk" not in metrics
    assert "gen_ai.client.operation.time_per_output_chunk" not in metrics
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "APIStatusError"


def test_a_plain_json_answer_has_no_chunk_figures(twin: Twin, otel: Telemetry) -> None:
    completion = {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    body = httpx.Response(200, json=completion).content
    run = twin.read(
        [body], via="httpx", headers={"content-type": "application/json"}, on_end=otel.tracer()
    )
    assert run.stream.streamed is False
    attributes = otel.span().attributes or {}
    assert "gen_ai.response.time_to_first_chunk" not in attributes
    assert attributes["gen_ai.usage.input_tokens"] == 3
    metrics = otel.metrics()
    assert "gen_ai.client.operation.time_to_first_chunk" not in metrics
    assert "gen_ai.client.operation.time_per_output_chunk" not in metrics
    assert len(metrics["gen_ai.client.token.usage"]) == 2


# --------------------------------------------------------------------- closed early


def check_closed_early(stream: Any, otel: Telemetry) -> None:
    span = otel.span()
    attributes = span.attributes or {}
    assert span.status.status_code is StatusCode.UNSET  # the caller's choice, not an error
    assert "error.type" not in attributes
    assert attributes["ssestream.interrupted"] is True
    assert attributes["ssestream.done"] is False
    assert attributes["ssestream.chunks"] == stream.timings.chunks == 2
    assert span.end_time - span.start_time == pytest.approx(  # type: ignore[operator]
        stream.timings.duration * 1e9, abs=2
    )


def test_a_stream_closed_early(otel: Telemetry) -> None:
    client = httpx.Client(transport=ReplayTransport(REASONING))
    with ssestream.connect_chat(client, "POST", URL, json={}, on_end=otel.tracer()) as stream:
        next(stream), next(stream)
        assert otel.spans.get_finished_spans() == ()  # not over yet
    check_closed_early(stream, otel)


@pytest.mark.anyio
async def test_an_async_stream_closed_early(otel: Telemetry) -> None:
    client = httpx.AsyncClient(transport=ReplayTransport(REASONING))
    async with client.stream("POST", URL, json={}) as response:
        stream = AsyncChatStream(response, on_end=otel.tracer())
        await anext(stream), await anext(stream)
        await stream.aclose()
    check_closed_early(stream, otel)


# ------------------------------------------------------------- tracing never breaks it


class BrokenTracer(trace.NoOpTracer):
    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        raise RuntimeError("collector down")


class BrokenTracerProvider(trace.NoOpTracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return BrokenTracer()


def test_a_tracer_that_raises_never_breaks_the_stream(twin: Twin, otel: Telemetry) -> None:
    tracer = StreamTracer(BrokenTracerProvider(), otel.meter_provider)
    with pytest.warns(RuntimeWarning, match="collector down"):
        run = twin.read(reads(REASONING), via="connect:httpx", on_end=tracer)
    assert run.stream.error is None
    assert run.completion.choices[0].finish_reason == "stop"
    assert run.completion.choices[0].message.content


def test_a_tracer_that_raises_keeps_the_streams_own_error(otel: Telemetry) -> None:
    tracer = StreamTracer(BrokenTracerProvider(), otel.meter_provider)
    stream = ChatStream(reads(MIDSTREAM_ERROR), on_end=tracer)
    with pytest.warns(RuntimeWarning, match="collector down"), pytest.raises(StreamAPIError):
        stream.get_final_completion()
    assert isinstance(stream.error, StreamAPIError)


def test_without_opentelemetry_the_import_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n == "opentelemetry" or n.startswith("opentelemetry.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.delitem(sys.modules, "ssestream.otel")
    with pytest.raises(ImportError, match=r"ssestream\[otel\]"):
        importlib.import_module("ssestream.otel")


# ------------------------------------------------------------------------ Responses API


@pytest.mark.parametrize(
    ("name", "finish"),
    [
        ("fantasy-openai-gpt-5-reasoning-summary-function-call.sse", "tool_calls"),
        ("langchain-openai-gpt-4o-mini-incomplete.sse", "length"),
        ("vercel-ai-openai-error-insufficient-quota.sse", None),
    ],
)
def test_a_responses_stream_is_traced_the_same_way(
    name: str, finish: str | None, otel: Telemetry
) -> None:
    """The tracer reads a Responses stream's snapshot where it reads a chat stream's
    completion: same span, ``openai.api.type`` says which API."""
    tracer = otel.tracer(request_model="gpt-5")
    raw = Path(__file__).parent / "fixtures" / "responses" / name
    stream = ResponseStream(reads(raw), on_end=tracer)
    error = None
    try:
        for _ in stream:
            pass
    except SSEStreamError as exc:
        error = exc
    response, timings = stream.snapshot, stream.timings
    span = otel.span()
    attributes = dict(span.attributes or {})
    assert span.name == "chat gpt-5"
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["openai.api.type"] == "responses"
    assert attributes["gen_ai.response.model"] == response.model
    assert attributes["gen_ai.response.id"] == response.id
    assert attributes["ssestream.chunks"] == timings.chunks
    assert attributes["ssestream.interrupted"] is stream.interrupted
    if finish is None:  # the error event, then response.failed
        assert error is not None
        assert attributes["error.type"] == "StreamAPIError"
        assert span.status.status_code is StatusCode.ERROR
        assert "gen_ai.response.finish_reasons" not in attributes
        assert attributes["ssestream.done"] is False
        return
    assert error is None
    assert attributes["gen_ai.response.finish_reasons"] == (finish,)
    assert attributes["ssestream.done"] is True
    usage = response.usage
    assert usage is not None
    assert attributes["gen_ai.usage.input_tokens"] == usage.input_tokens
    assert attributes["gen_ai.usage.output_tokens"] == usage.output_tokens
    tokens = otel.metrics()["gen_ai.client.token.usage"]
    assert point(tokens, **{"gen_ai.token.type": "output"}).sum == usage.output_tokens
    # The finish reason is the one events() gives for the same stream.
    ended = list(ResponseStream([raw.read_bytes()]).events())[-1]
    assert ended.completion.choices[0].finish_reason == finish
