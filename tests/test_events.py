"""Typed stream events (issue 9): routed by the accumulator, so they add up to the completion.

Every recording in ``tests/fixtures`` and ``../shared/fixtures`` is turned into events, and
:func:`check_events` states the rules of ``ssestream._events`` on them: the deltas of each
text and of each tool call's arguments add up to the completion; every call starts before
its deltas and is done once, after them, with ``parsed == json.loads(arguments)``; the
``*Done`` events come by the order rules; snapshots and ``partial`` agree with the deltas.
Then each known failure shape of real providers, built by hand.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import random
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
import test_promise as promise
from hypothesis import given
from hypothesis import strategies as st
from test_accumulator_hardening import FUZZ, STREAM, well_formed_with_extras

from ssestream import (
    END,
    NEED_DATA,
    AsyncChatStream,
    ChatCompletion,
    ChatCompletionAccumulator,
    ChatStream,
    ChatStreamParser,
    ChunkParseError,
    SSEStreamError,
)
from ssestream._events import (
    ChatEventBuilder,
    ChatStreamEvent,
    ChoiceFinished,
    ChunkEvent,
    ContentDelta,
    ContentDone,
    LogprobsDelta,
    ReasoningDelta,
    ReasoningDone,
    RefusalDelta,
    RefusalDone,
    StreamEnded,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
    UsageReceived,
)

TESTS = Path(__file__).parent
SHARED = TESTS.parent.parent / "shared" / "fixtures"


def recordings() -> list[Path]:
    """Every chat recording of the repo and of ../shared, each body once."""
    seen: set[str] = set()
    paths = []
    for root in (TESTS / "fixtures", SHARED):
        for kind in ("openai", "providers"):
            for path in sorted((root / kind).rglob("*.sse")):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                if digest not in seen:
                    seen.add(digest)
                    paths.append(path)
    return paths


RECORDINGS = recordings()


def payloads(raw: bytes) -> list[dict[str, Any]]:
    """The chunk payloads of a recording (no [DONE], no error payload)."""
    out = []
    for line in raw.split(b"\n"):
        if line.startswith(b"data: {"):
            payload = json.loads(line[6:])
            if "error" not in payload:
                out.append(payload)
    return out


# --------------------------------------------------------------------------- the rules


def check_events(
    events: list[ChatStreamEvent], completion: ChatCompletion, *, ended: bool = True
) -> None:
    """Assert the rules of ``ssestream._events`` on the events of one stream."""
    texts: dict[tuple[str, int, str], list[str]] = defaultdict(list)
    done_texts: dict[tuple[str, int, str], list[str]] = defaultdict(list)
    arguments: dict[tuple[int, int], list[str]] = defaultdict(list)
    started: dict[int, list[ToolCallStarted]] = defaultdict(list)
    dones: dict[tuple[int, int], list[ToolCallDone]] = defaultdict(list)
    finished: dict[int, list[str]] = defaultdict(list)
    reopened: dict[tuple[int, int], int] = defaultdict(int)
    chunks = 0
    if events and not isinstance(events[0], ChunkEvent):
        # A stream without a chunk: StreamEnded alone.
        assert len(events) == 1
        assert ended
    for number, event in enumerate(events):
        if isinstance(event, ChunkEvent):
            chunks += 1
        elif isinstance(event, (ContentDelta, RefusalDelta, ReasoningDelta)):
            kind = type(event).__name__.removesuffix("Delta").lower()
            key = (kind, event.index, getattr(event, "field", kind))
            texts[key].append(event.delta)
            assert event.snapshot == "".join(texts[key])
        elif isinstance(event, (ContentDone, RefusalDone, ReasoningDone)):
            kind = type(event).__name__.removesuffix("Done").lower()
            key = (kind, event.index, getattr(event, "field", kind))
            # The whole text so far, and only after a delta since the last *Done.
            assert getattr(event, kind) == "".join(texts[key])
            assert len(done_texts[key]) < len(list(texts[key])) + 1
            done_texts[key].append(getattr(event, kind))
        elif isinstance(event, ToolCallStarted):
            # Calls start in order of their position in message.tool_calls.
            assert event.call_index == len(started[event.index])
            started[event.index].append(event)
        elif isinstance(event, ToolCallArgumentsDelta):
            call = (event.index, event.call_index)
            assert event.call_index < len(started[event.index])  # started before
            arguments[call].append(event.delta)
            if len(dones[call]) > reopened[call]:
                reopened[call] += 1  # a fragment after its ToolCallDone opens it again
            assert event.arguments == "".join(arguments[call])
        elif isinstance(event, ToolCallDone):
            call = (event.index, event.call_index)
            assert event.call_index < len(started[event.index])
            assert event.arguments == "".join(arguments[call])
            if event.type == "custom":
                assert event.parsed is None  # free-form input, never parsed as JSON
            elif event.complete:
                assert event.parsed == json.loads(event.arguments)
            else:
                assert event.parsed is None
            dones[call].append(event)
        elif isinstance(event, ChoiceFinished):
            finished[event.index].append(event.finish_reason)
            # Nothing of this choice is left open when it finishes: its *Done came.
            for kind, index, name in texts:
                if index == event.index:
                    assert done_texts[kind, index, name], (kind, index, name)
            for call in range(len(started[event.index])):
                assert dones[event.index, call], call
        elif isinstance(event, StreamEnded):
            assert number == len(events) - 1
            assert event.completion == completion
        else:
            assert isinstance(event, (LogprobsDelta, UsageReceived)), event
    if ended:
        assert isinstance(events[-1], StreamEnded)

    # The deltas add up to the completion.
    by_index = {choice.index: choice for choice in completion.choices}
    for (kind, index, name), parts in texts.items():
        message = by_index[index].message.to_dict()
        assert "".join(parts) == message[name], (kind, index, name)
    for choice in completion.choices:
        message = choice.message.to_dict()
        names = [("content", "content"), ("refusal", "refusal"),
                 ("reasoning", "reasoning_content"), ("reasoning", "reasoning")]  # fmt: skip
        for kind, name in names:
            if message.get(name) is not None and message[name] != "":
                assert texts[kind, choice.index, name], (kind, name)
        calls = message.get("tool_calls") or []
        assert len(started[choice.index]) == len(calls)
        for position, call in enumerate(calls):
            start = started[choice.index][position]
            function = call.get("function") or {}
            custom = call.get("custom") or {}
            assert start.id in (None, call["id"])
            assert start.name in (None, function.get("name"), custom.get("name"))
            # The deltas are the text of the field that brought the first fragment: the
            # function's arguments, or a custom call's input.
            text = "".join(arguments[choice.index, position])
            assert text in (function.get("arguments", ""), custom.get("input", ""))
            if ended:
                # Done once; again only if fragments came after it (the rule 3 reopening),
                # each time with the whole text so far.
                *earlier, done = dones[choice.index, position]
                assert len(earlier) == reopened[choice.index, position]
                assert all(text.startswith(e.arguments) for e in earlier)
                assert done.id == call["id"]
                assert done.name in (function.get("name"), custom.get("name"))
                assert done.arguments == text
        if choice.finish_reason is not None:
            assert finished[choice.index][-1] == choice.finish_reason
    if ended:
        for key, parts in texts.items():
            assert done_texts[key][-1] == "".join(parts)


def builder_events(
    chunks: list[dict[str, Any]], *, interrupted: bool = False
) -> tuple[list[ChatStreamEvent], ChatCompletion]:
    builder = ChatEventBuilder()
    events: list[ChatStreamEvent] = []
    for payload in chunks:
        events.extend(builder.add(payload))
    events.extend(builder.end(done=not interrupted, interrupted=interrupted))
    return events, builder.accumulator.completion


# --------------------------------------------------------------------------- recordings


def test_the_recordings_are_found() -> None:
    assert len(RECORDINGS) >= 91
    assert any("bedrock" in p.name for p in RECORDINGS)


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem[:60])
def test_builder_events_add_up_to_the_completion(path: Path) -> None:
    chunks = payloads(path.read_bytes())
    events, completion = builder_events(chunks)
    check_events(events, completion)
    # The same completion as the accumulator alone.
    accumulator = ChatCompletionAccumulator()
    for payload in chunks:
        accumulator.add(payload)
    assert completion == accumulator.completion
    assert sum(isinstance(e, ChunkEvent) for e in events) == len(chunks)


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem[:60])
def test_partial_arguments_agree_with_the_final_value(path: Path) -> None:
    events, _ = builder_events(payloads(path.read_bytes()))
    finals = {(e.index, e.call_index): e for e in events if isinstance(e, ToolCallDone)}
    for event in events:
        if isinstance(event, ToolCallArgumentsDelta):
            done = finals[event.index, event.call_index]
            if done.complete:
                assert agrees(event.partial, done.parsed)
    for done in finals.values():
        if done.complete:
            last = [e for e in events if isinstance(e, ToolCallArgumentsDelta)
                    and (e.index, e.call_index) == (done.index, done.call_index)][-1]  # fmt: skip
            assert last.partial == done.parsed


def agrees(partial: Any, final: Any) -> bool:
    """Whether a partial value shows nothing the final value contradicts."""
    if partial is None:
        return True
    if isinstance(partial, dict):
        return isinstance(final, dict) and all(
            key in final and agrees(value, final[key]) for key, value in partial.items()
        )
    if isinstance(partial, list):
        return isinstance(final, list) and len(partial) <= len(final) and all(
            agrees(value, final[i]) for i, value in enumerate(partial)
        )  # fmt: skip
    if isinstance(partial, str):
        return isinstance(final, str) and final.startswith(partial)
    return bool(partial == final)


# --------------------------------------------------------------------------- quirks


def chunk(*choices: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", **envelope, "choices": list(choices)}


def choice(index: int = 0, finish_reason: Any = None, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish_reason}


def tool(
    index: Any = None, id: Any = None, name: Any = None, arguments: Any = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if index is not None:
        entry["index"] = index
    if id is not None:
        entry["id"] = id
    function = {k: v for k, v in (("name", name), ("arguments", arguments)) if v is not None}
    if function:
        entry["function"] = function
    return entry


def kinds(events: list[ChatStreamEvent]) -> list[str]:
    return [type(e).__name__ for e in events if not isinstance(e, ChunkEvent)]


def calls_done(events: list[ChatStreamEvent]) -> list[tuple[Any, ...]]:
    return [(e.call_index, e.id, e.name, e.arguments, e.parsed, e.complete)
            for e in events if isinstance(e, ToolCallDone)]  # fmt: skip


QUIRKS = {
    "index-starting-at-1": [
        chunk(choice(tool_calls=[tool(1, "a", "f", "")])),
        chunk(choice(tool_calls=[tool(1, arguments='{"x": 1}')])),
        chunk(choice(0, "tool_calls")),
    ],
    "no-index": [
        chunk(choice(tool_calls=[tool(None, "a", "f", '{"x"')])),
        chunk(choice(tool_calls=[tool(None, arguments=": 1}")])),
        chunk(choice(tool_calls=[tool(None, "b", "g", "{}")])),
        chunk(choice(0, "tool_calls")),
    ],
    "index-reused-for-a-new-call": [
        chunk(choice(tool_calls=[tool(0, "a", "f", "{}")])),
        chunk(choice(tool_calls=[tool(0, "b", "g", "[")])),
        chunk(choice(tool_calls=[tool(0, arguments="1]")])),
        chunk(choice(0, "tool_calls")),
    ],
    "repeated-id": [
        chunk(choice(tool_calls=[tool(0, "a", "f", "{")])),
        chunk(choice(tool_calls=[tool(0, "a", "f", "}")])),
        chunk(choice(0, "tool_calls")),
    ],
    "several-entries-one-index": [
        chunk(
            choice(
                tool_calls=[
                    tool(0, "a", "f", '{"'),
                    tool(0, arguments='k":'),
                    tool(0, arguments=" 2}"),
                ]
            )
        ),
        chunk(choice(0, "tool_calls")),
    ],
    "interleaved-by-index": [
        chunk(choice(tool_calls=[tool(0, "a", "f", '{"a":')])),
        chunk(choice(tool_calls=[tool(1, "b", "g", '{"b":')])),
        chunk(choice(tool_calls=[tool(0, arguments="1}")])),
        chunk(choice(tool_calls=[tool(1, arguments="2}")])),
        chunk(choice(0, "tool_calls")),
    ],
    "choices-out-of-order": [
        chunk(choice(1, content="B1")),
        chunk(choice(0, content="A1"), choice(1, reasoning="r")),
        chunk(choice(1, "stop", content="B2"), choice(0, content="A2")),
        chunk(choice(0, "length")),
    ],
    "text-after-the-finish-reason": [
        chunk(choice(content="a")),
        chunk(choice(0, "stop")),
        chunk(choice(content="b")),
        chunk(choice(0, "stop")),
    ],
    "mistral-typed-parts": [
        chunk(choice(content=[{"type": "thinking", "thinking": [{"type": "text", "text": "T"}]}])),
        chunk(choice(content=[{"type": "text", "text": "A"}, {"type": "image"}])),
        chunk(choice(0, "stop")),
    ],
    "both-reasoning-names": [
        chunk(choice(reasoning_content="a", reasoning="a")),
        chunk(choice(reasoning_content="b", reasoning="X")),
        chunk(choice(0, "stop")),
    ],
    "usage-on-every-chunk": [
        chunk(choice(content="a"), usage={"total_tokens": 1}),
        chunk(choice(0, "stop", content="b"), usage={"total_tokens": 2}),
    ],
}


@pytest.mark.parametrize("name", QUIRKS)
def test_quirks_add_up(name: str) -> None:
    events, completion = builder_events(QUIRKS[name])
    check_events(events, completion)


def test_index_reuse_starts_a_new_call_and_ends_the_first() -> None:
    events, _ = builder_events(QUIRKS["index-reused-for-a-new-call"])
    assert kinds(events) == [
        "ToolCallStarted", "ToolCallArgumentsDelta",
        "ToolCallDone", "ToolCallStarted", "ToolCallArgumentsDelta", "ToolCallArgumentsDelta",
        "ToolCallDone", "ChoiceFinished", "StreamEnded",
    ]  # fmt: skip
    assert calls_done(events) == [
        (0, "a", "f", "{}", {}, True),
        (1, "b", "g", "[1]", [1], True),
    ]


def test_interleaved_calls_are_done_at_the_finish_reason() -> None:
    # Not when the next call starts: the first call's JSON is not whole then.
    events, _ = builder_events(QUIRKS["interleaved-by-index"])
    assert kinds(events)[-4:] == ["ToolCallDone", "ToolCallDone", "ChoiceFinished",
                                  "StreamEnded"]  # fmt: skip
    assert calls_done(events) == [
        (0, "a", "f", '{"a":1}', {"a": 1}, True),
        (1, "b", "g", '{"b":2}', {"b": 2}, True),
    ]


def test_no_index_new_id_starts_the_next_call() -> None:
    events, _ = builder_events(QUIRKS["no-index"])
    assert calls_done(events) == [
        (0, "a", "f", '{"x": 1}', {"x": 1}, True),
        (1, "b", "g", "{}", {}, True),
    ]
    assert kinds(events).index("ToolCallDone") < kinds(events).index("ToolCallStarted", 1)


def test_a_call_cut_by_length_or_an_interruption_is_not_complete() -> None:
    cut = [chunk(choice(tool_calls=[tool(0, "a", "f", '{"x": 1}')])), chunk(choice(0, "length"))]
    events, _ = builder_events(cut)
    assert calls_done(events) == [(0, "a", "f", '{"x": 1}', None, False)]
    open_call = [chunk(choice(tool_calls=[tool(0, "a", "f", '{"x": 1}')]))]
    events, _ = builder_events(open_call, interrupted=True)
    assert calls_done(events) == [(0, "a", "f", '{"x": 1}', None, False)]
    (ended,) = [e for e in events if isinstance(e, StreamEnded)]
    assert (ended.done, ended.interrupted) == (False, True)


def test_invalid_arguments_never_raise() -> None:
    bad = [
        chunk(choice(tool_calls=[tool(0, "a", "f", '{"x": 1')])),
        chunk(choice(tool_calls=[tool(0, arguments="]]] {")])),
        chunk(choice(tool_calls=[tool(0, arguments='"y"')])),
        chunk(choice(0, "tool_calls")),
    ]
    events, completion = builder_events(bad)
    check_events(events, completion)
    deltas = [e for e in events if isinstance(e, ToolCallArgumentsDelta)]
    # The value stays as parsed up to the first bad character.
    assert [d.partial for d in deltas] == [{}, {"x": 1}, {"x": 1}]
    assert calls_done(events) == [(0, "a", "f", '{"x": 1]]] {"y"', None, False)]


def test_partial_of_an_older_event_read_late() -> None:
    events, _ = builder_events(QUIRKS["several-entries-one-index"])
    deltas = [e for e in events if isinstance(e, ToolCallArgumentsDelta)]
    assert deltas[-1].partial == {"k": 2}
    assert [d.partial for d in deltas] == [{}, {}, {"k": 2}]
    assert [d.arguments for d in deltas] == ['{"', '{"k":', '{"k": 2}']


def test_text_after_the_finish_reason_is_done_again() -> None:
    events, _ = builder_events(QUIRKS["text-after-the-finish-reason"])
    assert kinds(events) == ["ContentDelta", "ContentDone", "ChoiceFinished", "ContentDelta",
                             "ContentDone", "ChoiceFinished", "StreamEnded"]  # fmt: skip
    assert [e.content for e in events if isinstance(e, ContentDone)] == ["a", "ab"]


def test_reasoning_keeps_the_providers_field_name() -> None:
    events, _ = builder_events(QUIRKS["both-reasoning-names"])
    assert [(e.field, e.delta) for e in events if isinstance(e, ReasoningDelta)] == [
        ("reasoning_content", "a"), ("reasoning_content", "b"), ("reasoning", "X")
    ]  # fmt: skip
    assert [(e.field, e.reasoning) for e in events if isinstance(e, ReasoningDone)] == [
        ("reasoning_content", "ab"), ("reasoning", "X")
    ]  # fmt: skip


def test_choices_out_of_order_keep_their_index() -> None:
    events, _ = builder_events(QUIRKS["choices-out-of-order"])
    assert [(type(e).__name__, e.index) for e in events
            if isinstance(e, (ContentDone, ChoiceFinished))] == [
        ("ContentDone", 1), ("ChoiceFinished", 1), ("ContentDone", 0), ("ChoiceFinished", 0)
    ]  # fmt: skip


def test_a_rejected_chunk_gives_no_event_and_changes_nothing() -> None:
    builder = ChatEventBuilder()
    builder.add(chunk(choice(content="a")))
    with pytest.raises(ChunkParseError):
        builder.add(chunk(choice(content="b"), choice(1, content=5)))
    events = builder.add(chunk(choice(0, "stop", content="c")))
    assert kinds(events) == ["ContentDelta", "ContentDone", "ChoiceFinished"]
    assert [e.content for e in events if isinstance(e, ContentDone)] == ["ac"]


def test_usage_and_logprobs() -> None:
    token = {"token": "a", "logprob": -0.1, "bytes": [97], "top_logprobs": []}
    events, _ = builder_events([
        {"choices": [{"index": 0, "delta": {"content": "a"},
                      "logprobs": {"content": [token], "refusal": None}}]},
        chunk(usage={"total_tokens": 3}),
    ])  # fmt: skip
    (logprobs,) = [e for e in events if isinstance(e, LogprobsDelta)]
    assert logprobs.content is not None
    assert logprobs.content[0].token == "a"
    assert logprobs.refusal is None
    (usage,) = [e for e in events if isinstance(e, UsageReceived)]
    assert usage.usage.total_tokens == 3


def test_events_are_frozen_records() -> None:
    event = ContentDone(index=0, content="x")
    with pytest.raises(AttributeError):
        event.content = "y"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")
    with pytest.raises(TypeError):
        ContentDone(0, "x")  # type: ignore[misc]


def test_end_is_given_once() -> None:
    builder = ChatEventBuilder()
    assert kinds(builder.end(done=True, interrupted=False)) == ["StreamEnded"]
    assert builder.end(done=True, interrupted=False) == []


# --------------------------------------------------------------------------- the streams

SPLITS = ("whole", "7", "random")


def split(raw: bytes, how: str) -> list[bytes]:
    """The reads of a body: whole, 7 bytes each, or seeded random sizes (1 to 97)."""
    if how == "whole":
        return [raw]
    if how == "7":
        return [raw[i : i + 7] for i in range(0, len(raw), 7)]
    rng = random.Random(len(raw))
    pieces, i = [], 0
    while i < len(raw):
        size = rng.randint(1, 97)
        pieces.append(raw[i : i + size])
        i += size
    return pieces


@dataclass
class Read:
    """What reading one body gave: the items, the error raised (if any), the stream."""

    items: list[Any]
    error: BaseException | None
    stream: ChatStream | AsyncChatStream


def read(twin: Any, pieces: list[bytes], *, events: bool) -> Read:
    """Read a body with the twin's stream, as events or as chunks, to the end or an error."""
    if twin.mode == "sync":
        stream = ChatStream(iter(pieces))
        items: list[Any] = []
        try:
            for item in stream.events() if events else stream:
                items.append(item)  # noqa: PERF402 (what came before an error is kept)
        except SSEStreamError as exc:
            return Read(items, exc, stream)
        return Read(items, None, stream)

    async def main() -> Read:
        astream = AsyncChatStream(iter(pieces))
        items: list[Any] = []
        try:
            if events:
                async for item in astream.events():
                    items.append(item)  # noqa: PERF401
            else:
                async for item in astream:
                    items.append(item)  # noqa: PERF401
        except SSEStreamError as exc:
            return Read(items, exc, astream)
        return Read(items, None, astream)

    return anyio.run(main, backend=twin.mode)


