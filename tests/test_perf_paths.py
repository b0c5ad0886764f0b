"""The shortcuts of performance round 2 (issue 14) give what the general path gives.

The decoder turns the usual blocks into events without its line loop: several one-line
``data:`` events in one block (large reads), and an event with an ``event:`` line (the
Responses API), in one block or after a block that was that line. Streams made of those
shapes and of every shape that must leave the shortcuts (pending data, ``id:``,
``retry:``, comments, ``data:`` without its space, CR line ends, blank lines) are
decoded against the spec's algorithm transcribed (``test_decoder.reference_decode``),
fed whole and cut anywhere. ``ChatCompletionChunk.choices`` is made once and kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_decoder import feed_reads, reference_decode

from ssestream import (
    ChatCompletionAccumulator,
    ChatCompletionChunk,
    ChatStream,
    ChunkParseError,
    LimitExceededError,
    ServerSentEvent,
    SSEDecoder,
)
from ssestream._types import ChoiceDelta, ChunkChoice

FIXTURES = Path(__file__).parent / "fixtures"

# Blocks of the shapes the shortcuts take, and of the shapes next to them.
_VALUES = st.sampled_from(["{}", '{"a": 1}', "", " x", "é\u2028ü", "[DONE]", "data: y", "ab"])
_NAMES = st.sampled_from(["", "x", " y", "response.output_text.delta", "message"])
_LINE_ENDS = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"])


@st.composite
def blocks(draw: st.DrawFn) -> str:
    end = draw(_LINE_ENDS)
    value = draw(_VALUES)
    name = draw(_NAMES)
    shapes = [
        f"data: {value}{end}{end}",
        f"data:{value}{end}{end}",
        f"event: {name}{end}data: {value}{end}{end}",
        f"event:{name}{end}data:{value}{end}{end}",
        f"event: {name}{end}",
        f"data: {value}{end}",
        f"data: {value}{end}data: {value}{end}{end}",
        f"id: {name}{end}",
        f"retry: 1{end}",
        f": comment{end}",
        f"{end}",
        f"data{end}{end}",
        f"event: {name}{end}event: {name}{end}data: {value}{end}{end}",
    ]
    return draw(st.sampled_from(shapes))


def cuts(stream: bytes, sizes: list[int]) -> list[bytes]:
    """``stream`` cut into reads of the given sizes, in turn."""
    reads = []
    position = 0
    turn = 0
    while position < len(stream):
        size = sizes[turn % len(sizes)]
        reads.append(stream[position : position + size])
        position += size
        turn += 1
    return reads


@settings(max_examples=400, deadline=None)
@given(
    st.lists(blocks(), max_size=30),
    st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=5),
)
def test_usual_blocks_decode_as_the_spec_says_however_cut(
    parts: list[str], sizes: list[int]
) -> None:
    stream = "".join(parts).encode()
    expected = reference_decode(stream)
    assert feed_reads([stream]) == expected
    assert feed_reads(cuts(stream, sizes)) == expected
    assert feed_reads([stream[i : i + 1] for i in range(len(stream))]) == expected
    # Cut between blocks, a few blocks per read (sizes as block counts): the reads the
    # block shortcuts see, after the state earlier reads left (an id, a pending type).
    groups = [1 + size % 4 for size in sizes]
    assert feed_reads(cuts_between(parts, groups)) == expected


def cuts_between(parts: list[str], groups: list[int]) -> list[bytes]:
    """``parts`` joined into reads of the given numbers of parts, in turn."""
    reads = []
    position = 0
    turn = 0
    while position < len(parts):
        count = groups[turn % len(groups)]
        reads.append("".join(parts[position : position + count]).encode())
        position += count
        turn += 1
    return reads


def events_until_error(
    reads: list[bytes], max_line: int, max_event: int
) -> tuple[list[ServerSentEvent], tuple[str, int, bool] | None]:
    """The events of ``reads`` up to a limit error, and which limit was passed where
    (and whether the size reported is past it)."""
    decoder = SSEDecoder(max_line_bytes=max_line, max_event_bytes=max_event)
    events: list[ServerSentEvent] = []
    try:
        for read in reads:
            events += decoder.feed(read)
    except LimitExceededError as error:
        return events + error.events, (error.limit_name, error.offset, error.size > error.limit)
    return events, None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(blocks(), max_size=20),
    st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=4),
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=1, max_value=60),
)
def test_limits_near_usual_blocks_do_not_depend_on_the_cuts(
    parts: list[str], sizes: list[int], max_line: int, max_event: int
) -> None:
    # The shortcuts are only taken when no limit is within reach: near a limit, the
    # error (which limit, where) and the events before it are the line loop's, whatever
    # the cuts. (An unterminated line is refused as soon as it passes the limit, so
    # the size it had then depends on the cuts; it is past the limit either way.)
    stream = "".join(parts).encode()
    whole = events_until_error([stream], max_line, max_event)
    cut = events_until_error(cuts(stream, sizes), max_line, max_event)
    assert cut == whole


def test_a_block_of_many_data_events_keeps_the_last_event_id() -> None:
    first = b'id: 7\ndata: {"a": 1}\n\n'
    then = b'data: {"b": 2}\n\ndata: {"c": 3}\n\n' * 3
    outcome = feed_reads([first, then])
    assert [e.id for e in outcome.events] == ["7"] * 7
    assert outcome == reference_decode(first + then)


def test_feed_positions_gives_each_end_in_a_block_of_many_events() -> None:
    stream = b"data: a\n\ndata: bb\n\nevent: x\ndata: c\n\n"
    decoder = SSEDecoder()
    pairs = decoder.feed_positions(stream)
    assert [end for end, _ in pairs] == [9, 19, 37]
    assert [(e.event, e.data) for _, e in pairs] == [
        ("message", "a"),
        ("message", "bb"),
        ("x", "c"),
    ]


def test_recordings_in_large_reads_are_the_spec_events() -> None:
    # Every recording (chat and Responses) in the read sizes where the block shortcuts
    # are taken: whole events per read, and 4096-byte reads.
    recordings = sorted(FIXTURES.rglob("*.sse"))
    assert len(recordings) >= 50
    for path in recordings:
        stream = path.read_bytes()
        assert feed_reads(cuts(stream, [4096])) == reference_decode(stream), path.name
        per_event = [part + b"\n\n" for part in stream.split(b"\n\n") if part]
        assert feed_reads(per_event) == reference_decode(b"".join(per_event)), path.name


# --------------------------------------------------------------------------- views


def test_choices_is_made_once_and_kept() -> None:
    payload = {"choices": [{"index": 0, "delta": {"content": "Hi"}}, "not an object"]}
    chunk = ChatCompletionChunk(payload)
    first = chunk.choices
    assert first is chunk.choices  # the guarded `if chunk.choices: chunk.choices[0]`
    assert [type(choice) for choice in first] == [ChunkChoice]
    assert first[0].delta == ChoiceDelta({"content": "Hi"})
    assert first[0].delta.content == "Hi"
    # Changing the list changes later reads of this chunk, never the payload.
    first.clear()
    assert chunk.choices == []
    assert len(payload["choices"]) == 2


def test_choices_of_a_stream_read_twice_are_the_same_views() -> None:
    body = (
        FIXTURES / "openai" / "parse_pydantic_model_multiple_choices__a491adda08c3.sse"
    ).read_bytes()
    texts = []
    for chunk in ChatStream([body]):
        if chunk.choices:
            assert chunk.choices is chunk.choices
            texts.append(chunk.choices[0].delta.content or "")
    expected = [
        json.loads(part[6:])["choices"][0]["delta"].get("content") or ""
        for part in body.split(b"\n\n")
        if part.startswith(b"data: {") and json.loads(part[6:])["choices"]
    ]
    assert texts == expected


# --------------------------------------------------------------------------- accumulator


def test_usage_null_beside_another_null_keeps_the_last_non_null_values() -> None:
    # OpenAI's "usage": null on every chunk takes the envelope's C-level update when it
    # is the only null; a second null (or none with usage absent) takes the filter.
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    delta = {"index": 0, "delta": {"content": "a"}, "finish_reason": None}
    accumulator = ChatCompletionAccumulator()
    for extra in (
        {"system_fingerprint": "fp_1", "usage": None},
        {"system_fingerprint": None, "usage": None, "service_tier": "default"},
        {"usage": None, "service_tier": None, "obfuscation": "xyz"},
        {"system_fingerprint": None},
        {"usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
    ):
        accumulator.add({**base, **extra, "choices": [delta]})
    raw = accumulator.completion.to_dict()
    assert raw["system_fingerprint"] == "fp_1"
    assert raw["service_tier"] == "default"
    assert raw["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert "obfuscation" not in raw
    assert raw["choices"][0]["message"]["content"] == "aaaaa"


def _tool_stream(general: bool) -> list[dict[str, Any]]:
    """Two tool calls of a choice in argument fragments, then a repeated index with a
    new id (a new call); ``general`` adds a null field to every fragment, which keeps
    it off the accumulator's shortcut for a bare arguments fragment."""

    def fragment(index: int, text: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"index": index, "function": {"arguments": text}}
        if general:
            entry["type"] = None
        return {"choices": [{"index": 0, "delta": {"tool_calls": [entry]}}]}

    def start(index: int, call_id: str, name: str) -> dict[str, Any]:
        entry = {"index": index, "id": call_id, "type": "function", "function": {"name": name}}
        return {"choices": [{"index": 0, "delta": {"tool_calls": [entry]}}]}

    chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    chunks += [start(0, "call_a", "f"), fragment(0, ""), fragment(0, '{"a":')]
    chunks += [start(1, "call_b", "g"), *(fragment(1, f"{i},") for i in range(100))]
    chunks += [fragment(0, " 1}"), start(0, "call_c", "h"), fragment(0, "{}")]
    return chunks


