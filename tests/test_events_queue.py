"""The events path's shortcuts (issue 14): the parser's queue served by ``events()``, the
one-fragment chunks handled in ``ChatEventBuilder.added``, the records built as drafts.

Each shortcut is checked against the general code it stands in for: the events of every
recording, chunk by chunk, against ``_route``'s; the records against the constructor's;
a read broken off mid-chunk against one read through.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from typing import Any

import anyio
import pytest
from test_events import QUIRKS, RECORDINGS, check_events, choice, chunk, payloads, tool

from ssestream import (
    AsyncChatStream,
    ChatCompletionChunk,
    ChatStream,
    ChatStreamParser,
    ChunkParseError,
    SSEStreamError,
    _events,
)
from ssestream._events import (
    ChatEventBuilder,
    ChatStreamEvent,
    ChunkEvent,
    ContentDelta,
    ReasoningDelta,
    RefusalDelta,
    ToolCallArgumentsDelta,
)

# --------------------------------------------------------------------------- one fragment


def describe(event: ChatStreamEvent) -> tuple[Any, ...]:
    """What a caller can read of an event: its type, its fields, and the lazy ones."""
    lazy = tuple(
        getattr(event, name)
        for name in ("snapshot", "arguments", "partial")
        if hasattr(type(event), name) and isinstance(getattr(type(event), name), property)
    )
    if isinstance(event, ChunkEvent):
        return (ChunkEvent, event.chunk.to_dict())
    return (type(event), repr(event), lazy)


def by_route(builder: ChatEventBuilder, payload: dict[str, Any]) -> list[ChatStreamEvent]:
    """The events of a chunk by the general code alone (``_route``), no shortcut."""
    builder.accumulator.add(payload)
    events: list[ChatStreamEvent] = [ChunkEvent(chunk=ChatCompletionChunk(payload))]
    builder._route(events)
    return events


def compare_with_route(chunks: list[dict[str, Any]]) -> int:
    """Assert that ``added`` gives, chunk by chunk, what ``_route`` gives; return how
    many chunks were of one content or arguments fragment (the shortcut's case)."""
    fast, general = ChatEventBuilder(), ChatEventBuilder()
    one_fragment = 0
    for payload in chunks:
        try:
            fast.accumulator.add(payload)
        except ChunkParseError:
            with pytest.raises(ChunkParseError):
                general.accumulator.add(payload)
            continue
        routes = fast._routes
        if len(routes) == 1 and (
            routes[0][0] == "content" or (routes[0][0] == "tool_call" and routes[0][2] is None)
        ):
            one_fragment += 1
        got = fast.added(ChatCompletionChunk(payload))
        want = by_route(general, payload)
        assert [describe(e) for e in got] == [describe(e) for e in want]
        assert [type(e) for e in got] == [type(e) for e in want]
    ends = fast.end(done=True, interrupted=False), general.end(done=True, interrupted=False)
    assert [describe(e) for e in ends[0]] == [describe(e) for e in ends[1]]
    assert fast.accumulator.completion == general.accumulator.completion
    return one_fragment


def test_one_fragment_chunks_give_what_route_gives_on_every_recording() -> None:
    shortcuts = sum(compare_with_route(payloads(path.read_bytes())) for path in RECORDINGS)
    assert shortcuts > 1000  # the recordings do take the shortcut


@pytest.mark.parametrize("name", QUIRKS)
def test_one_fragment_chunks_give_what_route_gives_on_the_quirks(name: str) -> None:
    compare_with_route(QUIRKS[name])


def test_arguments_fragments_read_late_and_after_a_done() -> None:
    # Many one-fragment chunks (the shortcut, with the pending pieces joined past 64),
    # a fragment after the call's ToolCallDone (it opens the call again), partial read
    # on old events after newer ones.
    text = json.dumps({"k": "v" * 150, "n": list(range(20))})
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    chunks = [chunk(choice(tool_calls=[tool(0, "a", "f", "")]))]
    chunks += [chunk(choice(tool_calls=[tool(0, arguments=p)])) for p in pieces]
    chunks += [chunk(choice(0, "tool_calls")), chunk(choice(tool_calls=[tool(0, arguments=" ")]))]
    assert compare_with_route(chunks) == len(pieces) + 1
    builder = ChatEventBuilder()
    events = [e for payload in chunks for e in builder.add(payload)]
    events += builder.end(done=True, interrupted=False)
    check_events(events, builder.accumulator.completion)
    deltas = [e for e in events if isinstance(e, ToolCallArgumentsDelta)]
    assert deltas[-2].partial == json.loads(text)
    assert deltas[40].partial is not None
    assert deltas[40].arguments == "".join(pieces[:40])


# --------------------------------------------------------------------------- records


def hot_records() -> list[ChatStreamEvent]:
    """One record of each kind the builder builds as a draft, by each path."""
    builder = ChatEventBuilder()
    events: list[ChatStreamEvent] = []
    for payload in [
        chunk(choice(content="a", refusal="r", reasoning="t")),  # _route, three texts
        chunk(choice(content="b")),  # one content fragment: the shortcut
        chunk(choice(tool_calls=[tool(0, "c", "f", '{"x"')])),  # _route, a new call
        chunk(choice(tool_calls=[tool(0, arguments=": 1}")])),  # one fragment: the shortcut
    ]:
        events += builder.add(payload)
    return events


def constructed(event: Any) -> Any:
    """The same record, made by its class's constructor."""
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    return type(event)(**fields)


def hash_or_error(record: Any) -> Any:
    try:
        return hash(record)
    except TypeError as exc:  # a ChunkEvent: its chunk view is not hashable
        return str(exc)


def test_each_draft_has_its_records_slots() -> None:
    drafts = {
        _events._ChunkEventDraft: ChunkEvent,
        _events._ContentDeltaDraft: ContentDelta,
        _events._RefusalDeltaDraft: RefusalDelta,
        _events._ReasoningDeltaDraft: ReasoningDelta,
        _events._ArgumentsDeltaDraft: ToolCallArgumentsDelta,
    }
    for draft, record in drafts.items():
        assert draft.__slots__ == record.__slots__  # type: ignore[attr-defined]


def test_the_records_built_as_drafts_are_the_records() -> None:
    events = hot_records()
    kinds = [type(e) for e in events]
    for kind in (ChunkEvent, ContentDelta, RefusalDelta, ReasoningDelta, ToolCallArgumentsDelta):
        assert kind in kinds
    for event in events:
        if not dataclasses.is_dataclass(event):
            continue
        twin = constructed(event)
        assert type(event) is type(twin)
        assert event == twin
        assert repr(event) == repr(twin)
        assert hash_or_error(event) == hash_or_error(twin)
        assert copy.copy(event) == event
        assert not hasattr(event, "__dict__")
        name = dataclasses.fields(event)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(event, name, None)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(event, name)
    content = next(e for e in events if type(e) is ContentDelta and e.delta == "b")
    assert content.snapshot == "ab"
    changed = dataclasses.replace(content, delta="z")
    assert (type(changed), changed.delta, changed.snapshot) == (ContentDelta, "z", "ab")
    assert pickle.loads(pickle.dumps(content)) == content
    arguments = [e for e in events if type(e) is ToolCallArgumentsDelta]
    assert [(e.delta, e.arguments, e.partial) for e in arguments] == [
        ('{"x"', '{"x"', {}),
        (": 1}", '{"x": 1}', {"x": 1}),
    ]


# --------------------------------------------------------------------------- the queue


def ch(**delta: Any) -> dict[str, Any]:
    finish = delta.pop("finish", None)
    return chunk(choice(0, finish, **delta), id="c", created=1, model="m")


# One read: a chunk of two events, a chunk of four (the finish reason), then a bad chunk.
BODY = "".join(
    f"data: {json.dumps(payload)}\n\n"
    for payload in (
        ch(role="assistant", content=""),
        ch(content="hi", finish="stop"),
        ch(content=5),
    )
).encode()
WHOLE = ["ChunkEvent", "ContentDelta", "ChunkEvent", "ContentDelta", "ContentDone",
         "ChoiceFinished", "ChunkParseError"]  # fmt: skip


def names(items: list[Any]) -> list[str]:
    return [type(item).__name__ for item in items]


def read_broken_off(mode: str, body: bytes, stops: list[int]) -> list[Any]:
    """Read ``body``'s events, leaving the iterator once ``stops[i]`` events were read
    and going on with a new ``events()`` iterator (even ``i``) or the same one (odd);
    the error, if any, is the last item."""
    items: list[Any] = []

    if mode == "sync":
        stream = ChatStream([body])
        iterator = stream.events()
        try:
            for number, stop in enumerate([*stops, -1]):
                for event in iterator:
                    items.append(event)
                    if len(items) == stop:
                        break
                if number % 2 == 0:
                    iterator = stream.events()
        except SSEStreamError as exc:
            items.append(exc)
        return items

    async def main() -> list[Any]:
        astream = AsyncChatStream([body])
        aiterator = astream.events()
        try:
            for number, stop in enumerate([*stops, -1]):
                async for event in aiterator:
                    items.append(event)
                    if len(items) == stop:
                        break
                if number % 2 == 0:
                    aiterator = astream.events()
        except SSEStreamError as exc:
            items.append(exc)
        return items

    return anyio.run(main, backend=mode)


@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
@pytest.mark.parametrize("stops", [[], [1], [1, 2], [3], [3, 4, 5], [1, 3, 5, 6]])
def test_events_left_by_a_break_come_next_and_the_error_after_them(
    mode: str, stops: list[int]
) -> None:
    # A break in the middle of a chunk's events leaves the rest in the parser's queue:
    # the same iterator or a new one hands them out, then the error, exactly as a read
    # that never broke off.
    items = read_broken_off(mode, BODY, stops)
    assert names(items) == WHOLE
    assert isinstance(items[-1], ChunkParseError)
    assert items[-1].completion.choices[0].message.content == "hi"


@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
def test_closing_after_a_break_ends_the_events_interrupted(mode: str) -> None:
    # Closed after the first event: the iterator still hands out the event its chunk
    # queued, then the *Done of what is open and StreamEnded (interrupted); the stream
    # gives no new iterator; the next chunk, already read, is not taken.
    async def main() -> tuple[list[Any], bool, bool]:
        astream = AsyncChatStream([BODY])
        aiterator = astream.events()
        first = await aiterator.__anext__()
        await astream.aclose()
        rest = [event async for event in aiterator]
        with pytest.raises(RuntimeError):
            astream.events()
        return [first, *rest], astream.interrupted, bool([e async for e in aiterator])

    if mode == "sync":
        stream = ChatStream([BODY])
        iterator = stream.events()
        first = next(iterator)
        stream.close()
        events, interrupted, again = [first, *iterator], stream.interrupted, bool(list(iterator))
        with pytest.raises(RuntimeError):
            stream.events()
    else:
        events, interrupted, again = anyio.run(main, backend=mode)
    assert names(events) == ["ChunkEvent", "ContentDelta", "ContentDone", "StreamEnded"]
    assert (events[-1].done, events[-1].interrupted, interrupted, again) == (
        False,
        True,
        True,
        False,
    )


def test_next_event_and_events_share_one_queue() -> None:
    # The sans-IO pull and the stream's iterator hand out the same queue: an event
    # taken with next_event is not handed out again by events().
    stream = ChatStream([BODY])
    iterator = stream.events()
    first = next(iterator)
    parser: ChatStreamParser = stream.parser
    second = parser.next_event()
    rest: list[Any] = []
    try:
        for event in iterator:
            rest.append(event)  # noqa: PERF402 (what came before the error is kept)
    except ChunkParseError as exc:
        rest.append(exc)
    assert names([first, second, *rest]) == WHOLE


@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
def test_an_error_in_events_already_read_ends_the_stream_as_the_pull_does(mode: str) -> None:
    # The bad chunk is in the read that brought the good ones: the events iterator
    # takes it without the reader's pull, and the stream still ends as after any
    # error: the error recorded, the source closed, nothing more to iterate.
    closed: list[bool] = []

    def source() -> Any:
        try:
            yield BODY
            yield b"data: [DONE]\n\n"
        finally:
            closed.append(True)

    async def main() -> tuple[Any, Any]:
        astream = AsyncChatStream(source())
        with pytest.raises(ChunkParseError) as caught:
            async for _ in astream.events():
                pass
        return astream, caught.value

    if mode == "sync":
        stream: Any = ChatStream(source())
        with pytest.raises(ChunkParseError) as caught:
            for _ in stream.events():
                pass
        error: Any = caught.value
    else:
        stream, error = anyio.run(main, backend=mode)
    assert stream.error is error
    assert closed == [True]
    assert stream.interrupted
    with pytest.raises(RuntimeError):
        stream.events()