def stream_cases() -> list[Any]:
    return [
        pytest.param(path, how, id=f"{path.stem[:48]}-{how}")
        for path in RECORDINGS
        for how in SPLITS
    ]


@pytest.mark.parametrize(("path", "how"), stream_cases())
def test_stream_events_add_up_and_fail_like_the_chunks(twin: Any, path: Path, how: str) -> None:
    pieces = split(path.read_bytes(), how)
    by_events = read(twin, pieces, events=True)
    by_chunks = read(twin, pieces, events=False)
    # The same chunks, the same error at the same point, the same completion.
    assert [e.chunk for e in by_events.items if isinstance(e, ChunkEvent)] == by_chunks.items
    assert type(by_events.error) is type(by_chunks.error)
    assert str(by_events.error) == str(by_chunks.error)
    assert by_events.stream.completion == by_chunks.stream.completion
    assert by_events.stream.interrupted == by_chunks.stream.interrupted
    completion = by_events.stream.completion
    check_events(by_events.items, completion, ended=by_events.error is None)
    if by_events.error is None:
        ended = by_events.items[-1]
        assert isinstance(ended, StreamEnded)
        assert (ended.done, ended.interrupted) == (by_chunks.stream.done,
                                                   by_chunks.stream.interrupted)  # fmt: skip
    else:
        # Nothing after an error: no *Done, no StreamEnded; the error has the completion.
        assert not any(isinstance(e, StreamEnded) for e in by_events.items)
        assert by_events.error.completion == completion