def test_a_bare_arguments_fragment_merges_and_routes_as_the_general_path() -> None:
    outcomes = []
    for general in (False, True):
        accumulator = ChatCompletionAccumulator()
        routes = accumulator.record_routes()
        for chunk in _tool_stream(general):
            accumulator.add(chunk)
        calls: dict[int, int] = {}  # the call states, numbered in order of appearance
        logged = [
            (kind, choice, position, calls.setdefault(id(call), len(calls)), text)
            for kind, choice, position, call, text in routes
        ]
        outcomes.append((accumulator.completion.to_dict(), logged))
    assert outcomes[0] == outcomes[1]
    completion, logged = outcomes[0]
    tool_calls = completion["choices"][0]["message"]["tool_calls"]
    assert [call["function"]["arguments"] for call in tool_calls] == [
        '{"a": 1}',
        "".join(f"{i}," for i in range(100)),
        "{}",
    ]
    assert len(logged) == 107


# The accumulator's early return (one choice adding one text or arguments fragment, and
# nothing else but the envelope) is not taken with keep_chunks=True: the two must merge,
# route and reject alike.
_ENVELOPE = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
# Mostly the shortcut's shape (finish_reason and logprobs present and null), then each
# way out of it.
_CHOICE_KEYS = st.sampled_from(
    [
        {"finish_reason": None, "logprobs": None},
        {"finish_reason": None, "logprobs": None},
        {"finish_reason": None, "logprobs": None},
        {"finish_reason": None},
        {"logprobs": None},
        {"finish_reason": "stop", "logprobs": None},
        {"finish_reason": 3, "logprobs": None},
        {"finish_reason": None, "logprobs": {"content": []}},
        {"finish_reason": None, "extra": 1},
        {"finish_reason": None, "logprobs": None, "extra": None},
    ]
)
_PLAIN_DELTAS: list[dict[str, Any]] = [
    {"content": "a"},
    {"content": "b"},
    {"content": ""},
    {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]},
    {"tool_calls": [{"index": 1, "function": {"arguments": "1"}}]},
    {"tool_calls": [{"index": 0, "id": "x", "function": {"name": "f", "arguments": ""}}]},
    {"tool_calls": [{"index": 1, "id": "y", "function": {"name": "g", "arguments": ""}}]},
]
_DELTAS: list[dict[str, Any]] = [
    *_PLAIN_DELTAS,
    {"content": 5},
    {"content": ["x"]},
    {"content": "b", "role": "assistant"},
    {"refusal": "r"},
    {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]},
    {"tool_calls": [{"index": 1, "function": {"arguments": "1"}}]},
    {"tool_calls": [{"index": 0, "id": "x", "function": {"name": "f", "arguments": ""}}]},
    {"tool_calls": [{"index": "0", "function": {"arguments": "1"}}]},
    {},
]
_TOPS = st.fixed_dictionaries(
    {},
    optional={
        "usage": st.sampled_from([None, None, {"total_tokens": 3}, 4]),
        "obfuscation": st.sampled_from(["xy", "z", None]),
        "system_fingerprint": st.sampled_from(["fp_1", "fp_2", None]),
        "service_tier": st.sampled_from(["default", "flex", None]),
        "x_groq": st.sampled_from([{"id": "g"}, {"usage": {"total_tokens": 9}}]),
    },
)


