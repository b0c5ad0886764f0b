"""The promise for Responses API streams, as Hypothesis properties over hostile streams.

As ``test_promise.py`` states it for chat streams (the strategies, the readers and the
property bodies they share are in ``_promise_helpers.py``), for ``ResponseStream`` /
``AsyncResponseStream``: whatever a server sends, at whatever split,

* the caller gets events or one of ssestream's errors (an ``SSEStreamError``), nothing else;
* ``.snapshot`` stays readable afterwards and is plain JSON data, and an error's
  ``partial_response`` is that same response;
* the result (events, error, snapshot, ``interrupted``, ``terminal_event``, mismatches,
  sequence gaps) does not depend on how the body was cut into reads, nor on which twin
  read it;
* an event handed out is never changed afterwards by the rebuilding of later ones.

The streams are built from the Responses event schema (every type the parser rebuilds
from, plus unknown ones) with wrong types, nulls, odd indexes, deep and wide garbage,
``error`` events, ``[DONE]``, comments and raw text.
"""

from __future__ import annotations

import json
from typing import Any

from _promise_helpers import Reader, data_event, field, garbage, indexes, some_of, split, text
from hypothesis import given
from hypothesis import strategies as st

from ssestream import AsyncResponseStream, ResponseStream, SSEStreamError

# --------------------------------------------------------------------------- strategies

part = some_of(
    {
        "type": st.sampled_from(["output_text", "refusal", "reasoning_text", "summary_text"]),
        "text": text,
        "refusal": text,
        "annotations": st.lists(garbage, max_size=2),
    },
    3,
)
item = some_of(
    {
        "type": st.sampled_from(
            ["message", "function_call", "reasoning", "custom_tool_call", "web_search_call"]
        ),
        "id": text,
        "status": st.sampled_from(["in_progress", "completed", "incomplete"]),
        "content": st.lists(part, max_size=2),
        "summary": st.lists(part, max_size=2),
        "arguments": st.one_of(text, st.just('{"a": 1')),
        "input": text,
        "x_item": garbage,
    },
    4,
)
response = some_of(
    {
        "id": st.sampled_from(["resp_1", "resp_2"]),
        "status": st.sampled_from(["in_progress", "completed", "incomplete", "failed"]),
        "output": st.lists(item, max_size=2),
        "usage": some_of({"input_tokens": st.integers(0, 9), "x": garbage}, 2),
        "error": some_of({"code": text, "message": text}, 2),
        "incomplete_details": garbage,
    },
    4,
)
small = st.integers(0, 2)
# The fields each type carries (mostly of the schema's type), by type.
NEEDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "response.created": {"response": response},
    "response.in_progress": {"response": response},
    "response.queued": {"response": response},
    "response.output_item.added": {"output_index": small, "item": item},
    "response.output_item.done": {"output_index": small, "item": item},
    "response.content_part.added": {"output_index": small, "content_index": small, "part": part},
    "response.content_part.done": {"output_index": small, "content_index": small, "part": part},
    "response.reasoning_summary_part.added": {
        "output_index": small,
        "summary_index": small,
        "part": part,
    },
    "response.reasoning_summary_part.done": {
        "output_index": small,
        "summary_index": small,
        "part": part,
    },
    "response.output_text.delta": {"output_index": small, "content_index": small, "delta": text},
    "response.output_text.done": {"output_index": small, "content_index": small, "text": text},
    "response.refusal.delta": {"output_index": small, "content_index": small, "delta": text},
    "response.reasoning_text.delta": {
        "output_index": small,
        "content_index": small,
        "delta": text,
    },
    "response.reasoning_summary_text.delta": {
        "output_index": small,
        "summary_index": small,
        "delta": text,
    },
    "response.reasoning_summary_text.done": {
        "output_index": small,
        "summary_index": small,
        "text": text,
    },
    "response.function_call_arguments.delta": {"output_index": small, "delta": text},
    "response.function_call_arguments.done": {"output_index": small, "arguments": text},
    "response.custom_tool_call_input.delta": {"output_index": small, "delta": text},
    "response.output_text.annotation.added": {
        "output_index": small,
        "content_index": small,
        "annotation_index": small,
        "annotation": some_of({"type": text, "url": text}, 2),
    },
    "response.web_search_call.searching": {"output_index": small},
    "response.completed": {"response": response},
    "response.incomplete": {"response": response},
    "response.failed": {"response": response},
    "provider.own_event": {"x_event": garbage},
}
extras = {
    "sequence_number": st.integers(0, 4),
    "item_id": text,
    "output_index": indexes,
    "logprobs": garbage,
    "obfuscation": text,
}