def test_a_cut_stream_ends_interrupted_with_its_calls_not_complete(twin: Any) -> None:
    first = chunk(choice(tool_calls=[tool(0, "a", "f", '{"x": 1}')]))
    body = f"data: {json.dumps(first)}\n\n".encode()
    result = read(twin, [body], events=True)
    assert result.error is None
    assert calls_done(result.items) == [(0, "a", "f", '{"x": 1}', None, False)]
    ended = result.items[-1]
    assert isinstance(ended, StreamEnded)
    assert (ended.done, ended.interrupted) == (False, True)


def test_events_of_an_ended_stream_raise() -> None:
    stream = ChatStream(iter([b"data: [DONE]\n\n"]))
    assert [type(e).__name__ for e in stream.events()] == ["StreamEnded"]
    with pytest.raises(RuntimeError):
        next(stream.events())


def test_a_bad_chunk_raises_after_the_events_before_it(twin: Any) -> None:
    good = chunk(choice(content="a"))
    bad = chunk(choice(content=5))
    body = f"data: {json.dumps(good)}\n\ndata: {json.dumps(bad)}\n\n".encode()
    result = read(twin, [body], events=True)
    assert isinstance(result.error, ChunkParseError)
    assert kinds(result.items) == ["ContentDelta"]
    assert result.error.completion.choices[0].message.content == "a"


