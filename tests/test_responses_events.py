"""ResponseStream.events(): the chat stream events, from every Responses recording.

Oracles, independent of the translation:

* the rules of the chat events (``test_events.check_events``): each text's deltas add
  up to ``StreamEnded.completion``, calls start before their deltas and are done once,
  ``parsed == json.loads(arguments)``, nothing is left open at the finish;
* the recording's own final answer: ``StreamEnded.response`` (the parser's snapshot,
  itself checked against ``expected.json`` by ``test_responses.py``): its output text,
  its function and custom calls (``call_id``, name, arguments), its reasoning, its
  usage and its status give the completion's content, tool calls, reasoning, usage and
  finish reason;
* iterating the stream itself: ``events()`` hands out exactly the same Responses events,
  and raises the same error after them.

Every recording runs at the suite's read sizes, sync and on both anyio backends.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_events import check_events
from test_recordings import SPLITS, split
from test_responses import EXPECTED, RESPONSES, body, payloads

import ssestream
from ssestream import (
    AsyncChatStream,
    AsyncResponseStream,
    ChatStream,
    ChunkEvent,
    ContentDelta,
    ReasoningDelta,
    ReasoningDone,
    ResponseEventBuilder,
    ResponseStream,
    ResponseStreamEvent,
    SSEStreamError,
    StreamAPIError,
    StreamEnded,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
)

FIXTURES = Path(__file__).parent / "fixtures"
TWINS = ("sync", "asyncio", "trio")


def read(twin: str, pieces: list[bytes], *, events: bool) -> tuple[list[Any], Any, Any]:
    """Read a body with one twin, as events or as the stream's own events, to the end
    or an error: ``(items, error, stream)``."""
    if twin == "sync":
        stream = ResponseStream(iter(pieces))
        items: list[Any] = []
        try:
            for item in stream.events() if events else stream:
                items.append(item)  # noqa: PERF402 (what came before an error is kept)
        except SSEStreamError as exc:
            return items, exc, stream
        return items, None, stream

    async def main() -> tuple[list[Any], Any, Any]:
        astream = AsyncResponseStream(iter(pieces))
        got: list[Any] = []
        try:
            async for item in astream.events() if events else astream:
                got.append(item)  # noqa: PERF401
        except SSEStreamError as exc:
            return got, exc, astream
        return got, None, astream

    return anyio.run(main, backend=twin)


def as_chat(events: list[Any]) -> list[Any]:
    """The events with each Responses event in the place of a chat ChunkEvent, so that
    the chat rules' checker reads them."""
    return [
        ChunkEvent(chunk=None) if isinstance(event, ResponseStreamEvent) else event  # type: ignore[arg-type]
        for event in events
    ]


def calls_of(response: ssestream.Response) -> list[tuple[str | None, str | None, str, str]]:
    """The function and custom calls of a response: (call_id, name, type, text)."""
    out = []
    for item in response.output:
        if item.type == "function_call":
            out.append((item.call_id, item.name, "function", item.arguments or ""))
        elif item.type == "custom_tool_call":
            out.append((item.call_id, item.name, "custom", item.input or ""))
    return out


def reasoning_of(response: ssestream.Response) -> str:
    """The reasoning texts of a response, in order, a paragraph apart: reasoning_text
    parts and summary parts of every reasoning item."""
    texts = []
    for item in response.output:
        if item.type == "reasoning":
            texts += [p.get("text") for p in item.content if p.get("type") == "reasoning_text"]
            texts += [p.get("text") for p in item.summary if p.get("type") == "summary_text"]
    return "\n\n".join(text for text in texts if text)


