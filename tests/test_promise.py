"""The promise, stated as Hypothesis properties over hostile streams.

Whatever a server sends, at whatever split:

* the caller gets chunks or one of ssestream's errors (an ``SSEStreamError``), nothing else;
* ``.completion`` stays readable afterwards, and is plain JSON data;
* the result (chunks, error, completion, ``done``, ``interrupted``) does not depend on how
  the body was cut into reads, nor on which twin read it;
* a chunk handed out is never changed afterwards by the merging of later chunks.

The streams are built from the chunk schema with wrong types, nulls, odd indexes, deep
and wide garbage, error payloads, ``[DONE]``, comments, other fields and raw bytes. The
budget is the Hypothesis profile's: small by default (CI), large with
``--hypothesis-profile=long``.
"""

from __future__ import annotations

import json
from typing import Any

from _promise_helpers import Reader, data_event, field, garbage, indexes, some_of, split, text
from hypothesis import given
from hypothesis import strategies as st

from ssestream import AsyncChatStream, ChatStream, SSEStreamError

# --------------------------------------------------------------------------- strategies
# (the hostile values, ``field`` and ``some_of`` are shared: see _promise_helpers)

function = some_of(
    {
        "name": st.sampled_from(["f", "g", ""]),
        "arguments": st.one_of(text, st.just('{"a": 1'), st.just("}")),
    },
    2,
)
tool_call = some_of(
    {
        "index": indexes,
        "id": st.sampled_from(["call_1", "call_2", ""]),
        "type": st.sampled_from(["function", "custom"]),
        "function": function,
        "custom": some_of({"name": text, "input": text}, 2),
    },
    4,
)
reasoning_detail = some_of(
    {
        "index": indexes,
        "type": st.sampled_from(["reasoning.text", "reasoning.encrypted"]),
        "text": text,
        "data": text,
        "format": text,
    },
    3,
)
delta = some_of(
    {
        "role": st.sampled_from(["assistant", "tool", ""]),
        "content": st.one_of(text, text, st.lists(garbage, max_size=2)),
        "refusal": text,
        "reasoning_content": text,
        "reasoning": text,
        "tool_calls": st.lists(tool_call, max_size=3),
        "function_call": some_of({"name": text, "arguments": text}, 2),
        "reasoning_details": st.lists(reasoning_detail, max_size=3),
        "audio": some_of({"id": text, "data": text, "transcript": text, "segments": garbage}, 3),
        "annotations": st.lists(garbage, max_size=2),
        "x_extra": garbage,
    },
    3,
)
logprobs = some_of(
    {"content": st.lists(garbage, max_size=2), "refusal": st.lists(garbage, max_size=2)}, 2
)
choice = st.builds(
    lambda base, more: {**base, **more},
    st.fixed_dictionaries({"index": field(indexes), "delta": field(delta)}),
    some_of(
        {
            "finish_reason": st.sampled_from(["stop", "length", "tool_calls"]),
            "logprobs": logprobs,
            "x_choice": garbage,
        },
        2,
    ),
)
chunk = st.builds(
    lambda base, more: {**base, **more},
    st.fixed_dictionaries({"choices": field(st.lists(choice, min_size=1, max_size=2))}),
    some_of(
        {
            "id": st.sampled_from(["chatcmpl-1", "chatcmpl-2", ""]),
            "object": st.just("chat.completion.chunk"),
            "created": st.integers(0, 2**40),
            "model": text,
            "usage": some_of({"total_tokens": st.integers(0, 99), "x": garbage}, 2),
            "x_groq": garbage,
        },
        3,
    ),
)


chunk_event = st.one_of(
    chunk.map(lambda c: data_event(json.dumps(c))),
    chunk.map(lambda c: data_event(json.dumps(c, indent=1))),  # multi-line data
)
other_event = st.one_of(
    st.just(data_event("[DONE]")),
    st.builds(lambda e: data_event(json.dumps({"error": e})), garbage),
    st.builds(lambda m: f"event: error\ndata: {m}\n\n", text),
    st.builds(lambda g: data_event(json.dumps(g)), garbage),
    st.just(": keep-alive\n\n"),
    st.just("event: ping\ndata: {}\n\n"),
    st.builds(lambda d: f"retry: {d}\n", st.text("0123456789", min_size=1, max_size=30)),
    st.builds(lambda i: f"id: {i}\n", text),
    st.builds(lambda t: t, st.text(max_size=12)),  # anything, line ends included
)
event = st.one_of(chunk_event, chunk_event, chunk_event, chunk_event, other_event)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    events = draw(st.lists(event, max_size=10))
    end = draw(st.sampled_from(["\n", "\r", "\r\n"]))
    body = "".join(events).replace("\n", end).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        body = b"\xef\xbb\xbf" + body
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.binary(max_size=20)) + body
    return body


@st.composite
def merge_bodies(draw: st.DrawFn) -> bytes:
    """Chunks only, several of them: the merge rules at work on hostile fields."""
    chunks = draw(st.lists(chunk, min_size=2, max_size=8))
    body = "".join(data_event(json.dumps(c)) for c in chunks)
    if draw(st.booleans()):
        body += data_event("[DONE]")
    return body.encode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------- the reading


def outcome(stream: Any, chunks: list[tuple[Any, Any]], error: BaseException | None) -> Any:
    """Everything the caller can observe, checking the promise on the way."""
    if error is not None:
        assert isinstance(error, SSEStreamError), repr(error)
        assert error.completion is not None
    for view, copied in chunks:
        assert view.to_dict() == copied, "a chunk handed out was changed later"
    completion = stream.completion.to_dict()  # readable, also after an error
    json.dumps(completion)  # plain JSON data
    if error is not None:
        assert error.completion.to_dict() == completion
    return (
        [copied for _, copied in chunks],
        None if error is None else (type(error).__name__, str(error)),
        completion,
        stream.done,
        stream.interrupted,
    )


READER = Reader(ChatStream, AsyncChatStream, outcome)
read_sync = READER.read_sync  # also test_events' and test_speedups' oracle
read_async = READER.read_async


# --------------------------------------------------------------------------- properties


@given(st.data())
def test_any_stream_gives_chunks_or_a_typed_error_whatever_the_split(data: st.DataObject) -> None:
    READER.same_whatever_the_split(data.draw(bodies()), data)


@given(st.data())
def test_merging_hostile_chunks_keeps_the_promise(data: st.DataObject) -> None:
    body = data.draw(merge_bodies())
    assert read_sync(data.draw(split(body))) == read_sync([body])


@given(st.binary(max_size=300), st.data())
def test_any_bytes_give_chunks_or_a_typed_error(body: bytes, data: st.DataObject) -> None:
    assert read_sync(data.draw(split(body))) == read_sync([body])


@given(st.data())
def test_the_async_twin_gives_what_the_sync_twin_gives(data: st.DataObject) -> None:
    READER.same_in_both_twins(data.draw(bodies()), data)