def test_next_event_is_sans_io() -> None:
    parser = ChatStreamParser()
    assert parser.next_event() is NEED_DATA
    parser.receive_data(f"data: {json.dumps(chunk(choice(0, 'stop', content='hi')))}\n\n".encode())
    got = []
    while (event := parser.next_event()) is not NEED_DATA:
        got.append(type(event).__name__)
    assert got == ["ChunkEvent", "ContentDelta", "ContentDone", "ChoiceFinished"]
    parser.receive_data(b"data: [DONE]\n\n")
    assert type(parser.next_event()).__name__ == "StreamEnded"
    assert parser.next_event() is END


def test_the_builders_records_equal_constructed_ones() -> None:
    # The builder makes its hot records as drafts (see ssestream._events and
    # test_events_queue.py).
    text = chunk(choice(content="a", refusal="r", reasoning="t"))
    events, _ = builder_events([*QUIRKS["several-entries-one-index"][:1], text])
    first = events[0]
    assert isinstance(first, ChunkEvent)
    assert first == ChunkEvent(chunk=first.chunk)
    content = next(e for e in events if isinstance(e, ContentDelta))
    assert content == ContentDelta(index=0, delta="a", _parts=["a"], _length=1)
    assert repr(content) == "ContentDelta(index=0, delta='a')"
    reasoning = next(e for e in events if isinstance(e, ReasoningDelta))
    assert reasoning == ReasoningDelta(index=0, field="reasoning", delta="t", _parts=[], _length=1)
    refusal = next(e for e in events if isinstance(e, RefusalDelta))
    assert (refusal.index, refusal.delta, refusal.snapshot) == (0, "r", "r")
    with pytest.raises(AttributeError):
        content.delta = "b"  # type: ignore[misc]