@st.composite
def plain_chunks(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly OpenAI's usual chunk (the early return's shape, the envelope's values
    changing), else any mix of the ways out of it."""
    if draw(st.integers(0, 2)):
        delta = draw(st.sampled_from(_PLAIN_DELTAS))
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
        tops = {
            "system_fingerprint": draw(st.sampled_from(["fp_1", "fp_2"])),
            "service_tier": draw(st.sampled_from(["default", "flex", None])),
            "usage": None,
        }
        return {**_ENVELOPE, **tops, "choices": [choice]}
    choices = []
    for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
        choice = {"index": draw(st.sampled_from([0, 0, 1, None, "0"])), **draw(_CHOICE_KEYS)}
        if draw(st.integers(0, 9)):
            choice["delta"] = draw(st.sampled_from(_DELTAS))
        choices.append(choice)
    envelope = {key: value for key, value in _ENVELOPE.items() if draw(st.integers(0, 9))}
    return {**envelope, **draw(_TOPS), "choices": choices}


def _rejection(accumulator: ChatCompletionAccumulator, chunk: dict[str, Any]) -> str | None:
    """Add the chunk; the ChunkParseError's message if it is refused."""
    try:
        accumulator.add(chunk)
    except ChunkParseError as exc:
        return str(exc)
    return None


@settings(max_examples=400, deadline=None)
@given(st.lists(plain_chunks(), max_size=25))
def test_the_early_return_merges_routes_and_rejects_as_the_general_path(
    chunks: list[dict[str, Any]],
) -> None:
    outcomes = []
    for keep in (False, True):
        accumulator = ChatCompletionAccumulator(keep_chunks=keep)
        routes = accumulator.record_routes()
        errors = [_rejection(accumulator, chunk) for chunk in chunks]
        calls: dict[int, int] = {}
        logged = [
            tuple(calls.setdefault(id(x), len(calls)) if hasattr(x, "arguments") else x for x in r)
            for r in routes
        ]
        outcomes.append((accumulator.completion.to_dict(), logged, errors))
    assert outcomes[0] == outcomes[1]