def check_against_response(end: StreamEnded, events: list[Any]) -> None:
    """The completion says what the response says."""
    response = end.response
    assert response is not None
    message = end.completion.choices[0].message
    assert (message.content or "") == response.output_text
    assert (message.get("reasoning_content") or "") == reasoning_of(response)
    calls = calls_of(response)
    got = [
        (
            call["id"],
            (call.get("function") or call.get("custom"))["name"],
            call["type"],
            (call.get("function") or {}).get("arguments", (call.get("custom") or {}).get("input")),
        )
        for call in message.to_dict().get("tool_calls") or []
    ]
    assert got == calls
    dones = [e for e in events if isinstance(e, ToolCallDone)]
    assert [(d.id, d.name, d.type, d.arguments) for d in dones] == calls
    for done in dones:
        if done.type == "function":
            assert done.complete
            assert done.parsed == json.loads(done.arguments)
    finish = end.completion.choices[0].finish_reason
    if response.status == "completed":
        assert finish == ("tool_calls" if calls else "stop")
    else:
        assert response.status == "incomplete"
        assert finish == "length"  # max_output_tokens, the one incomplete recording
    usage = response.usage
    if usage is not None:
        got_usage = end.completion.usage
        assert got_usage is not None
        assert got_usage.prompt_tokens == usage.input_tokens
        assert got_usage.completion_tokens == usage.output_tokens
        assert got_usage.total_tokens == usage.total_tokens


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("path", RESPONSES, ids=lambda p: p.stem[:48])
def test_every_recording(path: Path, how: str, twin: str) -> None:
    raw = path.read_bytes()
    pieces = split(raw, how)
    events, error, stream = read(twin, pieces, events=True)
    plain, plain_error, _ = read(twin, pieces, events=False)
    # The Responses events are the stream's own, in order; the error is the same one.
    assert [e for e in events if isinstance(e, ResponseStreamEvent)] == plain
    assert type(error) is type(plain_error)
    if EXPECTED[path.name]["error"] is not None:
        assert isinstance(error, StreamAPIError)
        assert not any(isinstance(e, StreamEnded) for e in events)
        assert error.partial_response == stream.snapshot
        return
    assert error is None
    end = events[-1]
    assert isinstance(end, StreamEnded)
    assert end.done
    assert not end.interrupted
    assert end.response == stream.snapshot
    check_events(as_chat(events), end.completion)
    check_against_response(end, events)


def test_one_handler_serves_both_apis() -> None:
    """The same code reads a chat stream and a Responses stream of the same request
    (a weather tool call), through the same event records."""

    def handle(events: Any) -> dict[str, Any]:
        seen: dict[str, Any] = {"calls": [], "started": [], "partials": []}
        for event in events:
            if isinstance(event, ToolCallStarted):
                seen["started"].append(event.name)
            elif isinstance(event, ToolCallArgumentsDelta):
                seen["partials"].append(event.partial)
            elif isinstance(event, ToolCallDone):
                seen["calls"].append((event.name, event.parsed))
            elif isinstance(event, StreamEnded):
                seen["finish"] = event.completion.choices[0].finish_reason
        return seen

    chat_raw = (FIXTURES / "openai" / "parse_pydantic_tool__c6aa7e397b71.sse").read_bytes()
    responses_raw = (
        FIXTURES / "responses" / "fantasy-openai-gpt-4o-mini-function-call.sse"
    ).read_bytes()
    chat = handle(ChatStream([chat_raw]).events())
    responses = handle(ResponseStream([responses_raw]).events())
    for seen in (chat, responses):
        assert seen["finish"] == "tool_calls"
        assert seen["started"] == [name for name, _ in seen["calls"]]
        assert seen["partials"][-1] == seen["calls"][-1][1]  # the partial ends as the call
    assert responses["calls"] == [("weather", {"location": "Florence, Italy"})]


def with_second_summary_part(raw: bytes) -> bytes:
    """A real recording with one reasoning summary part, given a second one (OpenAI
    sends several on longer reasoning: one per "**Title**" paragraph)."""
    second = {"type": "summary_text", "text": "**Second** thought"}
    events: list[Any] = []
    for payload in payloads(raw):
        events.append(payload)
        kind = payload["type"]
        if kind == "response.reasoning_summary_part.done":
            at = {"item_id": payload["item_id"], "output_index": payload["output_index"]}
            at["summary_index"] = 1
            prefix = "response.reasoning_summary_"
            empty = {"type": "summary_text", "text": ""}
            events.append({"type": prefix + "part.added", **at, "part": empty})
            events += [
                {"type": prefix + "text.delta", **at, "delta": text}
                for text in ("**Second**", " thought")
            ]
            events.append({"type": prefix + "text.done", **at, "text": second["text"]})
            events.append({"type": prefix + "part.done", **at, "part": second})
        items = [payload["item"]] if kind == "response.output_item.done" else []
        if kind == "response.completed":
            items = payload["response"]["output"]
        for item in items:
            if item["type"] == "reasoning":
                item["summary"].append(second)
    return body(*events)