# --------------------------------------------------------------------------- Hypothesis


@FUZZ
@given(st.one_of(STREAM, st.lists(well_formed_with_extras(), min_size=1, max_size=4)),
       st.booleans())  # fmt: skip
def test_events_of_any_chunks_add_up(chunks: list[dict[str, Any]], interrupted: bool) -> None:
    # Garbage chunks are rejected whole (no event), the rest add up to the completion.
    builder = ChatEventBuilder()
    events: list[ChatStreamEvent] = []
    for payload in chunks:
        with contextlib.suppress(ChunkParseError):
            events += builder.add(payload)
    events += builder.end(done=not interrupted, interrupted=interrupted)
    check_events(events, builder.accumulator.completion)
    for event in events:
        if isinstance(event, ToolCallArgumentsDelta):
            json.dumps(event.partial)


def test_partial_read_late_over_many_fragments() -> None:
    # 300 fragments of 2 characters, none read as they came: the unread text is kept
    # in a few joined pieces, and reading any event's partial later is still exact.
    text = json.dumps({"k": "x" * 290, "n": [1, 2, 3]}, separators=(",", ":"))
    pieces = [text[i : i + 2] for i in range(0, len(text), 2)]
    chunks = [chunk(choice(tool_calls=[tool(0, "a", "f", "")]))]
    chunks += [chunk(choice(tool_calls=[tool(0, arguments=p)])) for p in pieces]
    events, _ = builder_events([*chunks, chunk(choice(0, "tool_calls"))])
    deltas = [e for e in events if isinstance(e, ToolCallArgumentsDelta)]
    assert len(deltas) == len(pieces) + 1
    assert deltas[100].partial == {"k": "x" * (200 - 6)}  # '{"k":"' is 6 characters
    assert deltas[120].partial == {"k": "x" * (240 - 6)}
    assert deltas[110].partial == {"k": "x" * (220 - 6)}  # older than one read: afresh
    assert deltas[-1].partial == {"k": "x" * 290, "n": [1, 2, 3]}


