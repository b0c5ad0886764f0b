"""The accumulator under hostile chunks: only ChunkParseError escapes, nothing is mutated.

Issue 8, items 2, 4 and 16: a list in a delta field that became a bare ``TypeError`` (and
an unreadable completion), lists joined blindly (``["a", "b"]`` became ``"ab"``), the
caller's chunks rewritten in place, a quadratic ``reasoning_details`` merge, and identity
rules that no test pinned down. Each break has a regression test here; then Hypothesis
states the promise over chunk dicts built from the schema with wrong types, nulls, odd
indexes and nested garbage; then the merges' growth is measured at two sizes.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssestream import ChatCompletionAccumulator, ChunkParseError, StreamAPIError, _accumulator


def chunk(*choices: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", **envelope, "choices": list(choices)}


def choice(index: int = 0, finish_reason: Any = None, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish_reason}


def message(accumulator: ChatCompletionAccumulator, index: int = 0) -> dict[str, Any]:
    return accumulator.completion.to_dict()["choices"][index]["message"]


def fed(*payloads: dict[str, Any]) -> ChatCompletionAccumulator:
    accumulator = ChatCompletionAccumulator()
    for payload in payloads:
        accumulator.add(payload)
    return accumulator


# --------------------------------------------------------------------------- item 2


SEGMENTS = {"segments": [{"s": 0}, {"s": 1}]}


def test_a_list_of_objects_in_a_delta_field_is_kept_as_sent() -> None:
    # Was: TypeError "sequence item 0: expected str instance, dict found" on every read.
    accumulator = fed(chunk(choice(content="a", audio=copy.deepcopy(SEGMENTS))))
    assert message(accumulator)["audio"] == SEGMENTS
    assert message(accumulator)["content"] == "a"


def test_a_list_of_strings_in_a_delta_field_is_not_joined() -> None:
    # Was: ["a", "b"] read back as "ab". The last value wins, as sent.
    accumulator = fed(
        chunk(choice(audio={"transcript": "Hel", "segments": ["a", "b"]})),
        chunk(choice(audio={"transcript": "lo", "segments": ["c"]})),
    )
    assert message(accumulator)["audio"] == {"transcript": "Hello", "segments": ["c"]}
    assert message(accumulator)["audio"] == {"transcript": "Hello", "segments": ["c"]}


def test_a_list_in_a_delta_field_then_an_error_event_keeps_the_completion(twin: Any) -> None:
    # The stream: the error must be the server's, with the completion attached.
    first = chunk(choice(role="assistant", content="Hi", audio=SEGMENTS), id="c1")
    error = {"error": {"message": "overloaded", "type": "server_error"}}
    body = f"data: {json.dumps(first)}\n\ndata: {json.dumps(error)}\n\n".encode()
    run = twin.read([body[:40], body[40:]], raises=StreamAPIError)
    assert run.error.message == "overloaded"
    for completion in (run.error.completion, run.stream.completion):
        assert completion.choices[0].message.content == "Hi"
        assert completion.choices[0].message.get("audio") == SEGMENTS
        json.dumps(completion.to_dict())


def test_an_audio_list_is_not_rewritten_in_place() -> None:
    payloads = [
        chunk(choice(audio={"data": "AA", "segments": ["a", "b"]})),
        chunk(choice(audio={"data": "BB"})),
    ]
    original = copy.deepcopy(payloads)
    accumulator = fed(*payloads)
    accumulator.completion  # noqa: B018 (reading joined lists in place, before)
    accumulator.completion  # noqa: B018
    assert payloads == original


def test_an_earlier_chunks_list_is_not_extended() -> None:
    # A provider's own "content_parts" list, then a Mistral part of an unknown type:
    # the part was appended to the earlier chunk's list.
    image = {"type": "image_url", "image_url": {"url": "u"}}
    payloads = [
        chunk(choice(content_parts=[{"type": "x"}])),
        chunk(choice(content=[image])),
        chunk(choice(content=[{"type": "text", "text": "t"}, {"type": "other"}])),
    ]
    original = copy.deepcopy(payloads)
    accumulator = fed(*payloads)
    assert payloads == original
    m = message(accumulator)
    assert m["content"] == "t"
    assert m["content_parts"] == [image, {"type": "other"}]


def test_logprobs_of_an_unexpected_shape_are_kept_as_sent() -> None:
    # content as an object, then as a list: replaced, never extended in place.
    token = {"token": "a", "logprob": -1.0, "bytes": [97], "top_logprobs": []}
    payloads = [
        {"choices": [{"index": 0, "delta": {}, "logprobs": {"content": {"odd": 1}}}]},
        {"choices": [{"index": 0, "delta": {}, "logprobs": {"content": [token]}}]},
        {"choices": [{"index": 0, "delta": {}, "logprobs": {"content": [token]}}]},
    ]
    original = copy.deepcopy(payloads)
    accumulator = fed(*payloads)
    assert payloads == original
    logprobs = accumulator.completion.to_dict()["choices"][0]["logprobs"]
    assert logprobs["content"] == [token, token]


def test_reasoning_details_entries_are_not_changed() -> None:
    entries = [{"type": "reasoning.text", "text": "a", "index": 0, "extra": {"k": [1]}}]
    payloads = [
        chunk(choice(reasoning_details=entries)),
        chunk(choice(reasoning_details=[{"text": "b", "index": 0, "extra": {"k": [2]}}])),
        chunk(choice(reasoning_details=[{"text": "c", "index": 0}])),
    ]
    original = copy.deepcopy(payloads)
    accumulator = fed(*payloads)
    accumulator.completion  # noqa: B018
    assert payloads == original
    (detail,) = message(accumulator)["reasoning_details"]
    assert detail == {"type": "reasoning.text", "text": "abc", "index": 0, "extra": {"k": [2]}}


def test_reasoning_details_text_that_is_not_text_is_kept_as_sent() -> None:
    accumulator = fed(
        chunk(choice(reasoning_details=[{"index": 0, "summary": ["a", "b"]}])),
        chunk(choice(reasoning_details=[{"index": 0, "summary": ["c"]}])),
    )
    assert message(accumulator)["reasoning_details"] == [{"index": 0, "summary": ["c"]}]


# --------------------------------------------------------------------------- the checks


def test_a_bug_in_the_merge_code_is_not_reported_as_a_bad_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Was: every TypeError/AttributeError/ValueError became ChunkParseError.
    def broken(self: Any, delta: Any) -> None:
        raise AttributeError("a bug in ssestream")

    monkeypatch.setattr(_accumulator._ChoiceState, "delta", broken)
    accumulator = ChatCompletionAccumulator()
    with pytest.raises(AttributeError, match="a bug in ssestream"):
        accumulator.add(chunk(choice(role="assistant", content="x")))


BAD_FIELDS = [
    # (chunk, the field path the message names)
    ({"choices": [{"index": True, "delta": {}}]}, "choices[0].index is a boolean"),
    ({"choices": [{"index": 0.0, "delta": {}}]}, "choices[0].index is a number"),
    ({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": True}]}}]},
     "choices[0].delta.tool_calls[0].index is a boolean"),
    ({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": "0"}]}}]},
     "choices[0].delta.tool_calls[0].index is a string"),
    ({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": 7}]}}]},
     "choices[0].delta.tool_calls[0].id is a number"),
    ({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "type": ["f"]}]}}]},
     "choices[0].delta.tool_calls[0].type is an array"),
    ({"choices": [{"index": 0, "delta": {"tool_calls": [{"function": {"name": {}}}]}}]},
     "choices[0].delta.tool_calls[0].function.name is an object"),
    ({"choices": [{"index": 0, "delta": {"tool_calls": [{"function": {"arguments": 5}}]}}]},
     "choices[0].delta.tool_calls[0].function.arguments is a number"),
    ({"choices": [{"index": 0, "delta": {"role": ["assistant"]}}]},
     "choices[0].delta.role is an array"),
    ({"choices": [{"index": 0, "delta": {"reasoning_details": [{"index": 0.5}]}}]},
     "choices[0].delta.reasoning_details[0].index is a number"),
    ({"choices": [{"index": 0, "delta": {"function_call": {"arguments": False}}}]},
     "choices[0].delta.function_call.arguments is a boolean"),
    ({"choices": [{"index": 0, "delta": {"audio": {"data": 1}}}]},
     "choices[0].delta.audio.data is a number"),
    ({"choices": [{"index": 0, "delta": [], "finish_reason": None}]},
     "choices[0].delta is an array"),
    ({"choices": [{"index": 0, "finish_reason": 1}]}, "choices[0].finish_reason is a number"),
    ({"choices": {}}, "choices is an object"),
    ({"choices": ""}, "choices is a string"),
    ({"id": 5, "choices": []}, "id is a number"),
    ({"model": ["m"]}, "model is an array"),
    ({"created": "1700000000"}, "created is a string"),
    ({"created": True}, "created is a boolean"),
]  # fmt: skip


# Bad whatever came before (id, model and created are checked only until they are set).
ALWAYS_BAD = [bad for bad, _ in BAD_FIELDS if bad.keys() <= {"choices"}]


@pytest.mark.parametrize(("bad", "named"), BAD_FIELDS)
def test_a_field_of_the_wrong_type_is_named(bad: dict[str, Any], named: str) -> None:
    accumulator = (
        fed(chunk(choice(content="a"), id="x", model="m", created=1))
        if ("id" not in bad and "model" not in bad and "created" not in bad)
        else ChatCompletionAccumulator()
    )
    before = accumulator.completion
    with pytest.raises(ChunkParseError) as info:
        accumulator.add(bad)
    assert named in str(info.value)
    assert info.value.__cause__ is None
    assert accumulator.completion == before


def test_a_bool_tool_call_index_does_not_continue_call_1() -> None:
    # Was: True == 1 as a dict key, so the fragment went into call 1.
    accumulator = fed(chunk(choice(tool_calls=[{"index": 1, "id": "a", "function": {}}])))
    with pytest.raises(ChunkParseError):
        accumulator.add(chunk(choice(tool_calls=[{"index": True, "function": {"arguments": "x"}}])))
    assert message(accumulator)["tool_calls"][0]["function"]["arguments"] == ""


def test_a_rejected_chunk_changes_nothing() -> None:
    # Was: the fields before the bad one were merged (choice 0, the tool call before the
    # bad entry, the envelope's id).
    good = chunk(choice(content="a"))
    bad_chunks = [
        chunk(choice(0, content="b"), choice(1, content=5), id="late"),
        chunk(choice(0, tool_calls=[{"index": 0, "id": "c", "function": {"name": "f"}},
                                    {"index": 1, "id": 9}])),
        chunk(choice(0, "stop", content="b", reasoning_details=[{"index": 0, "text": "x"},
                                                                 {"index": 0, "text": []}]),
              usage={"total_tokens": 1}),
        {"id": "late", "choices": [{"index": 0, "delta": {"content": "b"}, "logprobs": 5}]},
        {"id": "late", "usage": 5},
    ]  # fmt: skip
    for bad in bad_chunks:
        accumulator = fed(good)
        before = accumulator.completion
        with pytest.raises(ChunkParseError):
            accumulator.add(bad)
        assert accumulator.completion == before
        assert accumulator.chunk_count == 2
        accumulator.add(chunk(choice(0, "stop", content="c"), id="i"))
        assert accumulator.completion.choices[0].message.content == "ac"
        assert accumulator.completion.id == "i"


def test_text_then_not_text_in_a_reasoning_detail_in_one_chunk_is_refused_whole() -> None:
    accumulator = ChatCompletionAccumulator()
    with pytest.raises(ChunkParseError, match="earlier fragments of entry 0 were text"):
        accumulator.add(
            chunk(choice(reasoning_details=[{"index": 0, "text": "a"}, {"index": 0, "text": 1}]))
        )
    assert accumulator.completion.choices == []


def test_keep_chunks_keeps_only_the_chunks_merged() -> None:
    accumulator = ChatCompletionAccumulator(keep_chunks=True)
    accumulator.add(chunk(choice(content="a")))
    with pytest.raises(ChunkParseError):
        accumulator.add({"choices": 5})
    accumulator.add(chunk(choice(content="b")))
    assert [c.choices[0].delta.content for c in accumulator.chunks] == ["a", "b"]
    assert accumulator.chunk_count == 3


# --------------------------------------------------------------------------- item 16


def test_role_keeps_its_first_non_empty_value() -> None:
    accumulator = fed(chunk(choice(role="")), chunk(choice(role="assistant")),
                      chunk(choice(role="developer")))  # fmt: skip
    assert message(accumulator)["role"] == "assistant"


def test_tool_call_type_and_name_keep_their_first_non_empty_value() -> None:
    accumulator = fed(
        chunk(choice(tool_calls=[{"index": 0, "id": "c", "type": "",
                                  "function": {"name": "", "arguments": "{"}}])),
        chunk(choice(tool_calls=[{"index": 0, "type": "function",
                                  "function": {"name": "get_weather", "arguments": "}"}}])),
        chunk(choice(tool_calls=[{"index": 0, "type": "custom",
                                  "function": {"name": "get_time", "arguments": ""}}])),
    )  # fmt: skip
    (call,) = message(accumulator)["tool_calls"]
    assert call == {
        "id": "c",
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
    }


def test_tool_call_id_keeps_its_first_value_without_index() -> None:
    # Without an index, a new id starts a new call: the first call keeps its id and
    # name, the second gets its own.
    accumulator = fed(
        chunk(choice(tool_calls=[{"id": "a", "function": {"name": "f", "arguments": "{}"}}])),
        chunk(choice(tool_calls=[{"id": "b", "function": {"name": "g", "arguments": "[]"}}])),
    )
    calls = message(accumulator)["tool_calls"]
    assert [(c["id"], c["function"]["name"]) for c in calls] == [("a", "f"), ("b", "g")]


def test_legacy_function_call_name_keeps_its_first_value() -> None:
    accumulator = fed(
        chunk(choice(function_call={"name": "f", "arguments": "{"})),
        chunk(choice(function_call={"name": "g", "arguments": "}"})),
    )
    assert message(accumulator)["function_call"] == {"name": "f", "arguments": "{}"}


def test_envelope_identity_keeps_its_first_non_empty_value() -> None:
    accumulator = fed(
        chunk(id="", model="", created=0),
        chunk(id="a", model="m1", created=1),
        chunk(id="b", model="m2", created=2),
    )
    completion = accumulator.completion
    assert (completion.id, completion.model, completion.created) == ("a", "m1", 1)


def test_audio_id_keeps_its_first_value() -> None:
    accumulator = fed(chunk(choice(audio={"id": "a1"})), chunk(choice(audio={"id": "a2"})))
    assert message(accumulator)["audio"] == {"id": "a1"}


# --------------------------------------------------------------------------- Hypothesis

JSON_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
ODD_INDEX = st.one_of(
    st.integers(0, 3),
    st.none(),
    st.one_of(
        st.integers(-(2**70), -1),
        st.integers(2**31, 2**70),
        st.booleans(),
        JSON_FLOATS,
        st.text(max_size=3),
    ),
)
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), JSON_FLOATS, st.text(max_size=8)
)
JUNK = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
TEXT = st.text(max_size=6)
# A provider's own field: anything, often a list of several texts or objects (what was
# joined blindly, or broke the join).
EXTRA = st.one_of(
    JUNK,
    st.lists(st.one_of(TEXT, st.dictionaries(TEXT, SCALAR, max_size=2)), min_size=2, max_size=3),
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The schema's type half the time, else null or garbage."""
    return st.one_of(strategy, st.one_of(st.none(), JUNK))