def test_reasoning_summary_parts_are_a_paragraph_apart() -> None:
    raw = (
        FIXTURES / "responses" / "fantasy-openai-gpt-5-reasoning-summary-function-call.sse"
    ).read_bytes()
    two = with_second_summary_part(raw)
    events = list(ResponseStream([two]).events())
    summary_deltas = [
        p["delta"] for p in payloads(two) if p["type"] == "response.reasoning_summary_text.delta"
    ]
    parts = [
        p["part"] for p in payloads(two) if p["type"] == "response.reasoning_summary_part.done"
    ]
    assert len(parts) == 2
    deltas = [e.delta for e in events if isinstance(e, ReasoningDelta)]
    # The server's deltas, unchanged, with one "\n\n" delta of its own between parts.
    first = summary_deltas.index("**Second**")
    assert deltas == [*summary_deltas[:first], "\n\n", *summary_deltas[first:]]
    (done,) = [e for e in events if isinstance(e, ReasoningDone)]
    assert done.reasoning == "\n\n".join(part["text"] for part in parts)
    end = events[-1]
    check_events(as_chat(events), end.completion)
    check_against_response(end, events)
    # Done when its item is, before the tool call starts.
    kinds = [type(e) for e in events]
    assert kinds.index(ReasoningDone) < kinds.index(ToolCallStarted)


def test_a_call_is_done_when_its_item_is() -> None:
    """Parallel calls: each call's ToolCallDone comes at its response.output_item.done,
    before the next call starts and before the terminal event."""
    raw = (
        FIXTURES / "responses" / "fantasy-openai-gpt-4o-parallel-function-calls.sse"
    ).read_bytes()
    events = list(ResponseStream([raw]).events())
    order = [
        getattr(e, "type", None) if isinstance(e, ResponseStreamEvent) else type(e).__name__
        for e in events
    ]
    dones = [i for i, name in enumerate(order) if name == "ToolCallDone"]
    item_dones = [i for i, name in enumerate(order) if name == "response.output_item.done"]
    assert len(dones) == len(item_dones) == 2
    assert [d - 1 for d in dones] == item_dones  # right after their item's done event
    assert order.index("response.completed") > dones[-1]


def without_deltas(raw: bytes) -> bytes:
    """The recording minus every text delta event: the texts are only stated."""
    blocks = raw.split(b"\n\n")
    return b"\n\n".join(b for b in blocks if b'.delta"' not in b)


ANSWERED = [p for p in RESPONSES if EXPECTED[p.name]["error"] is None]


@pytest.mark.parametrize("path", ANSWERED, ids=lambda p: p.stem[:48])
def test_stated_texts_are_given_as_deltas(path: Path) -> None:
    """A server that states its texts without streaming them still gives the events:
    the deltas removed, the events add up to the same completion."""
    raw = path.read_bytes()
    streamed = list(ResponseStream([raw]).events())[-1]
    stated_events = list(ResponseStream([without_deltas(raw)]).events())
    stated = stated_events[-1]
    assert isinstance(stated, StreamEnded)
    check_events(as_chat(stated_events), stated.completion)
    check_against_response(stated, stated_events)
    assert stated.completion.choices[0].message == streamed.completion.choices[0].message


def test_a_plain_json_response_body_gives_its_events() -> None:
    """A server that ignored "stream": true: the response object is read as one
    terminal event, and its texts and calls come as events."""
    raw = (
        FIXTURES / "responses" / "fantasy-azure-gpt-5-mini-reasoning-summary-function-call.sse"
    ).read_bytes()
    (final,) = [p["response"] for p in payloads(raw) if p["type"] == "response.completed"]
    events = list(ResponseStream([json.dumps(final).encode()]).events())
    end = events[-1]
    assert isinstance(end, StreamEnded)
    assert end.done
    check_events(as_chat(events), end.completion)
    check_against_response(end, events)
    assert [type(e) for e in events if isinstance(e, ToolCallDone)] == [ToolCallDone]


def test_the_error_event_keeps_the_failed_response() -> None:
    """OpenAI sends ``error`` then ``response.failed``: the error carries the failed
    response (status, error) when that event came in the same read."""
    raw = (FIXTURES / "responses" / "vercel-ai-openai-error-insufficient-quota.sse").read_bytes()
    stated = next(p for p in payloads(raw) if p["type"] == "response.failed")["response"]
    for events in (False, True):
        stream = ResponseStream([raw])
        with pytest.raises(StreamAPIError) as caught:
            for _ in stream.events() if events else stream:
                pass
        partial = caught.value.partial_response
        assert partial.status == "failed" == stated["status"]
        assert partial.error == stated["error"]
        assert stream.terminal_event == "response.failed"
        assert stream.interrupted