def test_a_plain_json_completion_gives_the_same_events(twin: Any) -> None:
    # A server that ignored stream: true: the whole message is one delta.
    body = {
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Let me add.",
            "tool_calls": [{"id": "call_1", "type": "function",
                            "function": {"name": "add", "arguments": '{"a": 1}'}}]}}],
        "usage": {"total_tokens": 9},
    }  # fmt: skip
    result = read(twin, [json.dumps(body).encode()], events=True)
    assert result.error is None
    assert kinds(result.items) == [
        "ContentDelta", "ToolCallStarted", "ToolCallArgumentsDelta", "ContentDone",
        "ToolCallDone", "ChoiceFinished", "UsageReceived", "StreamEnded",
    ]  # fmt: skip
    check_events(result.items, result.stream.completion)
    assert calls_done(result.items) == [(0, "call_1", "add", '{"a": 1}', {"a": 1}, True)]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_breaking_out_of_async_events_leaves_nothing_to_finalise(backend: str) -> None:
    # An async generator left before its end warns under trio when collected.
    raw = (TESTS / "fixtures" / "providers" / "openai-gpt-4.1-nano-text.sse").read_bytes()

    async def main() -> bool:
        async with AsyncChatStream(split(raw, "7")) as stream:
            async for _ in stream.events():
                break
        return stream.interrupted

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert anyio.run(main, backend=backend) is True
        gc.collect()
    assert not [w for w in caught if "generator" in str(w.message)]


