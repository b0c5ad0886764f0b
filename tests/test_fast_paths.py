"""The hot path's shortcuts give what the general path gives, at their edges.

Each shortcut skips work in the common case (``benchmarks/notes.md`` says what each one
buys): the parser scans a payload that begins with ``{`` with ``raw_decode`` and leaves
anything else to ``json.loads``; the accumulator joins text fragments into one string as
they pile up; ``reasoning_details`` text is gathered as fragments; a streamed
``httpx``/``httpx2`` body without ``Content-Encoding`` is read with ``iter_raw()``. The
decoder's single-event block is covered by the decoder tests, which feed every case at
every split point.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ssestream import ChatCompletionAccumulator, ChatStream, ChunkParseError


def chunk(content: str | None = None, finish_reason: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}  # fmt: skip


HELLO_BODY = (
    "".join(
        f"data: {json.dumps(c)}\n\n" for c in (chunk("Hel"), chunk("lo"), chunk(None, "stop"))
    ).encode()
    + b"data: [DONE]\n\n"
)


def pieces(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("after", [" ", "\t ", "\r\n  "])
def test_whitespace_after_the_payload_is_valid_json(twin: Any, after: str) -> None:
    payload = json.dumps(chunk("Hi", "stop"))
    body = f"data: {payload}{after}\n\ndata: [DONE]\n\n".encode()
    run = twin.read(pieces(body, 9))
    assert run.completion.choices[0].message.content == "Hi"


def test_extra_data_after_the_payload_is_the_json_error(twin: Any) -> None:
    data = json.dumps(chunk("Hi")) + ' {"more": 1}'
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(data)
    run = twin.read([f"data: {data}\n\n".encode()], raises=ChunkParseError)
    assert f"({expected.value})" in str(run.error)


def test_invalid_json_that_begins_like_an_object_is_the_json_error(twin: Any) -> None:
    data = '{"id": "x", "choices": [}'
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(data)
    run = twin.read([f"data: {data}\n\n".encode()], raises=ChunkParseError)
    assert f"({expected.value})" in str(run.error)


def envelope(**delta: Any) -> dict[str, Any]:
    return {**chunk(), "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def test_text_joined_as_it_piles_up_is_the_whole_text() -> None:
    accumulator = ChatCompletionAccumulator()
    words = [f"w{i} " for i in range(5000)]
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}}
    accumulator.add(envelope(role="assistant", content="", tool_calls=[call]))
    for number, word in enumerate(words):
        accumulator.add(envelope(content=word))
        accumulator.add(envelope(reasoning_content=word, refusal=word))
        fragment = {"index": 0, "function": {"arguments": word}}
        accumulator.add(envelope(tool_calls=[fragment]))
        if number == 2500:  # reading the completion midway joins everything so far
            midway = accumulator.completion.choices[0].message
            assert midway.content == "".join(words[:2501])
    message = accumulator.completion.choices[0].message
    text = "".join(words)
    assert message.content == text
    assert message.reasoning_content == text
    assert message.refusal == text
    assert message.tool_calls[0].function.arguments == text


def test_reasoning_details_fragments_are_joined() -> None:
    accumulator = ChatCompletionAccumulator()
    first = {"type": "reasoning.text", "index": 0, "format": "f"}  # no text yet
    accumulator.add(envelope(reasoning_details=[first]))
    for i in range(300):
        entry = {"type": "reasoning.text", "index": 0, "text": f"t{i} ", "signature": None}
        accumulator.add(envelope(reasoning_details=[entry]))
        if i == 100:
            detail = accumulator.completion.choices[0].message.get("reasoning_details")[0]
            assert detail["text"] == "".join(f"t{j} " for j in range(101))
    (detail,) = accumulator.completion.choices[0].message.get("reasoning_details")
    assert detail == {
        "type": "reasoning.text",
        "index": 0,
        "format": "f",
        "text": "".join(f"t{i} " for i in range(300)),
    }


def test_reasoning_details_text_after_a_value_that_is_not_text_is_refused() -> None:
    accumulator = ChatCompletionAccumulator()
    accumulator.add(envelope(reasoning_details=[{"index": 0, "text": 5}]))
    with pytest.raises(ChunkParseError):
        accumulator.add(envelope(reasoning_details=[{"index": 0, "text": "x"}]))


def test_a_response_already_read_is_read_from_its_content() -> None:
    headers = {"content-type": "text/event-stream"}
    response = httpx.Response(200, headers=headers, content=HELLO_BODY)
    assert response.is_stream_consumed
    assert ChatStream(response).get_final_completion().choices[0].message.content == "Hello"


def test_identity_content_encoding_is_read_raw(twin: Any) -> None:
    headers = {"content-type": "text/event-stream", "content-encoding": "Identity"}
    run = twin.read(pieces(HELLO_BODY, 7), via="httpx2", headers=headers)
    assert run.completion.choices[0].message.content == "Hello"