def record(
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]],
    *,
    at_least: int = 0,
) -> st.SearchStrategy[dict[str, Any]]:
    """An object of the schema: the required fields, ``at_least`` to 3 of the optional
    ones, and now and then a field of a provider's own."""
    fields = [st.tuples(st.just(key), value) for key, value in optional.items()]
    fields.append(st.tuples(st.sampled_from(["x_extra", "segments", "obfuscation"]), EXTRA))
    some = st.lists(st.one_of(fields), min_size=at_least, max_size=3).map(dict)
    return st.builds(
        lambda known, chosen: {**chosen, **known}, st.fixed_dictionaries(required), some
    )


FUNCTION = record({}, {"name": maybe(TEXT), "arguments": maybe(st.one_of(TEXT, JUNK))})
TOOL_CALL = record(
    {},
    {
        "index": ODD_INDEX,
        "id": maybe(st.sampled_from(["", "call_a", "call_b"])),
        "type": maybe(st.sampled_from(["", "function", "custom"])),
        "function": maybe(FUNCTION),
    },
)
DETAIL = record(
    {},
    {
        "index": ODD_INDEX,
        "type": maybe(st.sampled_from(["reasoning.text", "reasoning.summary"])),
        "text": maybe(TEXT),
        "summary": maybe(TEXT),
        "data": maybe(TEXT),
        "signature": maybe(TEXT),
    },
)
PART = st.one_of(
    record({"type": st.just("text")}, {"text": maybe(TEXT)}),
    record(
        {"type": st.just("thinking")},
        {
            "thinking": maybe(
                st.one_of(
                    TEXT, st.lists(st.one_of(TEXT, record({}, {"text": maybe(TEXT)})), max_size=3)
                )
            )
        },
    ),
    record({"type": maybe(TEXT)}, {}),
    JUNK,
)
AUDIO = record({}, {"id": maybe(TEXT), "data": maybe(TEXT), "transcript": maybe(TEXT),
                    "expires_at": maybe(st.integers())}, at_least=1)  # fmt: skip
