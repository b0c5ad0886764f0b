"""Responses API streams: every recording, rebuilt by ResponseStreamParser and checked.

Oracles, independent of the code under test:

* the recording itself: its ``data:`` lines parsed with ``json.loads`` give the events
  (the parser must hand out exactly those, in order), and its terminal event's
  ``response`` is the final answer;
* ``expected.json`` (``tests/fixtures/responses/INDEX.md``): the status, output text,
  calls, usage, incomplete details, error and per-part joined deltas each recording states;
* the openai SDK's own helper, ``client.responses.stream(...)`` through an
  ``httpx.MockTransport``, on the files it handles; the five it fails on are named, with
  the exception it raises, in ``test_sdk_fails_where_ssestream_reads``.

Each recording is read by the sans-IO parser whole, in 7-byte pieces and in seeded
random pieces (the suite's read sizes, ``test_recordings.split``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_recordings import SPLITS, drop_none, split

from ssestream import (
    END,
    NEED_DATA,
    APIStatusError,
    AsyncResponseStream,
    ChunkParseError,
    LimitExceededError,
    Response,
    ResponseLifecycleEvent,
    ResponseMismatch,
    ResponseOutputItemEvent,
    ResponseStream,
    ResponseStreamEvent,
    ResponseStreamParser,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ServerSentEvent,
    SSEStreamError,
    StreamAPIError,
    StreamInterruptedError,
    aconnect_responses,
    connect_responses,
    looks_like_responses_event,
)

FIXTURES = Path(__file__).parent / "fixtures"
RESPONSES = sorted((FIXTURES / "responses").glob("*.sse"))
EXPECTED: dict[str, dict[str, Any]] = {
    entry["file"]: entry
    for entry in json.loads((FIXTURES / "responses" / "expected.json").read_text())
}
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def payloads(raw: bytes) -> list[dict[str, Any]]:
    """The decoded ``data:`` lines of a recording (each has one per event), ``[DONE]`` aside."""
    return [
        json.loads(line[6:])
        for line in raw.decode("utf-8").split("\n")
        if line.startswith("data: ") and line[6:].strip() != "[DONE]"
    ]


def terminal_payload(raw: bytes) -> dict[str, Any] | None:
    return next((p for p in payloads(raw) if p["type"] in TERMINAL), None)


class Parsed:
    """What the sans-IO parser gave for one body: events, the parser, the error."""

    def __init__(self, pieces: list[bytes], **kwargs: Any) -> None:
        self.parser = ResponseStreamParser(**kwargs)
        self.events: list[ResponseStreamEvent] = []
        self.error: SSEStreamError | None = None
        parser = self.parser
        try:
            for piece in pieces:
                parser.receive_data(piece)
                if self._drain() is END:
                    return
            parser.receive_eof()
            assert self._drain() is END
        except SSEStreamError as exc:
            self.error = exc
            assert parser.finished
            assert parser.next_event() is END

    def _drain(self) -> Any:
        while True:
            item = self.parser.next_event()
            if item is NEED_DATA or item is END:
                return item
            assert isinstance(item, ResponseStreamEvent)
            self.events.append(item)

    @property
    def snapshot(self) -> Response:
        return self.parser.snapshot


def parse(raw: bytes, how: str = "whole", **kwargs: Any) -> Parsed:
    return Parsed(split(raw, how), **kwargs)


def test_every_recording_is_collected() -> None:
    assert len(RESPONSES) == 39
    assert sorted(EXPECTED) == [p.name for p in RESPONSES]
    assert len(WITH_CALLS) == 11  # 10 with function-call argument deltas, 1 with MCP


# --------------------------------------------------------------------------- recordings


def stated(response: Response, expected: dict[str, Any]) -> dict[str, Any]:
    """Our response in expected.json's terms, read through the typed views."""
    calls = []
    for item, want in zip(
        [i for i in response.output if i.type in ("function_call", "custom_tool_call", "mcp_call")],
        expected["calls"],
        strict=False,
    ):
        calls.append({key: item.get(key) for key in want})
    return {
        "status": response.status,
        "output_text": response.output_text,
        "calls": calls,
        "usage": response.usage.to_dict() if response.usage is not None else None,
        "incomplete_details": response.incomplete_details,
    }


def joined_deltas(response: Response) -> dict[str, dict[str, str]]:
    """Each streamed text of a response in ``expected.json``'s ``accumulated_from_deltas``
    shape: ``"output_index/part_index"`` for parts, ``"output_index"`` for item fields."""
    out: dict[str, dict[str, str]] = {}
    for index, item in enumerate(response.output):
        for part_index, part in enumerate(item.content):
            kind = {"output_text": "output_text", "reasoning_text": "reasoning_text"}.get(part.type)
            if kind is not None and part.text:
                out.setdefault(kind, {})[f"{index}/{part_index}"] = part.text
        for part_index, part in enumerate(item.summary):
            if part.text:
                out.setdefault("reasoning_summary", {})[f"{index}/{part_index}"] = part.text
        field = {
            "function_call": ("function_call_arguments", "arguments"),
            "mcp_call": ("mcp_call_arguments", "arguments"),
            "custom_tool_call": ("custom_tool_input", "input"),
            "code_interpreter_call": ("code_interpreter_code", "code"),
        }.get(item.type)
        if field is not None and item.get(field[1]):
            out.setdefault(field[0], {})[str(index)] = item.get(field[1])
    return out


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize("path", RESPONSES, ids=lambda p: p.stem[:48])
def test_recording(path: Path, how: str) -> None:
    raw = path.read_bytes()
    expected = EXPECTED[path.name]
    run = parse(raw, how)
    sent = payloads(raw)

    # Lossless, in order: every event up to the end (terminal or error) is its payload.
    handed = [event.to_dict() for event in run.events]
    assert handed == sent[: len(handed)]
    assert all(event.type == event.to_dict()["type"] for event in run.events)
    assert run.parser.mismatches == []
    assert run.parser.sequence_gaps == []

    if expected["error"] is not None:
        # The error event ends the stream; OpenAI's response.failed right after it is
        # folded into the partial response, whatever the reads.
        assert isinstance(run.error, StreamAPIError)
        assert run.error.message == expected["error"]["message"]
        assert run.error.code == expected["error"]["code"]
        assert run.error.body == sent[len(handed)]
        assert run.error.event is not None
        assert run.error.partial_response == run.snapshot
        assert run.error.completion is None
        assert run.parser.interrupted is True
        failed = [p for p in sent[len(handed) + 1 :] if p["type"] == "response.failed"]
        if failed:
            assert run.parser.terminal_event == "response.failed"
            assert run.snapshot.status == "failed"
            assert run.snapshot.error == failed[0]["response"]["error"]
        else:
            assert run.parser.terminal_event is None
        assert joined_deltas(run.snapshot) == expected["accumulated_from_deltas"]
        return

    assert run.error is None
    assert run.parser.interrupted is False
    assert run.parser.terminal_event == expected["terminal_event"]
    assert len(handed) == next(n for n, p in enumerate(sent) if p["type"] in TERMINAL) + 1
    response = run.snapshot
    # The terminal response wins, whole (see ResponseStreamParser).
    terminal = terminal_payload(raw)
    assert terminal is not None
    assert response.to_dict() == terminal["response"]
    assert response.id == expected["response_id"]
    assert stated(response, expected) == {
        key: expected[key]
        for key in ("status", "output_text", "calls", "usage", "incomplete_details")
    }
    assert [item.type for item in response.output] == expected["openai_python_3_57_0"].get(
        "final_items", [i["type"] for i in expected["final_output"]]
    )