# --------------------------------------------------------------------------- growth


def events_growth(make: Any, n: int, *, read_partial: bool = False) -> float:
    """CPU time of the events of ``make(4 n)`` over those of ``make(n)``, best of 5 each.

    Linear work gives about 4, quadratic about 16.
    """

    def best(size: int) -> float:
        chunks = make(size)
        times = []
        for _ in range(5):
            builder = ChatEventBuilder()
            start = time.process_time()
            for payload in chunks:
                for event in builder.add(payload):
                    if read_partial and isinstance(event, ToolCallArgumentsDelta):
                        event.partial  # noqa: B018
            builder.end(done=True, interrupted=False)
            times.append(time.process_time() - start)
        return min(times)

    gc.collect()
    gc.disable()
    try:
        best(n)
        return best(4 * n) / best(n)
    finally:
        gc.enable()


def many_calls(n: int) -> list[dict[str, Any]]:
    return [chunk(choice(tool_calls=[tool(i, f"c{i}", "f", "{}")])) for i in range(n)] + [
        chunk(choice(0, "tool_calls"))
    ]


def many_fragments(n: int) -> list[dict[str, Any]]:
    start = [chunk(choice(tool_calls=[tool(0, "a", "f", '{"k": "')]))]
    return (
        start
        + [chunk(choice(tool_calls=[tool(0, arguments="abcdefgh")]))] * n
        + [
            chunk(choice(tool_calls=[tool(0, arguments='"}')])),
            chunk(choice(0, "tool_calls")),
        ]
    )


