"""Stream timings: exact figures from an injected clock, and real ones over a paced replay."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
from conftest import Twin
from test_streams import chunk, sse

import ssestream
from ssestream import ChatStream, ChatStreamParser, StreamTimings
from ssestream.testing import ReplayTransport


class FakeClock:
    """A clock that reads whatever the test last set."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def drain(parser: ChatStreamParser) -> list[Any]:
    out = []
    while (item := parser.next_chunk()) not in (ssestream.NEED_DATA, ssestream.END):
        out.append(item)
    return out


def role() -> dict[str, Any]:
    payload = chunk()
    payload["choices"][0]["delta"] = {"role": "assistant", "content": ""}
    return payload


def test_exact_figures_from_a_fake_clock() -> None:
    clock = FakeClock()
    parser = ChatStreamParser(clock=clock)
    parser.receive_head(200, {"content-type": "text/event-stream"})  # t = 0
    reads = [
        (0.5, sse(role())),  # the role chunk: not a token
        (0.7, b"data: {"),  # half an event: no arrival
        (1.0, json.dumps(chunk("Hel"))[1:].encode() + b"\n\n"),  # first token
        (1.2, sse(chunk("lo"), chunk(None, "stop"))),  # two chunks in one read: gap 0
        (1.3, b"data: [DONE]\n\n"),
    ]
    for now, data in reads:
        clock.now = now
        parser.receive_data(data)
        drain(parser)
    timings = parser.timings
    assert isinstance(timings, StreamTimings)
    assert timings.response_head == 0.0
    assert timings.first_byte == 0.5
    assert timings.first_chunk == 0.5
    assert timings.first_token == 1.0
    assert timings.first_reasoning_token is None
    assert timings.ttft == 1.0
    assert timings.time_to_first_chunk == 0.5
    assert timings.last_chunk == 1.2
    assert timings.end == 1.3
    assert timings.duration == 1.3
    assert timings.chunks == 4
    assert timings.reads == 4  # the read with half an event delivered nothing
    assert timings.chunks_per_read == 1.0
    # gaps: 0.5 (role -> Hel), 0.2 (Hel -> lo), 0 (lo -> stop, same read)
    assert timings.gap_max == 0.5
    assert timings.gap_p50 == pytest.approx(0.2)
    assert timings.gap_p90 == 0.5
    assert timings.tokens_source == "counted"
    assert timings.output_chunks == 3  # from the first token to the last chunk
    assert timings.output_tokens_per_second == pytest.approx(3 / 0.2)
    assert json.loads(json.dumps(timings.to_dict()))["ttft"] == 1.0


def test_reasoning_first_and_usage_tokens() -> None:
    clock = FakeClock()
    parser = ChatStreamParser(clock=clock)
    thinking = chunk()
    thinking["choices"][0]["delta"] = {"reasoning_content": "hmm"}
    usage = {"id": "x", "choices": [], "usage": {"completion_tokens": 30, "total_tokens": 40}}
    for now, payload in [(1.0, thinking), (2.0, chunk("A")), (3.0, chunk(None, "stop"))]:
        clock.now = now
        parser.receive_data(sse(payload))
        drain(parser)
    clock.now = 3.5
    parser.receive_data(sse(usage, done=True))
    drain(parser)
    timings = parser.timings
    assert timings.first_reasoning_token == 1.0
    assert timings.first_token == 2.0
    assert timings.tokens_source == "usage"
    assert timings.output_tokens == 30
    assert timings.output_tokens_per_second == pytest.approx(30 / 2.5)  # from 1.0 to 3.5
    assert timings.response_head is None
    assert timings.ttft == 1.0  # from the first byte when the head is unknown


def test_a_tool_call_fragment_is_a_first_token() -> None:
    clock = FakeClock()
    parser = ChatStreamParser(clock=clock)
    call = chunk()
    call["choices"][0]["delta"] = {"tool_calls": [{"index": 0, "function": {"name": "f"}}]}
    clock.now = 4.0
    parser.receive_data(sse(role()))
    drain(parser)
    clock.now = 6.0
    parser.receive_data(sse(call))
    drain(parser)
    assert parser.timings.first_token == 6.0