def without_statements(raw: bytes) -> bytes:
    """The recording minus every event that states a value in full: ``*.done``,
    ``response.output_item.done`` and the terminal event. What is left is the deltas."""
    blocks = raw.split(b"\n\n")
    cut = (b'.done"', *(f'"{kind}"'.encode() for kind in TERMINAL))
    return b"\n\n".join(b for b in blocks if not any(marker in b for marker in cut))


def streamed_texts(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per output item: its type and every field the deltas build, as text."""
    out = []
    for item in items:
        entry: dict[str, Any] = {"type": item["type"]}
        for field in ("arguments", "input", "code"):
            if field in item:
                entry[field] = item[field]
        for key in ("content", "summary"):
            if isinstance(item.get(key), list):
                entry[key] = [
                    (p.get("type"), p.get("text"), p.get("refusal"), p.get("annotations"))
                    for p in item[key]
                ]
        out.append(entry)
    return out


# The two files where the deltas alone cannot give the final output, and why.
NOT_FROM_DELTAS = {
    # LM Studio sends a function call's arguments only in the .done event, no deltas.
    "vercel-ai-lmstudio-reasoning-function-call.sse": ("function_call", "arguments"),
    # A built-in tool's item is kept as sent: tool_search_call's arguments come with
    # its output_item.done only.
    "vercel-ai-openai-tool-search.sse": ("tool_search_call", "arguments"),
}


ANSWERED = [p for p in RESPONSES if EXPECTED[p.name]["error"] is None]


@pytest.mark.parametrize("path", ANSWERED, ids=lambda p: p.stem[:48])
def test_rebuild_from_deltas_alone(path: Path) -> None:
    """The real check of the rebuild: with every full statement removed, the texts
    rebuilt from the deltas equal the terminal response's."""
    raw = path.read_bytes()
    terminal = terminal_payload(raw)
    assert terminal is not None
    run = parse(without_statements(raw), "random")
    assert run.error is None
    assert run.parser.interrupted is True  # no terminal event any more
    ours = streamed_texts(run.snapshot.to_dict()["output"])
    final = streamed_texts(terminal["response"]["output"])
    if path.name in NOT_FROM_DELTAS:
        kind, field = NOT_FROM_DELTAS[path.name]
        differ = [n for n, (a, b) in enumerate(zip(ours, final, strict=True)) if a != b]
        assert [(final[n]["type"], ours[n][field] != final[n][field]) for n in differ] == [
            (kind, True)
        ]
        return
    assert ours == final
    assert joined_deltas(run.snapshot) == EXPECTED[path.name]["accumulated_from_deltas"]


ARGUMENT_DELTAS = ("response.function_call_arguments.delta", "response.mcp_call_arguments.delta")
WITH_CALLS = [
    p
    for p in RESPONSES
    if any(t.encode() in p.read_bytes() for t in ARGUMENT_DELTAS)
    and EXPECTED[p.name]["error"] is None
]


@pytest.mark.parametrize("path", WITH_CALLS, ids=lambda p: p.stem[:48])
def test_call_arguments_are_parsed_as_they_stream(path: Path) -> None:
    """Each argument delta carries the arguments parsed so far (PartialJSONParser); the
    last one is the final arguments' JSON value, whatever the split."""
    run = parse(path.read_bytes(), "7")
    calls = {}
    for event in run.events:
        if event.type in ARGUMENT_DELTAS:
            assert isinstance(event, ResponseTextDeltaEvent)
            assert event.partial is None or isinstance(event.partial, dict)
            calls[event.output_index] = event.partial
        elif isinstance(event, ResponseTextDeltaEvent):
            assert event.partial is None
    assert calls
    for index, partial in calls.items():
        assert partial == json.loads(run.snapshot.output[index].arguments)  # type: ignore[index]


def test_partial_arguments_grow_with_the_fragments() -> None:
    raw = FIXTURES / "responses" / "langchain-openai-chatgpt-codex-function-call.sse"
    run = parse(raw.read_bytes())
    partials = [e.partial for e in run.events if e.type == ARGUMENT_DELTAS[0]]
    # Read after the whole stream: a later fragment never changed an earlier value.
    assert partials[0] == {}  # '{"'
    assert {"x": 5} in partials
    assert partials[-1] == {"x": 5, "y": 4}


def test_arguments_that_can_never_be_json_give_no_partial() -> None:
    def args(text: str) -> dict[str, Any]:
        return {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": text}

    run = parse(body(CREATED, args('{"a": '), args("}"), args('"b"')))
    assert [e.partial for e in run.events[1:]] == [{}, None, None]
    assert run.snapshot.output[0].arguments == '{"a": }"b"'
    assert run.error is None


def test_item_ids_rotating_and_renamed() -> None:
    """GitHub Copilot sends a new item_id on every event; OpenRouter renames its reasoning
    item in the terminal response. Keyed by output_index, both rebuild right."""
    raw = (FIXTURES / "responses" / "vercel-ai-github-copilot-id-rotation.sse").read_bytes()
    ids = {p.get("item_id") for p in payloads(raw) if p.get("output_index") == 1}
    assert len(ids) > 50
    run = parse(raw, "7")
    assert run.parser.mismatches == []
    assert (
        run.snapshot.output_text
        == EXPECTED["vercel-ai-github-copilot-id-rotation.sse"]["output_text"]
    )
    raw = FIXTURES / "responses" / "pydantic-ai-openrouter-gpt-oss-20b-reasoning-text.sse"
    run = parse(raw.read_bytes())
    added = [e for e in run.events if e.type == "response.output_item.added"]
    assert isinstance(added[0], ResponseOutputItemEvent)
    assert added[0].item.id != run.snapshot.output[0].id  # rs_tmp_... renamed
    assert run.snapshot.output[0].content[0].text.startswith("The user asks")


def test_openrouter_done_after_the_terminal_event_is_not_read() -> None:
    raw = FIXTURES / "responses" / "pydantic-ai-openrouter-gpt-oss-20b-reasoning-text.sse"
    body = raw.read_bytes()
    assert body.rstrip().endswith(b"data: [DONE]")
    run = parse(body + b"data: {not json}\n\n")
    assert run.error is None
    assert run.parser.terminal_event == "response.completed"
    assert run.parser.ignored_events == 0


# --------------------------------------------------------------------------- the SDK


def sdk_final(raw: bytes) -> Any:
    """The openai SDK's ``responses.stream(...).get_final_response()`` on a body."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=raw)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = openai.OpenAI(
        api_key="sk-test", base_url="https://api.example.test/v1", http_client=http, max_retries=0
    )
    with client.responses.stream(model="test-model", input="hi") as stream:
        for _ in stream:
            pass
        return stream.get_final_response()


def comparable(response: dict[str, Any]) -> dict[str, Any]:
    """The fields both must agree on, from a response dict (None values dropped)."""
    items = []
    for item in response["output"]:
        entry = {
            k: item.get(k)
            for k in ("type", "id", "status", "name", "call_id", "arguments", "input")
            if item.get(k) is not None
        }
        entry["streamed"] = streamed_texts([item])[0]
        items.append(entry)
    return drop_none(
        {
            "id": response["id"],
            "status": response["status"],
            "model": response["model"],
            "usage": response.get("usage"),
            "output": items,
        }
    )


SDK_FAILS = {
    "langchain-openai-gpt-4o-mini-incomplete.sse": (
        RuntimeError,
        "Didn't receive a `response.completed` event.",
    ),
    "pydantic-ai-openai-background-resume-starting-after.sse": (
        RuntimeError,
        "Expected to have received `response.created` before `response.queued`",
    ),
    "vercel-ai-github-copilot-id-rotation.sse": (
        RuntimeError,
        "Lifecycle response identity changed.",
    ),
    "aibridge-handwritten-error-event.sse": (
        RuntimeError,
        "Received a content event for output index 0 before receiving its output item",
    ),
    "vercel-ai-openai-error-insufficient-quota.sse": (openai.APIError, "You exceeded your"),
}


@pytest.mark.parametrize(
    "path", [p for p in RESPONSES if p.name not in SDK_FAILS], ids=lambda p: p.stem[:48]
)
def test_sdk_agrees(path: Path) -> None:
    raw = path.read_bytes()
    final = sdk_final(raw)
    ours = parse(raw, "random").snapshot
    assert comparable(ours.to_dict()) == comparable(final.model_dump(mode="json"))
    assert final.output_text == ours.output_text


@pytest.mark.parametrize("name", sorted(SDK_FAILS))
def test_sdk_fails_where_ssestream_reads(name: str) -> None:
    """Five real or hand-written streams that the SDK's helper cannot finish."""
    raw = (FIXTURES / "responses" / name).read_bytes()
    kind, message = SDK_FAILS[name]
    with pytest.raises(kind) as info:
        sdk_final(raw)
    assert str(info.value).startswith(message)
    run = parse(raw, "7")
    expected = EXPECTED[name]
    if expected["error"] is not None:  # an error event: the typed error, the text so far
        assert isinstance(run.error, StreamAPIError)
        assert run.error.message == expected["error"]["message"]
        assert joined_deltas(run.snapshot) == expected["accumulated_from_deltas"]
    else:  # ssestream reads the whole answer
        assert run.error is None
        assert run.snapshot.status == expected["status"]
        assert run.snapshot.output_text == expected["output_text"]
        assert run.snapshot.incomplete_details == expected["incomplete_details"]


# --------------------------------------------------------------------------- properties

SAMPLES = [
    "fantasy-openai-gpt-5-reasoning-summary-function-call.sse",
    "pydantic-ai-openrouter-gpt-oss-20b-reasoning-text.sse",
    "vercel-ai-openai-error-insufficient-quota.sse",
    "pydantic-ai-openai-web-search-annotations.sse",
]


@functools.cache
def whole_result(name: str) -> tuple[Any, ...]:
    return result_of(parse((FIXTURES / "responses" / name).read_bytes()))


def result_of(run: Parsed) -> tuple[Any, ...]:
    error = run.error
    return (
        [e.to_dict() for e in run.events],
        run.snapshot.to_dict(),
        run.parser.interrupted,
        run.parser.mismatches,
        (type(error), error.message) if error is not None else None,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), data=st.data())
def test_any_split_gives_the_same_result(name: str, data: st.DataObject) -> None:
    raw = (FIXTURES / "responses" / name).read_bytes()
    cuts = sorted(data.draw(st.sets(st.integers(1, len(raw) - 1), max_size=40)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert result_of(Parsed(pieces)) == whole_result(name)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_random_bytes_raise_only_ssestream_errors(pieces: list[bytes]) -> None:
    run = Parsed(pieces, max_line_bytes=256, max_event_bytes=512)
    assert run.parser.finished
    run.snapshot.to_dict()


EVENT_TEXT = st.sampled_from(
    [
        '{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"a"}',
        '{"type":"response.output_text.done","output_index":0,"content_index":1,"text":"b"}',
        '{"type":"response.output_item.added","output_index":1,"item":{"type":"message"}}',
        '{"type":"response.output_item.done","output_index":0,"item":{"type":"reasoning"}}',
        '{"type":"response.content_part.added","output_index":0,"content_index":0,"part":{}}',
        '{"type":"response.reasoning_summary_text.delta","output_index":2,"summary_index":0,'
        '"delta":"s"}',
        '{"type":"response.function_call_arguments.delta","output_index":0,"delta":"{"}',
        '{"type":"response.output_text.annotation.added","output_index":0,"content_index":0,'
        '"annotation_index":3,"annotation":{"type":"url_citation"}}',
        '{"type":"response.completed","response":{"output":[]}}',
        '{"type":"response.created","response":{"id":"r","output":[]}}',
        '{"type":"response.failed","response":{"error":null}}',
        '{"type":"error"}',
        '{"type":"response.output_text.delta","output_index":-1,"delta":"x"}',
        '{"type":"response.output_text.delta","output_index":0,"delta":7}',
        '{"type":"response.output_item.added","output_index":0,"item":[]}',
        '{"type":"response.in_progress","response":"x"}',
        '{"type":5}',
        '{"sequence_number":1}',
        "[1]",
        "[DONE]",
        "not json",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENT_TEXT, max_size=12), st.integers(1, 64))
def test_random_events_raise_only_ssestream_errors(texts: list[str], size: int) -> None:
    """Well-framed events with wrong shapes: typed errors or a rebuilt response."""
    raw = b"".join(f"data: {text}\n\n".encode() for text in texts)
    run = Parsed([raw[i : i + size] for i in range(0, len(raw), size)] or [b""])
    assert run.parser.finished
    assert isinstance(run.snapshot.output, list)
    objects = [json.loads(t) for t in texts if t.startswith("{")]
    assert [event.to_dict() for event in run.events] == objects[: len(run.events)]


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(SAMPLES), data=st.data())
def test_corrupted_recordings_raise_only_ssestream_errors(name: str, data: st.DataObject) -> None:
    raw = bytearray((FIXTURES / "responses" / name).read_bytes())
    for _ in range(data.draw(st.integers(1, 20))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    run = parse(bytes(raw), "random")
    run.snapshot.to_dict()


# --------------------------------------------------------------------------- rules


def body(*events: dict[str, Any] | str, event_lines: bool = True) -> bytes:
    out = []
    for event in events:
        if isinstance(event, str):
            out.append(f"data: {event}\n\n")
        elif event_lines:
            out.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
        else:
            out.append(f"data: {json.dumps(event)}\n\n")
    return "".join(out).encode()


CREATED = {"type": "response.created", "response": {"id": "r1", "status": "in_progress"}}


def message_added(index: int = 0) -> dict[str, Any]:
    return {
        "type": "response.output_item.added",
        "output_index": index,
        "item": {"type": "message", "id": "m", "role": "assistant", "content": []},
    }


def text_delta(text: str, index: int = 0, sequence: int | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "response.output_text.delta",
        "output_index": index,
        "content_index": 0,
        "delta": text,
    }
    if sequence is not None:
        event["sequence_number"] = sequence
    return event


def completed(output: list[Any] | None) -> dict[str, Any]:
    response: dict[str, Any] = {"id": "r1", "status": "completed"}
    if output is not None:
        response["output"] = output
    return {"type": "response.completed", "response": response}


def test_the_body_ending_before_a_terminal_event_is_interrupted() -> None:
    run = parse(body(CREATED, message_added(), text_delta("Hel"), text_delta("lo")), "7")
    assert run.error is None
    assert run.parser.interrupted is True
    assert run.parser.terminal_event is None
    assert run.snapshot.status == "in_progress"
    assert run.snapshot.output_text == "Hello"
    assert run.snapshot.output[0].content[0].type == "output_text"


def test_done_before_a_terminal_event_ends_the_stream_interrupted() -> None:
    run = parse(body(CREATED, message_added(), text_delta("a"), "[DONE]", text_delta("b")))
    assert run.parser.interrupted is True
    assert run.snapshot.output_text == "a"
    assert len(run.events) == 3


def test_sequence_gaps_and_repeats_are_noted_not_fatal() -> None:
    events = [text_delta(t, sequence=n) for t, n in (("a", 3), ("b", 4), ("c", 6), ("d", 5))]
    events.append(text_delta("e", sequence=7))
    run = parse(body(*events))
    assert run.error is None
    assert run.parser.sequence_gaps == [(5, 6), (7, 5)]
    assert run.snapshot.output_text == "abcde"


def test_a_done_that_contradicts_the_deltas_wins_and_is_noted() -> None:
    done = {
        "type": "response.output_text.done",
        "output_index": 0,
        "content_index": 0,
        "text": "Hullo",
    }
    run = parse(body(CREATED, message_added(), text_delta("Hel"), text_delta("lo"), done))
    assert run.snapshot.output_text == "Hullo"
    assert run.parser.mismatches == [
        ResponseMismatch(
            path="output[0].content[0].text",
            rebuilt="Hello",
            stated="Hullo",
            event_type="response.output_text.done",
        )
    ]
    assert isinstance(run.events[-1], ResponseTextDoneEvent)
    assert run.events[-1].value == "Hullo"


def test_the_terminal_response_wins_and_a_missing_output_keeps_the_rebuild() -> None:
    final_item = {"type": "message", "id": "m2", "content": [{"type": "output_text", "text": "Hi"}]}
    run = parse(body(CREATED, message_added(), text_delta("Ho"), completed([final_item])))
    assert run.snapshot.output[0].id == "m2"
    assert run.snapshot.output_text == "Hi"
    assert [m.path for m in run.parser.mismatches] == ["output[0].content[0].text"]
    run = parse(body(CREATED, message_added(), text_delta("Ho"), completed(None)))
    assert run.snapshot.status == "completed"
    assert run.snapshot.output_text == "Ho"
    assert run.parser.mismatches == []


def test_each_statement_is_checked_against_the_rebuild() -> None:
    """content_part.done, output_item.done and the terminal response each check the
    streamed texts they restate; a later one wins, and each disagreement is noted."""
    part_done = {
        "type": "response.content_part.done",
        "output_index": 0,
        "content_index": 0,
        "part": {"type": "output_text", "text": "abX"},
    }
    item_done = {
        "type": "response.output_item.done",
        "output_index": 0,
        "item": {"type": "message", "content": [{"type": "output_text", "text": "abY"}]},
    }
    call = {"type": "function_call", "arguments": "{}"}
    final = completed(
        [{"type": "message", "content": [{"type": "output_text", "text": "abZ"}]}, call]
    )
    run = parse(
        body(CREATED, message_added(), text_delta("a"), text_delta("b"), part_done, item_done)
        + body(final)
    )
    assert [(m.path, m.rebuilt, m.stated, m.event_type) for m in run.parser.mismatches] == [
        ("output[0].content[0].text", "ab", "abX", "response.content_part.done"),
        ("output[0].content[0].text", "abX", "abY", "response.output_item.done"),
        ("output[0].content[0].text", "abY", "abZ", "response.completed"),
        ("output", 1, 2, "response.completed"),
    ]
    assert run.snapshot.output_text == "abZ"
    # A changed item type, and arguments that the final call restates differently.
    args = {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{"}
    run = parse(
        body(
            CREATED,
            args,
            {"type": "response.output_item.done", "output_index": 0, "item": {"type": "x"}},
            completed([{"type": "x"}]),
        )
    )
    assert [m.path for m in run.parser.mismatches] == ["output[0].type"]
    run = parse(body(CREATED, args, completed([{"type": "function_call", "arguments": "{}"}])))
    assert [(m.path, m.rebuilt, m.stated) for m in run.parser.mismatches] == [
        ("output[0].arguments", "{", "{}")
    ]


def test_deltas_after_an_item_or_part_is_replaced_go_to_the_new_one() -> None:
    part = {
        "type": "response.content_part.added",
        "output_index": 0,
        "content_index": 0,
        "part": {"type": "output_text", "text": ""},
    }
    run = parse(
        body(message_added(), text_delta("old"), message_added(), text_delta("new"))
        + body(text_delta("!"), part, text_delta("fresh"))
    )
    assert run.snapshot.output_text == "fresh"
    run = parse(body(message_added(), text_delta("a"), message_added(), text_delta("b")))
    assert run.snapshot.output_text == "b"


def test_an_output_item_event_without_an_item_is_handed_out_and_skipped() -> None:
    """The openai SDK's helper notes that providers send such empty added events."""
    empty = {"type": "response.output_item.added", "output_index": 0, "item": None}
    run = parse(body(CREATED, empty, {**message_added(1)}, text_delta("x", index=1)))
    assert run.error is None
    assert [e.type for e in run.events][1] == "response.output_item.added"
    assert [item.type for item in run.snapshot.output] == ["message"]
    assert run.snapshot.output_text == "x"


def test_annotations_are_placed_by_their_index() -> None:
    def annotation(index: int, title: str) -> dict[str, Any]:
        return {
            "type": "response.output_text.annotation.added",
            "output_index": 0,
            "content_index": 0,
            "annotation_index": index,
            "annotation": {"type": "url_citation", "title": title},
        }

    run = parse(
        body(
            CREATED,
            message_added(),
            text_delta("t"),
            annotation(0, "a"),
            annotation(1, "b"),
            annotation(0, "c"),  # the same index again: replaced
        )
    )
    part = run.snapshot.output[0].content[0]
    assert [a["title"] for a in part.annotations] == ["c", "b"]
    assert part.text == "t"


def test_response_failed_raises_with_the_partial_response() -> None:
    failed = {
        "type": "response.failed",
        "response": {
            "id": "r1",
            "status": "failed",
            "error": {"code": "server_error", "message": "boom"},
            "output": [],
        },
    }
    run = parse(body(CREATED, message_added(), text_delta("part"), failed))
    assert isinstance(run.error, StreamAPIError)
    assert run.error.message == "response.failed: boom"
    assert run.error.code == "server_error"
    partial = run.error.partial_response
    assert partial.status == "failed"
    assert partial.output_text == "part"  # the failed response had no output: rebuilt kept
    assert run.parser.terminal_event == "response.failed"
    assert run.parser.interrupted is True
    assert len(run.events) == 3


@pytest.mark.parametrize(
    ("error", "message", "code"),
    [
        ({"type": "error", "code": "c", "message": "flat", "param": None}, "flat", "c"),
        ({"type": "error", "error": {"code": "q", "message": "nested"}}, "nested", "q"),
        ({"type": "error"}, 'the server sent an error event: {"type": "error"}', None),
        ({"error": {"message": "no type"}}, "no type", None),
    ],
)
def test_error_events(error: dict[str, Any], message: str, code: str | None) -> None:
    run = parse(body(CREATED, message_added(), text_delta("x"), error, event_lines=False))
    assert isinstance(run.error, StreamAPIError)
    assert run.error.message == message
    assert run.error.code == code
    assert run.error.partial_response.output_text == "x"


def test_a_named_error_event_with_other_data() -> None:
    run = parse(b'event: error\ndata: {"message": "overloaded"}\n\n')
    assert isinstance(run.error, StreamAPIError)
    assert run.error.message == "overloaded"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("{oops", "is not JSON"),
        ("[1, 2]", "not an object"),
        ('{"no": "type"}', 'no "type"'),
        ('{"type": "response.output_text.delta", "output_index": 0, "delta": 5}', '"delta"'),
        ('{"type": "response.output_text.delta", "delta": "a"}', '"output_index"'),
        ('{"type": "response.output_item.added", "output_index": 0, "item": "x"}', '"item"'),
        ('{"type": "response.created", "response": null}', '"response"'),
        ('{"type": "response.output_text.done", "output_index": 0, "text": [1]}', '"text"'),
        ('{"type": "response.content_part.added", "output_index": 0, "part": 1}', "index"),
        (
            '{"type": "response.content_part.added", "output_index": 0, "content_index": 0, '
            '"part": 1}',
            '"part"',
        ),
        (
            '{"type": "response.output_text.annotation.added", "output_index": 0, '
            '"content_index": 0, "annotation": "x"}',
            '"annotation"',
        ),
        ("[" * 100_000 + "]" * 100_000, "is not JSON"),
        (
            '{"type": "response.output_item.added", "output_index": 0, "item": '
            + '{"a": ' * 200
            + "1"
            + "}" * 201,
            "nested deeper than 128 levels",
        ),
    ],
)
def test_bad_events_are_chunk_parse_errors_keeping_the_response(data: str, fragment: str) -> None:
    run = parse(body(CREATED, message_added(), text_delta("kept"), data))
    assert isinstance(run.error, ChunkParseError)
    assert fragment in run.error.message
    assert run.error.position == 3
    assert run.error.partial_response.output_text == "kept"


def test_a_chat_stream_is_named_as_such() -> None:
    raw = (FIXTURES / "providers" / "openai-gpt-5-multi-tool-turn1.sse").read_bytes()
    run = parse(raw, "7")
    assert isinstance(run.error, ChunkParseError)
    assert "Chat Completions stream; read it with ssestream.ChatStream" in run.error.message
    assert run.events == []


def test_a_delta_for_an_item_never_added_makes_the_item() -> None:
    """coder/aibridge's hand-written stream does this; the SDK raises RuntimeError."""
    run = parse(body(text_delta("a", index=2), {**text_delta("b", index=2), "item_id": "x"}))
    item = run.snapshot.output[0]
    assert (item.type, item.role, item.text) == ("message", "assistant", "ab")


def test_unknown_events_and_fields_are_kept() -> None:
    odd = {"type": "provider.thing", "output_index": 0, "x_custom": [1, {"y": 2}]}
    run = parse(body(CREATED, odd, {**text_delta("t"), "x_extra": True}))
    assert type(run.events[1]) is ResponseStreamEvent
    assert run.events[1].get("x_custom") == [1, {"y": 2}]
    assert run.events[1].extra == {"x_custom": [1, {"y": 2}]}
    assert isinstance(run.events[2], ResponseTextDeltaEvent)
    assert run.events[2].extra == {"x_extra": True}
    assert isinstance(run.events[0], ResponseLifecycleEvent)
    assert run.events[0].response.id == "r1"


def test_the_event_line_names_data_without_a_type() -> None:
    run = parse(b'event: response.created\ndata: {"response": {"id": "r9"}}\n\n')
    assert run.snapshot.id == "r9"
    assert run.events[0].type is None


def test_the_callers_objects_are_never_mutated() -> None:
    run = parse(body(CREATED, message_added(), text_delta("a"), text_delta("b")))
    before = [json.dumps(e.to_dict()) for e in run.events]
    first = run.snapshot
    first.to_dict()["output"][0]["content"][0]["text"] = "changed"
    first.to_dict()["status"] = "changed"
    assert run.snapshot.output_text == "ab"
    assert run.snapshot.status == "in_progress"
    assert [json.dumps(e.to_dict()) for e in run.events] == before


def test_a_plain_json_response_body() -> None:
    """A server that ignored ``"stream": true``: the body is the response object."""
    response = {
        "id": "r",
        "object": "response",
        "status": "completed",
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hi"}]}],
    }
    run = parse(b"\n " + json.dumps(response).encode(), "7")
    assert run.error is None
    assert run.parser.streamed is False
    assert run.parser.interrupted is False
    assert run.snapshot.output_text == "Hi"
    assert [e.type for e in run.events] == ["response.completed"]
    run = parse(json.dumps({"error": {"message": "bad key", "code": 401}}).encode())
    assert isinstance(run.error, StreamAPIError)
    assert run.error.message == "bad key"
    run = parse(b'{"object": "chat.completion"}')
    assert isinstance(run.error, ChunkParseError)


def test_limits() -> None:
    run = parse(body(CREATED, text_delta("x" * 1000)), max_event_bytes=500)
    assert isinstance(run.error, LimitExceededError)
    assert len(run.events) == 1  # the event before the limit was handed out first
    run = parse(b"{" + b" " * 1000, "7", max_event_bytes=500)
    assert isinstance(run.error, LimitExceededError)


def test_blank_bytes_before_the_first_event_are_not_kept() -> None:
    parser = ResponseStreamParser(max_line_bytes=100)
    for _ in range(1000):
        parser.receive_data(b"\n" * 1000)
    assert len(parser._body) == 0
    parser.receive_data(body(CREATED))
    assert isinstance(parser.next_event(), ResponseLifecycleEvent)


def test_rebuilding_is_linear_in_the_deltas() -> None:
    """Text fragments are compacted as they grow, never re-joined from scratch: the
    characters copied by the joins grow as the number of deltas (counted, at n and 4n)."""
    from ssestream._responses_parser import _Text

    def copied(n: int) -> int:
        text, total = _Text(""), 0
        for _ in range(n):
            before = len(text.parts)
            text.add("ab")
            if len(text.parts) == 1 and before > 1:  # a join: it copied the whole text
                total += len(text.parts[0])
        assert text.value() == "ab" * n
        return total

    small, large = copied(20_000), copied(80_000)
    assert large / small < 5
    assert large < 70 * 80_000  # at most the documented 64 characters per fragment


def test_looks_like_responses_event() -> None:
    for path in RESPONSES:
        raw = path.read_bytes()
        first = payloads(raw)[0]
        name = "message" if b"\nevent: " not in b"\n" + raw else first["type"]
        event = ServerSentEvent(event=name, data=json.dumps(first))
        assert looks_like_responses_event(event, first)
        if name != "message":
            assert looks_like_responses_event(event)
    for path in sorted((FIXTURES / "providers").glob("*.sse"))[:10]:
        for line in path.read_text().split("\n"):
            if line.startswith("data: {"):
                chunk = json.loads(line[6:])
                assert not looks_like_responses_event(ServerSentEvent(data=line[6:]), chunk)


@pytest.mark.parametrize(
    "module",
    ["ssestream._responses_types", "ssestream._responses_parser", "ssestream._responses_streams"],
)
def test_the_modules_declare_all_and_import_no_io(module: str) -> None:
    """As tests/test_public_api.py checks for the other private modules (the twins too:
    they reach HTTP responses by duck typing, through the chat streams' readers)."""
    import ast
    import importlib
    import inspect

    import ssestream

    mod = importlib.import_module(module)
    assert mod.__doc__
    assert list(mod.__all__) == sorted(mod.__all__, key=lambda n: (not n[:1].isupper(), n))
    for name in mod.__all__:
        assert getattr(ssestream, name) is getattr(mod, name)
    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(mod))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"httpx", "httpx2", "anyio", "trio", "asyncio"}


# --------------------------------------------------------------------------- the twins

URL = "https://api.example.test/v1/responses"
LIBS = {"httpx": httpx, "httpx2": httpx2}
VIAS = ("iterable", "sync-iterable", "httpx", "httpx2", "connect:httpx", "connect:httpx2")


class TwinRun:
    """What reading one body with a twin gave."""

    def __init__(self) -> None:
        self.events: list[ResponseStreamEvent] = []
        self.stream: ResponseStream | AsyncResponseStream | None = None
        self.error: BaseException | None = None
        self.closed: bool | None = None  # response.is_closed right after reading
        self.pulled = 0


def read_twin(
    mode: str,
    pieces: list[bytes],
    via: str = "iterable",
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    fail: BaseException | None = None,
    final: bool = False,
) -> TwinRun:
    """Read a body with ResponseStream (``mode="sync"``) or AsyncResponseStream on an
    anyio backend (``"asyncio"``, ``"trio"``), through ``via`` (:data:`VIAS`); ``fail``
    is raised by the source after the last piece. Errors of ssestream are kept."""
    run = TwinRun()
    head = (status, {"content-type": "text/event-stream"} if headers is None else headers)

    def pieces_sync() -> Iterator[bytes]:
        for piece in pieces:
            run.pulled += 1
            yield piece
        if fail is not None:
            raise fail

    async def pieces_async() -> AsyncIterator[bytes]:
        for piece in pieces:
            run.pulled += 1
            yield piece
        if fail is not None:
            raise fail

    if mode == "sync":
        _read_sync(run, via, head, pieces_sync, final)
    else:
        anyio.run(_read_async, run, via, head, pieces_sync, pieces_async, final, backend=mode)
    return run


def _read_sync(run: TwinRun, via: str, head: Any, pieces: Any, final: bool) -> None:
    def drain(stream: ResponseStream) -> None:
        run.stream = stream
        try:
            if final:
                assert stream.get_final_response() == stream.snapshot
            else:
                run.events.extend(stream)
        except SSEStreamError as exc:
            run.error = exc

    if via in ("iterable", "sync-iterable"):
        drain(ResponseStream(pieces()))
        return
    lib = LIBS[via.removeprefix("connect:")]
    transport = lib.MockTransport(
        lambda request: lib.Response(head[0], headers=head[1], content=pieces())
    )
    with lib.Client(transport=transport) as client:
        if via.startswith("connect:"):
            with connect_responses(client, "POST", URL, json={"stream": True}) as stream:
                drain(stream)
                run.closed = stream.response.is_closed
        else:
            with client.stream("POST", URL, json={"stream": True}) as response:
                drain(ResponseStream(response))
                run.closed = response.is_closed


async def _read_async(
    run: TwinRun, via: str, head: Any, pieces_sync: Any, pieces_async: Any, final: bool
) -> None:
    async def drain(stream: AsyncResponseStream) -> None:
        run.stream = stream
        try:
            if final:
                assert await stream.get_final_response() == stream.snapshot
            else:
                async for event in stream:
                    run.events.append(event)
        except SSEStreamError as exc:
            run.error = exc

    if via in ("iterable", "sync-iterable"):
        source = pieces_async() if via == "iterable" else pieces_sync()
        async with AsyncResponseStream(source) as stream:
            await drain(stream)
        return
    lib = LIBS[via.removeprefix("connect:")]

    async def handler(request: Any) -> Any:
        return lib.Response(head[0], headers=head[1], content=pieces_async())

    async with lib.AsyncClient(transport=lib.MockTransport(handler)) as client:
        if via.startswith("connect:"):
            async with aconnect_responses(client, "POST", URL, json={"stream": True}) as stream:
                await drain(stream)
                run.closed = stream.response.is_closed
        else:
            async with client.stream("POST", URL, json={"stream": True}) as response:
                await drain(AsyncResponseStream(response))
                run.closed = response.is_closed


TWINS = ("sync", "asyncio", "trio")
# Every way (3 splits x 4 sources x 3 twins) on one of each kind; the rest twice.
TWIN_MATRIX = {
    "fantasy-openai-gpt-5-reasoning-summary-function-call.sse",  # summaries, a call
    "pydantic-ai-openrouter-gpt-oss-20b-reasoning-text.sse",  # data-only, [DONE]
    "vercel-ai-openai-error-insufficient-quota.sse",  # error event
    "langchain-openai-gpt-4o-mini-incomplete.sse",  # response.incomplete
}


def twin_cases() -> list[Any]:
    out = []
    for number, path in enumerate(RESPONSES):
        if path.name in TWIN_MATRIX:
            combos = [(h, v) for h in SPLITS for v in ("iterable", "sync-iterable", "httpx2")]
            combos += [("7", "connect:httpx")]
        else:
            combos = [("random", VIAS[number % len(VIAS)])]
        for twin in TWINS:
            for how, via in combos:
                if twin == "sync" and via == "sync-iterable":
                    continue
                out.append(
                    pytest.param(twin, path, how, via, id=f"{twin}-{path.stem[:40]}-{how}-{via}")
                )
    return out


@pytest.mark.parametrize(("twin", "path", "how", "via"), twin_cases())
def test_recording_through_the_twins(twin: str, path: Path, how: str, via: str) -> None:
    """The twins give exactly what the sans-IO parser gives, on every source kind."""
    raw = path.read_bytes()
    run = read_twin(twin, split(raw, how), via)
    expected = parse(raw)
    assert [e.to_dict() for e in run.events] == [e.to_dict() for e in expected.events]
    assert run.stream is not None
    assert run.stream.snapshot == expected.snapshot
    assert run.stream.interrupted is expected.parser.interrupted
    assert run.stream.terminal_event == expected.parser.terminal_event
    assert type(run.error) is type(expected.error)
    if run.error is not None:
        assert isinstance(run.error, SSEStreamError)
        assert run.error.partial_response == expected.snapshot
        if run.closed is not None:
            assert run.error.response is run.stream.response
    if run.closed is not None:
        assert run.closed is True


@pytest.mark.parametrize("twin", TWINS)
def test_the_terminal_event_ends_the_reading(twin: str) -> None:
    raw = (FIXTURES / "responses" / "fantasy-openai-gpt-4o-text.sse").read_bytes()
    blocks = [block + b"\n\n" for block in raw.split(b"\n\n") if block.strip()]
    run = read_twin(twin, [*blocks, b"data: never read\n\n"], "httpx")
    assert run.error is None
    assert run.events[-1].type == "response.completed"
    assert run.pulled == len(blocks)
    assert run.closed is True
    assert run.stream is not None
    assert run.stream.terminal_event == "response.completed"


@pytest.mark.parametrize("twin", TWINS)
def test_get_final_response(twin: str) -> None:
    raw = (FIXTURES / "responses" / "vercel-ai-lmstudio-reasoning-function-call.sse").read_bytes()
    run = read_twin(twin, split(raw, "7"), "connect:httpx2", final=True)
    assert run.stream is not None
    assert run.stream.snapshot.output[2].arguments == '{"location":"San Francisco"}'
    assert run.stream.mismatches == []


@pytest.mark.parametrize("twin", TWINS)
def test_a_transport_failure_keeps_the_partial_response(twin: str) -> None:
    raw = (FIXTURES / "responses" / "fantasy-openai-gpt-4o-text.sse").read_bytes()
    cut = raw.index(b"event: response.output_text.done")
    run = read_twin(twin, split(raw[:cut], "7"), "httpx", fail=httpx.ReadError("reset"))
    assert isinstance(run.error, StreamInterruptedError)
    assert isinstance(run.error.__cause__, httpx.ReadError)
    assert run.error.partial_response.output_text == "Olá!"
    assert run.stream is not None
    assert run.stream.interrupted is True


@pytest.mark.parametrize("twin", TWINS)
def test_an_http_error_before_the_stream(twin: str) -> None:
    error = json.dumps({"error": {"message": "Invalid model", "code": "model_not_found"}})
    run = read_twin(
        twin, [error.encode()], "connect:httpx", status=404, headers={"content-type": "json"}
    )
    assert isinstance(run.error, APIStatusError)
    assert run.error.status_code == 404
    assert run.error.code == "model_not_found"
    assert run.error.partial_response is None


def test_the_connection_is_released_with_the_terminal_event() -> None:
    raw = (FIXTURES / "responses" / "fantasy-openai-gpt-4o-text.sse").read_bytes()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=iter([raw]), headers={"content-type": "text/event-stream"}
        )
    )
    with httpx.Client(transport=transport) as client, connect_responses(client, "GET", URL) as s:
        for event in s:
            if event.type == "response.completed":
                assert s.response.is_closed
                break
            assert not s.response.is_closed
        assert s.interrupted is False