DELTA = record(
    {},
    {
        "role": maybe(st.sampled_from(["", "assistant", "tool"])),
        "content": maybe(st.one_of(TEXT, st.lists(PART, max_size=3))),
        "refusal": maybe(TEXT),
        "reasoning_content": maybe(TEXT),
        "reasoning": maybe(TEXT),
        "tool_calls": maybe(st.lists(maybe(TOOL_CALL), max_size=3)),
        "function_call": maybe(FUNCTION),
        "reasoning_details": maybe(st.lists(maybe(DETAIL), max_size=3)),
        "annotations": maybe(st.lists(JUNK, max_size=2)),
        "audio": maybe(AUDIO),
    },
    at_least=1,
)
TOKEN = record(
    {"token": TEXT, "logprob": JSON_FLOATS}, {"bytes": maybe(st.lists(st.integers(0, 255)))}
)
LOGPROBS = record({}, {"content": maybe(st.lists(TOKEN, max_size=2)),
                       "refusal": maybe(st.lists(TOKEN, max_size=2))})  # fmt: skip
CHOICE = record(
    {"index": ODD_INDEX, "delta": maybe(DELTA)},
    {
        "finish_reason": maybe(st.sampled_from(["stop", "length", "tool_calls"])),
        "logprobs": maybe(LOGPROBS),
    },
)
CHUNK = record(
    {"choices": maybe(st.lists(maybe(CHOICE), min_size=1, max_size=2))},
    {
        "id": maybe(st.sampled_from(["", "chatcmpl-1", "chatcmpl-2"])),
        "model": maybe(st.sampled_from(["", "m"])),
        "created": maybe(st.integers(0, 2**40)),
        "object": maybe(st.just("chat.completion.chunk")),
        "usage": maybe(st.dictionaries(st.sampled_from(["total_tokens", "cost"]), SCALAR)),
    },
)
STREAM = st.lists(CHUNK, min_size=1, max_size=6)