@pytest.mark.parametrize("how", SPLITS)
def test_after_an_error_event_the_next_event_is_awaited(how: str) -> None:
    """Whatever the reads, the error waits for the event after it (or the end of the
    body): the result does not depend on where the reads fall."""
    raw = (FIXTURES / "responses" / "vercel-ai-openai-error-insufficient-quota.sse").read_bytes()
    stream = ResponseStream(split(raw, how))
    with pytest.raises(StreamAPIError) as caught:
        list(stream)
    assert caught.value.partial_response.status == "failed"
    # Without the failure event: raised at the end of the body, status as streamed.
    cut = raw.index(b"event: response.failed")
    stream = ResponseStream(split(raw[:cut], how))
    with pytest.raises(StreamAPIError) as caught:
        list(stream)
    assert caught.value.partial_response.status == "in_progress"
    assert stream.terminal_event is None


@pytest.mark.parametrize("twin", TWINS)
def test_a_cut_stream_ends_interrupted_with_its_calls_not_complete(twin: str) -> None:
    raw = (FIXTURES / "responses" / "fantasy-openai-gpt-4o-mini-function-call.sse").read_bytes()
    cut = raw.index(b"response.function_call_arguments.done")
    events, error, stream = read(twin, [raw[:cut]], events=True)
    assert error is None
    end = events[-1]
    assert isinstance(end, StreamEnded)
    assert end.interrupted
    assert not end.done
    (done,) = [e for e in events if isinstance(e, ToolCallDone)]
    assert not done.complete
    assert done.parsed is None
    assert done.arguments == "".join(
        e.delta for e in events if isinstance(e, ToolCallArgumentsDelta)
    )
    check_events(as_chat(events), end.completion)
    assert end.response == stream.snapshot


def test_the_builder_is_usable_on_its_own() -> None:
    """ResponseEventBuilder over events from elsewhere (another client's parse)."""
    raw = (FIXTURES / "responses" / "fantasy-openai-gpt-4o-text.sse").read_bytes()
    stream = ResponseStream([raw])
    builder = ResponseEventBuilder()
    out: list[Any] = []
    for event in stream:
        out += builder.add(event)
    out += builder.end(done=True, interrupted=False, response=stream.snapshot)
    assert builder.end(done=True, interrupted=False, response=None) == []
    text = "".join(e.delta for e in out if isinstance(e, ContentDelta))
    assert text == stream.snapshot.output_text == out[-1].completion.choices[0].message.content


def events_or_error(stream: ResponseStream) -> list[Any] | None:
    """All of ``stream.events()`` checked by the chat rules, or ``None`` if it raised one
    of ssestream's errors (any other exception fails the test)."""
    events: list[Any] = []
    try:
        events.extend(stream.events())
    except SSEStreamError:
        return None
    end = events[-1]
    assert isinstance(end, StreamEnded)
    check_events(as_chat(events), end.completion)
    return events


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from([p.name for p in ANSWERED]),
    cut=st.floats(0, 1),
    sizes=st.lists(st.integers(1, 300), min_size=1, max_size=20),
)
def test_any_cut_and_split_keeps_the_rules(name: str, cut: float, sizes: list[int]) -> None:
    """The promise on events(): any prefix of any recording, read in any pieces, gives
    events that keep the chat rules, or one of ssestream's errors."""
    raw = (FIXTURES / "responses" / name).read_bytes()
    body = raw[: int(len(raw) * cut)]
    pieces, at = [], 0
    while at < len(body):
        size = sizes[len(pieces) % len(sizes)]
        pieces.append(body[at : at + size])
        at += size
    events = events_or_error(ResponseStream(pieces))
    if events is None:
        return
    end = events[-1]
    assert "".join(e.delta for e in events if isinstance(e, ContentDelta)) == (
        end.completion.choices[0].message.content or "" if end.completion.choices else ""
    )


@pytest.mark.anyio
async def test_the_async_twin_hands_out_the_same_events() -> None:
    raw = (FIXTURES / "responses" / "vercel-ai-lmstudio-reasoning-function-call.sse").read_bytes()
    sync = list(ResponseStream([raw]).events())
    got = [event async for event in AsyncResponseStream([raw]).events()]
    assert got == sync
    # and the chat twin, for contrast: AsyncChatStream's events() keeps the chunk first
    chat_raw = (FIXTURES / "openai" / "parse_pydantic_tool__c6aa7e397b71.sse").read_bytes()
    chat = [event async for event in AsyncChatStream([chat_raw]).events()]
    assert isinstance(chat[0], ChunkEvent)