def test_timings_count_events_and_find_the_first_tokens() -> None:
    """With a fake clock that ticks once per read: one event per read, so the arrival
    of event n is n + 1 (the first byte took tick 0)."""
    import itertools

    raw = FIXTURES / "responses" / "fantasy-openai-gpt-5-reasoning-summary-function-call.sse"
    blocks = [b + b"\n\n" for b in raw.read_bytes().split(b"\n\n") if b.strip()]
    ticks = itertools.count()
    stream = ResponseStream(blocks, clock=lambda: float(next(ticks)))
    kinds = [event.type for event in stream]
    timings = stream.timings
    assert timings.chunks == timings.reads == len(kinds) == 94
    first_reasoning = kinds.index("response.reasoning_summary_text.delta")
    first_call = kinds.index("response.function_call_arguments.delta")
    assert timings.first_reasoning_token == first_reasoning + 1
    assert timings.first_token == first_call + 1
    assert (timings.output_tokens, timings.tokens_source) == (121, "usage")


def test_on_end_is_called_once_with_the_error() -> None:
    raw = (FIXTURES / "responses" / "vercel-ai-openai-error-insufficient-quota.sse").read_bytes()
    calls: list[Any] = []
    stream = ResponseStream([raw], on_end=lambda s, error: calls.append((s, error)))
    with pytest.raises(StreamAPIError) as info:
        stream.get_final_response()
    stream.close()
    assert calls == [(stream, info.value)]