@st.composite
def well_formed_with_extras(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed chunk (text, audio, a tool call, a reasoning detail, logprobs) with
    a provider's own field of any shape at every level: what no rule may join."""

    def extra() -> dict[str, Any]:
        return draw(st.dictionaries(st.sampled_from(["segments", "x_extra"]), EXTRA, max_size=1))

    delta = {
        "content": draw(TEXT),
        "audio": {"transcript": draw(TEXT), **extra()},
        "tool_calls": [{"index": 0, "function": {"arguments": draw(TEXT), **extra()}, **extra()}],
        "reasoning_details": [{"index": 0, "text": draw(TEXT), **extra()}],
        **extra(),
    }
    logprobs = {"content": [], **extra()}
    return {"choices": [{"index": 0, "delta": delta, "logprobs": logprobs, **extra()}], **extra()}


FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def feed(chunks: list[dict[str, Any]]) -> tuple[ChatCompletionAccumulator, list[bool]]:
    """Feed every chunk; return the accumulator and which chunks were merged.

    Asserts what holds after every chunk: only ChunkParseError escapes, and the
    completion can be read and serialised.
    """
    accumulator = ChatCompletionAccumulator()
    merged = []
    for number, payload in enumerate(chunks):
        merged.append(merge(accumulator, payload, number))
        json.dumps(accumulator.completion.to_dict())
    return accumulator, merged


def merge(accumulator: ChatCompletionAccumulator, payload: dict[str, Any], number: int) -> bool:
    """Add one chunk; whether it was merged (else it raised ChunkParseError at ``number``)."""
    try:
        accumulator.add(payload)
    except ChunkParseError as exc:
        if exc.position != number:
            raise
        return False
    return True


@FUZZ
@given(st.one_of(STREAM, st.lists(well_formed_with_extras(), min_size=1, max_size=4)))
def test_only_chunk_parse_error_escapes_and_nothing_is_mutated(
    chunks: list[dict[str, Any]],
) -> None:
    original = copy.deepcopy(chunks)
    accumulator, _ = feed(chunks)
    completion = accumulator.completion
    assert chunks == original
    # Reading the completion again gives the same, and changes no chunk.
    assert accumulator.completion == completion
    assert chunks == original


@FUZZ
@given(STREAM, st.data())
def test_a_rejected_chunk_changes_nothing_property(chunks: list[dict[str, Any]], data: Any) -> None:
    # Feeding every chunk gives what feeding only the chunks that were merged gives,
    # and a bad chunk slipped in anywhere changes nothing either.
    everything, merged = feed(chunks)
    kept = [payload for payload, ok in zip(chunks, merged, strict=True) if ok]
    only_good, merged_again = feed(kept)
    assert all(merged_again)
    assert only_good.completion == everything.completion
    position = data.draw(st.integers(0, len(kept)), label="bad chunk at")
    bad = data.draw(st.sampled_from(ALWAYS_BAD), label="bad chunk")
    with_bad, merged_with_bad = feed([*kept[:position], copy.deepcopy(bad), *kept[position:]])
    assert merged_with_bad.count(False) == 1
    assert with_bad.completion == only_good.completion


@FUZZ
@given(STREAM)
def test_reading_the_completion_midway_changes_nothing(chunks: list[dict[str, Any]]) -> None:
    read_each_time, _ = feed(chunks)  # feed() reads it after every chunk
    read_once = ChatCompletionAccumulator()
    for payload in chunks:
        with contextlib.suppress(ChunkParseError):
            read_once.add(payload)
    assert read_once.completion == read_each_time.completion


# --------------------------------------------------------------------------- growth


def growth(make: Callable[[int], list[dict[str, Any]]], n: int) -> float:
    """Time to add the chunks ``make(4 n)`` over the time for ``make(n)``, in one run.

    Only ``add()`` is timed (the chunks are built before), in CPU time (other
    processes on a loaded machine do not count), the best of five runs at each size.
    Linear work gives about 4, quadratic about 16.
    """

    def best(size: int) -> float:
        payloads = make(size)
        times = []
        for _ in range(5):
            accumulator = ChatCompletionAccumulator()
            add = accumulator.add
            start = time.process_time()
            for payload in payloads:
                add(payload)
            times.append(time.process_time() - start)
        json.dumps(accumulator.completion.to_dict())
        return min(times)

    gc.collect()
    gc.disable()
    try:
        best(n)  # warm up
        return best(4 * n) / best(n)
    finally:
        gc.enable()


def details_in_one_chunk(n: int) -> list[dict[str, Any]]:
    # Item 4: 20,000 entries in one chunk took 9 s (5,000: 0.4 s).
    entries = [{"type": "reasoning.text", "text": "t", "index": i} for i in range(n)]
    return [chunk(choice(reasoning_details=entries))]


def details_fragments(n: int) -> list[dict[str, Any]]:
    return [chunk(choice(reasoning_details=[{"text": "t", "index": i % 50}])) for i in range(n)]


def tool_call_fragments(n: int) -> list[dict[str, Any]]:
    start = chunk(choice(tool_calls=[{"index": 0, "id": "c", "function": {"name": "f"}}]))
    fragment = chunk(choice(tool_calls=[{"index": 0, "function": {"arguments": "ab"}}]))
    return [start] + [fragment] * n


def tool_calls_many(n: int) -> list[dict[str, Any]]:
    return [
        chunk(choice(tool_calls=[{"index": i, "id": f"c{i}", "function": {"name": "f"}}]))
        for i in range(n)
    ]


def tool_calls_without_index(n: int) -> list[dict[str, Any]]:
    payloads = []
    for i in range(n):
        payloads.append(chunk(choice(tool_calls=[{"id": f"c{i}", "function": {"name": "f"}}])))
        payloads.append(chunk(choice(tool_calls=[{"function": {"arguments": "{}"}}])))
    return payloads


def several_entries_in_one_delta(n: int) -> list[dict[str, Any]]:
    # Bedrock: several fragments of one call in one delta.
    entries = [{"index": i % 3, "function": {"arguments": "x"}} for i in range(n)]
    return [chunk(choice(tool_calls=entries))]


@pytest.mark.parametrize(
    ("make", "n"),
    [
        (details_in_one_chunk, 8000),
        (details_fragments, 3000),
        (tool_call_fragments, 3000),
        (tool_calls_many, 1500),
        (tool_calls_without_index, 1500),
        (several_entries_in_one_delta, 10000),
    ],
)
def test_merging_grows_linearly(make: Callable[[int], list[dict[str, Any]]], n: int) -> None:
    ratio = growth(make, n)
    # Linear is about 4 and quadratic 16; 11 leaves room for a loaded machine (8.0 seen).
    assert ratio < 11, f"4x the input took {ratio:.1f}x the time"


# --------------------------------------------------------------------------- edges


def test_arguments_that_cannot_be_serialised_are_refused() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(5000):
        inner["a"] = {}
        inner = inner["a"]
    for arguments, named in [({"s": {1, 2}}, "is an object"), (deep, "is an object")]:
        accumulator = ChatCompletionAccumulator()
        payload = chunk(choice(tool_calls=[{"index": 0, "function": {"arguments": arguments}}]))
        with pytest.raises(ChunkParseError, match=named):
            accumulator.add(payload)
        assert accumulator.completion.choices == []


def test_a_value_of_no_json_type_is_named_by_its_python_type() -> None:
    with pytest.raises(ChunkParseError, match=r"choices\[0\]\.delta\.role is a set"):
        ChatCompletionAccumulator().add(chunk(choice(role={"assistant"})))


def test_several_choices_are_checked_whole_before_any_is_merged() -> None:
    accumulator = fed(chunk(choice(0, content="a")))
    for bad in [
        {"choices": [choice(0, content="b"), {"index": 1, "delta": {}, "logprobs": 5}]},
        {"choices": [choice(0, content="b"), {"index": 1, "finish_reason": 5}]},
        {"choices": [choice(0, content="b"), {"index": "1"}]},
        {"choices": [choice(0, content="b"), {"index": 1, "delta": "x"}]},
        {"choices": [choice(0, content="b"), 5]},
        {"choices": [choice(0, reasoning_details="x"), choice(1)]},
    ]:
        with pytest.raises(ChunkParseError):
            accumulator.add(bad)
    assert [c.message.content for c in accumulator.completion.choices] == ["a"]


@pytest.mark.parametrize(
    ("thinking", "reasoning", "kept"),
    [
        (None, None, False),
        ("t", "t", False),
        ({"text": "t"}, "t", False),
        ([{"type": "text", "text": "t"}, {"no": "text"}, "u"], "tu", False),
        (5, None, True),
        (["t", 5], None, True),
        ([{"text": 5}], None, True),
    ],
)
def test_mistral_thinking_parts_of_every_shape(thinking: Any, reasoning: Any, kept: bool) -> None:
    part = {"type": "thinking", "thinking": thinking}
    m = message(fed(chunk(choice(content=[part]))))
    assert m.get("reasoning_content") == reasoning
    assert m.get("content_parts") == ([part] if kept else None)


def test_record_routes_after_chunks_were_added() -> None:
    accumulator = fed(chunk(choice(content="a")))
    routes = accumulator.record_routes()
    assert accumulator.record_routes() is routes
    accumulator.add(chunk(choice(0, "stop", content="b")))
    assert [route[:3] for route in routes] == [("content", 0, "b"), ("finish", 0, "stop")]