@st.composite
def responses_event(draw: st.DrawFn, hostile: bool) -> str:
    """One event; ``hostile``: its fields are sometimes of another type (see ``field``)."""
    kind = draw(st.sampled_from(sorted(NEEDS)))
    shape = field if hostile else (lambda strategy: strategy)
    payload = {"type": draw(shape(st.just(kind)))}
    for name, strategy in NEEDS[kind].items():
        if draw(st.integers(0, 19)):  # a field left out now and then
            payload[name] = draw(shape(strategy))
    if draw(st.integers(0, 3)) == 0:
        payload.update(draw(some_of(extras, 2)))
    data = json.dumps(payload)
    if draw(st.booleans()):
        return f"event: {kind}\n" + data_event(data)
    return data_event(data)


other_event = st.one_of(
    st.just(data_event("[DONE]")),
    st.builds(lambda e: data_event(json.dumps({"type": "error", "error": e})), garbage),
    st.builds(lambda m: data_event(json.dumps({"type": "error", "message": m})), text),
    st.builds(lambda g: data_event(json.dumps(g)), garbage),
    st.just(": OPENROUTER PROCESSING\n\n"),
    st.builds(lambda t: t, st.text(max_size=12)),
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Mostly well-typed events (so that streams get far and the rebuild works hard),
    one stream in three with hostile fields; now and then another kind of event."""
    hostile = draw(st.integers(0, 2)) == 0
    event = st.one_of(*[responses_event(hostile)] * 9, other_event)
    events = draw(st.lists(event, max_size=14))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return "".join(events).replace("\n", end).encode("utf-8", "surrogatepass")


@st.composite
def rich_bodies(draw: st.DrawFn) -> bytes:
    """Long streams of well-typed events only: many items, parts and deltas to rebuild."""
    events = draw(st.lists(responses_event(False), min_size=5, max_size=30))
    return "".join(events).encode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------- the reading


def outcome(stream: Any, events: list[tuple[Any, Any]], error: BaseException | None) -> Any:
    """Everything the caller can observe, checking the promise on the way."""
    snapshot = stream.snapshot.to_dict()  # readable, also after an error
    json.dumps(snapshot)  # plain JSON data
    if error is not None:
        assert isinstance(error, SSEStreamError), repr(error)
        assert error.partial_response.to_dict() == snapshot
    for view, copied in events:
        assert view.to_dict() == copied, "an event handed out was changed later"
    parser = stream.parser
    return (
        [copied for _, copied in events],
        None if error is None else (type(error).__name__, str(error)),
        snapshot,
        stream.interrupted,
        stream.terminal_event,
        parser.mismatches,
        parser.sequence_gaps,
    )


READER = Reader(ResponseStream, AsyncResponseStream, outcome)


# --------------------------------------------------------------------------- properties


@given(st.data())
def test_any_responses_stream_gives_events_or_a_typed_error_whatever_the_split(
    data: st.DataObject,
) -> None:
    READER.same_whatever_the_split(data.draw(bodies()), data)


@given(st.data())
def test_long_well_typed_streams_rebuild_the_same_whatever_the_split(data: st.DataObject) -> None:
    body = data.draw(rich_bodies())
    whole = READER.read_sync([body])
    assert READER.read_sync(data.draw(split(body))) == whole
    backend = data.draw(st.sampled_from(["asyncio", "trio"]))
    assert READER.read_async(data.draw(split(body)), backend) == whole


@given(st.binary(max_size=300), st.data())
def test_any_bytes_give_events_or_a_typed_error(body: bytes, data: st.DataObject) -> None:
    assert READER.read_sync(data.draw(split(body))) == READER.read_sync([body])


@given(st.data())
def test_the_async_twin_gives_what_the_sync_twin_gives(data: st.DataObject) -> None:
    READER.same_in_both_twins(data.draw(bodies()), data)