def many_finishes(n: int) -> list[dict[str, Any]]:
    # A finish_reason on every chunk (some providers repeat it), many calls open.
    return [chunk(choice(0, "tool_calls", tool_calls=[tool(i, f"c{i}", "f", "{}")]))
            for i in range(n)]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "n", "read_partial"),
    [
        (many_calls, 1000, False),
        (many_fragments, 2000, False),
        (many_fragments, 2000, True),
        (many_finishes, 1000, False),
    ],
)
def test_events_grow_linearly(make: Any, n: int, read_partial: bool) -> None:
    ratio = events_growth(make, n, read_partial=read_partial)
    assert ratio < 8, f"4x the input took {ratio:.1f}x the time"


# --------------------------------------------------------------------------- hostile bodies


def read_events_sync(reads: list[bytes]) -> tuple[list[Any], BaseException | None, ChatStream]:
    stream = ChatStream(iter(reads))
    events: list[Any] = []
    try:
        for event in stream.events():
            events.append(event)  # noqa: PERF402 (what came before an error is kept)
    except Exception as exc:  # checked below: only SSEStreamError
        return events, exc, stream
    return events, None, stream


@FUZZ
@given(st.data())
def test_events_of_any_body_are_the_chunk_iterators_decisions(data: st.DataObject) -> None:
    # The hostile bodies of test_promise: the events give the same chunks, the same
    # error and the same completion as the chunk iterator, whatever the split.
    body = data.draw(st.one_of(promise.bodies(), promise.merge_bodies()), label="body")
    reads = data.draw(promise.split(body), label="reads")
    events, error, stream = read_events_sync(reads)
    chunks_outcome = promise.read_sync(reads)
    if error is not None:
        assert isinstance(error, SSEStreamError), repr(error)
    assert [e.chunk.to_dict() for e in events if isinstance(e, ChunkEvent)] == chunks_outcome[0]
    assert (None if error is None else (type(error).__name__, str(error))) == chunks_outcome[1]
    assert stream.completion.to_dict() == chunks_outcome[2]
    check_events(events, stream.completion, ended=error is None)


def test_a_choice_finished_on_every_chunk_costs_no_copy_per_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that sends a finish_reason with every content chunk gets a ContentDone per
    chunk: its text is built when read, so the events stay linear in the stream."""
    import ssestream._events as events_module

    built: list[int] = []
    real = events_module.text_prefix

    def counting(parts: list[str], length: int) -> str:
        built.append(length)
        return real(parts, length)

    monkeypatch.setattr(events_module, "text_prefix", counting)
    payloads = [
        {"choices": [{"index": 0, "delta": {"content": "ab"}, "finish_reason": "stop"}]}
        for _ in range(2000)
    ]
    body = "".join(f"data: {json.dumps(p)}\n\n" for p in payloads).encode()
    dones = [e for e in ChatStream([body]).events() if type(e).__name__ == "ContentDone"]
    assert len(dones) == 2000
    assert built == []  # nothing copied until read
    assert dones[-1].content == "ab" * 2000
    assert dones[0].content == "ab"
    assert dones[0] == ssestream_content_done(0, "ab")


def ssestream_content_done(index: int, content: str) -> Any:
    from ssestream import ContentDone

    return ContentDone(index=index, content=content)


def test_a_custom_tool_calls_input_streams_as_its_arguments() -> None:
    """OpenAI's custom tools (free-form input), the deltas of the issue."""
    deltas = [
        {
            "index": 0,
            "id": "call_1",
            "type": "custom",
            "custom": {"name": "code_exec", "input": ""},
        },
        {"index": 0, "custom": {"input": "print(1"}},
        {"index": 0, "custom": {"input": ")"}},
    ]
    payloads = [{"choices": [{"index": 0, "delta": {"tool_calls": [d]}}]} for d in deltas]
    payloads.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    body = "".join(f"data: {json.dumps(p)}\n\n" for p in payloads).encode()
    events = list(ChatStream([body]).events())
    (started,) = [e for e in events if isinstance(e, ToolCallStarted)]
    assert (started.id, started.name, started.type) == ("call_1", "code_exec", "custom")
    pieces = [e.delta for e in events if isinstance(e, ToolCallArgumentsDelta)]
    assert "".join(pieces) == "print(1)"
    (done,) = [e for e in events if isinstance(e, ToolCallDone)]
    assert (done.name, done.arguments, done.parsed, done.complete) == (
        "code_exec",
        "print(1)",
        None,
        True,
    )