HOSTILE = st.sampled_from(
    [
        '{"type":"response.created","response":{"id":5,"model":["m"],"created_at":"x"}}',
        '{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call",'
        '"call_id":7,"name":["n"],"arguments":{"a":1}}}',
        '{"type":"response.output_item.added","output_index":1,"item":{"type":"custom_tool_call",'
        '"call_id":"c","name":"x","input":"in"}}',
        '{"type":"response.function_call_arguments.delta","output_index":0,"delta":"{\\"a\\":"}',
        '{"type":"response.function_call_arguments.delta","output_index":2,"delta":"1}"}',
        '{"type":"response.custom_tool_call_input.delta","output_index":1,"delta":"more"}',
        '{"type":"response.output_item.done","output_index":0,"item":{"type":"function_call",'
        '"call_id":"c0","name":"f","arguments":"{\\"a\\":1}"}}',
        '{"type":"response.output_item.done","output_index":0,"item":{"type":"message",'
        '"content":[{"type":"output_text","text":5},"x",{"type":"refusal","refusal":"no"}]}}',
        '{"type":"response.output_item.done","output_index":3,"item":{"type":"reasoning",'
        '"summary":[{"type":"summary_text","text":"S"}],"content":7}}',
        '{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"a",'
        '"logprobs":[{"token":"a","logprob":"high"}]}',
        '{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"b",'
        '"logprobs":"none"}',
        '{"type":"response.refusal.delta","output_index":0,"content_index":1,"delta":"r"}',
        '{"type":"response.reasoning_text.delta","output_index":3,"content_index":0,"delta":"t"}',
        '{"type":"response.reasoning_summary_text.delta","output_index":3,"summary_index":4,'
        '"delta":"u"}',
        '{"type":"response.completed","response":{"output":[{"type":"function_call",'
        '"arguments":"{}"},7,{"type":"message","content":[{"type":"output_text","text":"ab!"}]}],'
        '"usage":{"input_tokens":"1","output_tokens":2,"input_tokens_details":[]}}}',
        '{"type":"response.incomplete","response":{"incomplete_details":{"reason":9}}}',
        '{"type":"response.incomplete","response":{"incomplete_details":{"reason":"content_filter"}}}',
        '{"type":"response.completed","response":{"output":"all"}}',
        '{"type":"error","message":"boom"}',
        "[DONE]",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(HOSTILE, max_size=12), st.integers(1, 64))
def test_hostile_shapes_keep_the_rules_or_raise_typed_errors(texts: list[str], size: int) -> None:
    """Wrong types wherever the translation reads: the events keep the chat rules and
    add up to their completion, or one of ssestream's errors is raised; never another."""
    raw = b"".join(f"data: {text}\n\n".encode() for text in texts)
    stream = ResponseStream([raw[i : i + size] for i in range(0, len(raw), size)] or [b""])
    events = events_or_error(stream)
    if events is not None:
        assert events[-1].response == stream.snapshot


def test_events_are_linear_in_the_deltas() -> None:
    """Growth, not speed: n and 4n fragments of one call's arguments and of one text,
    with ``partial`` read on every arguments delta, take about 4 times as long (a
    quadratic rebuild would take 16 times); best of three at each size, in one run."""

    def stream_of(n: int) -> bytes:
        call = {"type": "function_call", "call_id": "c", "name": "f", "arguments": ""}
        events: list[Any] = [
            {"type": "response.output_item.added", "output_index": 0, "item": call},
            {
                "type": "response.function_call_arguments.delta",
                "output_index": 0,
                "delta": '{"a":"',
            },
        ]
        events += [
            {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "xy"}
        ] * n
        events.append(
            {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": '"}'}
        )
        events += [
            {
                "type": "response.output_text.delta",
                "output_index": 1,
                "content_index": 0,
                "delta": "t",
            }
        ] * n
        events.append({"type": "response.completed", "response": {"status": "completed"}})
        return body(*events, event_lines=False)

    def cost(n: int) -> float:
        raw = stream_of(n)
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for event in ResponseStream([raw]).events():
                if isinstance(event, ToolCallArgumentsDelta):
                    event.partial  # noqa: B018 (read, as a UI would)
            best = min(best, time.process_time() - start)
        return best

    small, large = cost(2_000), cost(8_000)
    assert large / small < 8
