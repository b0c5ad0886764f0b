"""encode_event / encode_chunk: the SSEDecoder (WHATWG 9.2.6) reads back what was written.

The decoder is the oracle: a Hypothesis round trip over any event, the bytes split at
any points; injection attempts are refused; chunks are written byte for byte as OpenAI
writes them (checked on OpenAI's recordings).
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ssestream import (
    DONE,
    ChatCompletionChunk,
    ServerSentEvent,
    SSEDecoder,
    encode_chunk,
    encode_event,
)

FIXTURES = Path(__file__).parent / "fixtures"
FLOAT = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)|-?\d+\.\d+")

line_ends = st.sampled_from(["\n", "\r", "\r\n"])
any_text = st.lists(st.text() | line_ends | st.just(" ")).map("".join)
one_line = st.text().filter(lambda s: "\r" not in s and "\n" not in s)
events = st.fixed_dictionaries(
    {},
    optional={
        "data": st.none() | any_text,
        "event": st.none() | one_line,
        "id": st.none() | one_line.filter(lambda s: "\0" not in s),
        "retry": st.none() | st.integers(0, 10**15),
        "comment": st.none() | any_text,
    },
)


def decode(data: bytes, cuts: list[int]) -> tuple[list[ServerSentEvent], SSEDecoder]:
    decoder = SSEDecoder()
    bounds = [0, *sorted(cuts), len(data)]
    received = []
    for a, b in itertools.pairwise(bounds):
        received.extend(decoder.feed(data[a:b]))
    received.extend(decoder.close())
    return received, decoder


def expected(fields: list[dict[str, Any]]) -> tuple[list[ServerSentEvent], str, int | None]:
    """What WHATWG 9.2.6 makes of these events: line ends as LF, the ID in force, the
    default type, no event without data."""
    last_id, retry_in_force, out = "", None, []
    for field in fields:
        if field.get("id") is not None:
            last_id = field["id"]
        if field.get("retry") is not None:
            retry_in_force = field["retry"]
        if field.get("data") is not None:
            out.append(
                ServerSentEvent(
                    data=re.sub(r"\r\n|\r", "\n", field["data"]),
                    event=field.get("event") or "message",
                    id=last_id,
                    retry=field.get("retry"),
                )
            )
    return out, last_id, retry_in_force


@given(st.lists(events, max_size=4), st.lists(st.integers(0, 10_000), max_size=8))
@example([{"data": " leading space\rlone CR\r\nCRLF\n", "event": " x", "id": " 1"}], [])
@example([{"data": ""}, {"data": "\n"}, {"id": "7"}, {"data": "a", "retry": 0}], [])
def test_round_trip_through_the_decoder(fields: list[dict[str, Any]], cuts: list[int]) -> None:
    stream = b"".join(encode_event(**field) for field in fields)
    cuts = [c for c in cuts if c <= len(stream)]
    received, decoder = decode(stream, cuts)
    events, last_id, retry = expected(fields)
    assert received == events
    assert decoder.last_event_id == last_id
    assert decoder.retry == retry


@pytest.mark.parametrize(
    ("fields", "encoded"),
    [
        ({"data": "hello"}, b"data: hello\n\n"),
        ({"data": ""}, b"data: \n\n"),
        ({"data": "a\r\nb\rc\nd"}, b"data: a\ndata: b\ndata: c\ndata: d\n\n"),
        ({"data": " x"}, b"data:  x\n\n"),
        (
            {"data": "{}", "event": "error", "id": "42", "retry": 1500},
            b"event: error\nid: 42\nretry: 1500\ndata: {}\n\n",
        ),
        ({"comment": "keep-alive"}, b": keep-alive\n\n"),
        ({"comment": "a\nb\r\n"}, b": a\n: b\n:\n\n"),
        ({"id": ""}, b"id: \n\n"),
        ({"data": "\u00e9\u2028"}, "data: \u00e9\u2028\n\n".encode()),
    ],
)
def test_the_bytes_written(fields: dict[str, Any], encoded: bytes) -> None:
    assert encode_event(**fields) == encoded


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"data": "x", "event": "message\ndata: injected"}, "line end"),
        ({"data": "x", "event": "a\rb"}, "line end"),
        ({"data": "x", "id": "1\r\nevent: error"}, "line end"),
        ({"data": "x", "id": "1\n"}, "line end"),
        ({"data": "x", "id": "1\0"}, r"U\+0000"),
        ({"data": "x", "retry": -1}, ">= 0"),
    ],
)
def test_a_value_that_would_inject_a_field_is_refused(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        encode_event(**fields)


@pytest.mark.parametrize("retry", [True, 1.5, "100"])
def test_retry_must_be_an_int(retry: Any) -> None:
    with pytest.raises(TypeError, match="milliseconds"):
        encode_event(data="x", retry=retry)


def test_a_comment_cannot_inject_an_event() -> None:
    stream = encode_event(comment="x\n\ndata: injected\nevent: error\n")
    received, decoder = decode(stream, [])
    assert received == []
    assert decoder.last_event_id == ""


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        encode_event(data="\ud800")


def openai_payloads() -> list[str]:
    return [
        block[len("data: ") :]
        for path in sorted((FIXTURES / "openai").glob("*.sse"))
        for block in path.read_text(encoding="utf-8").split("\n\n")
        if block.startswith("data: {")
    ]


def test_chunks_are_written_as_openai_writes_them() -> None:
    """Byte for byte, except where a float is written otherwise by Python (OpenAI's
    -0.000033809047 is Python's -3.3809047e-05: the same value)."""
    payloads = openai_payloads()
    assert len(payloads) > 300
    same = 0
    for payload in payloads:
        data = json.loads(payload)
        for chunk in (data, ChatCompletionChunk(data)):
            encoded = encode_chunk(chunk)
            if any(repr(float(n)) != n for n in FLOAT.findall(payload)):
                assert encoded.startswith(b"data: ")
                assert encoded.endswith(b"\n\n")
                assert json.loads(encoded[6:]) == data
            else:
                assert encoded == f"data: {payload}\n\n".encode()
                same += 1
    assert same > 0.9 * 2 * len(payloads)


def test_encoded_chunks_decode_to_the_same_payloads() -> None:
    payloads = [json.loads(p) for p in openai_payloads()]
    stream = b"".join(encode_chunk(p) for p in payloads) + DONE
    received, _ = decode(stream, list(range(0, len(stream), 97)))
    assert [json.loads(e.data) for e in received[:-1]] == payloads
    assert received[-1].data == "[DONE]"
    assert DONE == b"data: [DONE]\n\n"


@pytest.mark.parametrize(
    ("chunk", "error"),
    [
        (["not", "a", "dict"], TypeError),
        ({"x": float("nan")}, ValueError),
        ({"x": {1j}}, TypeError),
    ],
)
def test_encode_chunk_refuses_what_is_not_a_json_object(chunk: Any, error: type) -> None:
    with pytest.raises(error):
        encode_chunk(chunk)