def test_a_finished_stream_cannot_be_iterated_again() -> None:
    raw = (FIXTURES / "responses" / "fantasy-openai-gpt-4o-text.sse").read_bytes()
    stream = ResponseStream([raw])
    assert stream.get_final_response().output_text == "Olá!"
    assert stream.get_final_response().output_text == "Olá!"
    with pytest.raises(RuntimeError, match="has ended"):
        iter(stream)


@pytest.mark.anyio
async def test_closing_early_interrupts(anyio_backend: str) -> None:
    raw = (FIXTURES / "responses" / "fantasy-openai-gpt-4o-text.sse").read_bytes()
    async with AsyncResponseStream([raw[i : i + 64] for i in range(0, len(raw), 64)]) as stream:
        async for event in stream:
            if event.type == "response.output_text.delta":
                break
    assert stream.interrupted is True
    assert stream.snapshot.output_text == "Olá"
    with ResponseStream(iter([raw])) as sync_stream:
        next(sync_stream)
    assert sync_stream.interrupted is True
    assert sync_stream.parser.finished is True


def test_the_guide_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/responses.md's examples run and print what the page shows."""
    import test_docs

    test_docs.test_page_examples("responses.md", monkeypatch)


@pytest.mark.parametrize(
    "name",
    [
        "fantasy-openai-gpt-4o-text.sse",  # event: lines (ignored today: 0 chunks)
        "pydantic-ai-openrouter-gpt-oss-20b-reasoning-text.sse",  # data-only (40 bogus chunks)
    ],
)
def test_chat_stream_names_a_responses_stream(name: str) -> None:
    from ssestream import ChatStream

    stream = ChatStream([(FIXTURES / "responses" / name).read_bytes()])
    with pytest.raises(SSEStreamError, match="ResponseStream"):
        for _ in stream:
            pass