def test_timings_after_an_error_and_while_running() -> None:
    clock = FakeClock()
    stream = ChatStream([sse(chunk("a")), sse({"error": {"message": "boom"}})], clock=clock)
    iterator = iter(stream)
    clock.now = 2.0
    next(iterator)
    running = stream.timings
    assert running.end is None
    assert running.first_token == 2.0
    clock.now = 3.0
    with pytest.raises(ssestream.StreamAPIError):
        next(iterator)
    assert stream.timings.end == 3.0
    assert stream.timings.chunks == 1


@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
def test_paced_replay_gives_figures_within_tolerance(mode: str) -> None:
    body = sse(role(), *[chunk(str(i)) for i in range(8)], chunk(None, "stop"), done=True)
    events = body.count(b"\n\n")
    # Reads of about one event each, 40 ms apart, the first after 150 ms.
    transport = ReplayTransport(body, first_byte=0.15, gap=0.04, split=len(body) // events + 1)

    def check(timings: StreamTimings) -> None:
        assert timings.request_sent is not None
        assert timings.ttft is not None
        assert timings.ttft >= 0.15
        assert timings.ttft < 2.0
        assert timings.chunks == events - 1
        assert timings.gap_p50 is not None
        assert 0.01 < timings.gap_p50 < 0.5
        assert timings.end is not None

    if mode == "sync":
        with (
            httpx.Client(transport=transport, base_url="http://test") as client,
            ssestream.connect_chat(client, "POST", "/v1/chat/completions", json={}) as stream,
        ):
            stream.get_final_completion()
        check(stream.timings)
        return

    async def main() -> StreamTimings:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
            ssestream.aconnect_chat(client, "POST", "/v1/chat/completions", json={}) as stream,
        ):
            await stream.get_final_completion()
        return stream.timings

    check(anyio.run(main, backend=mode))


# --------------------------------------------------------------------------- on_end


def test_on_end_is_called_once_with_the_result(twin: Twin) -> None:
    seen: list[tuple[Any, Any]] = []

    def on_end(stream: Any, error: BaseException | None) -> None:
        seen.append((stream.completion.choices[0].message.content, error))

    run = twin.read([sse(chunk("a"), chunk(None, "stop"), done=True)], on_end=on_end)
    assert seen == [("a", None)]
    assert run.stream.error is None


def test_on_end_gets_the_error(twin: Twin) -> None:
    seen: list[Any] = []
    body = sse(chunk("a"), {"error": {"message": "boom"}})
    run = twin.read([body], on_end=lambda s, e: seen.append(e), raises=ssestream.StreamAPIError)
    assert seen == [run.error]
    assert run.stream.error is run.error


def test_a_failing_on_end_warns_and_keeps_the_result() -> None:
    def on_end(stream: Any, error: BaseException | None) -> None:
        raise ValueError("exporter down")

    stream = ChatStream([sse(chunk("a"), chunk(None, "stop"))], on_end=on_end)
    with pytest.warns(RuntimeWarning, match="exporter down"):
        completion = stream.get_final_completion()
    assert completion.choices[0].message.content == "a"


def test_chunk_output_is_the_one_definition_of_showing_something() -> None:
    from ssestream._timings import chunk_output

    def payload(**delta: Any) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": delta}]}

    assert chunk_output(payload(role="assistant", content="")) == (False, False)
    assert chunk_output(payload(content="x")) == (True, False)
    assert chunk_output(payload(refusal="no")) == (True, False)
    assert chunk_output(payload(tool_calls=[{"index": 0}])) == (True, False)
    assert chunk_output(payload(reasoning_content="hm")) == (False, True)
    assert chunk_output(payload(reasoning="hm", content="x")) == (True, True)
    for odd in [{}, {"choices": None}, {"choices": ["x"]}, {"choices": [{"delta": 5}]}]:
        assert chunk_output(odd) == (False, False)
