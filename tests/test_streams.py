"""ChatStream / AsyncChatStream, connect_chat / aconnect_chat, iter_events / aiter_events.

Most tests take the ``twin`` fixture (``conftest.py``): one body runs through the sync
twin and the async twin on asyncio and on trio, over byte iterables and over real
``httpx`` / ``httpx2`` clients on a ``MockTransport``. What only one twin has (``async
with``, ``aclose``) is tested with ``@pytest.mark.anyio``, on both anyio backends.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest

from ssestream import (
    APIStatusError,
    AsyncChatStream,
    ChatStream,
    ChunkParseError,
    LimitExceededError,
    ServerSentEvent,
    SSEDecoder,
    SSEStreamError,
    StreamAPIError,
    StreamInterruptedError,
    UnexpectedContentTypeError,
    aconnect_chat,
    aiter_events,
    connect_chat,
    iter_events,
)

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://api.example.test/v1/chat/completions"
HTTP_VIAS = ("httpx", "httpx2", "connect:httpx", "connect:httpx2")
ALL_VIAS = ("iterable", "sync-iterable", *HTTP_VIAS)
LIBS = {"httpx": httpx, "httpx2": httpx2}


def sse(*payloads: Any, done: bool = False) -> bytes:
    """An event stream with one ``data:`` event per payload (dicts are JSON-encoded)."""
    out = []
    for payload in payloads:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        out.append(f"data: {data}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def chunk(content: str | None = None, finish_reason: str | None = None, index: int = 0) -> dict:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "m",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason}],
    }


HELLO = [chunk("Hel"), chunk("lo"), chunk(None, "stop")]


def pieces(body: bytes, size: int = 5) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def iterate_again(stream: Any) -> None:
    """Start a new iteration of a sync or async stream (both check at once)."""
    if isinstance(stream, ChatStream):
        iter(stream)
    else:
        stream.__aiter__()


# --------------------------------------------------------------------------- the end


@pytest.mark.parametrize("via", ALL_VIAS)
def test_done_ends_the_stream_and_nothing_after_it_is_read(twin: Any, via: str) -> None:
    body = sse(*HELLO, done=True)
    # The read that holds [DONE] also holds garbage; the next read would raise.
    run = twin.read(
        [*pieces(body[:-3]), body[-3:] + b"data: not json\n\n"],
        via=via,
        error=AssertionError("the stream read past [DONE]"),
    )
    assert run.source.pulled == len(run.source.pieces)
    assert [c.choices[0].delta.content for c in run.chunks] == ["Hel", "lo", None]
    assert run.stream.done is True
    assert run.stream.interrupted is False
    assert run.completion.choices[0].message.content == "Hello"
    assert run.completion.choices[0].finish_reason == "stop"
    if run.response is not None:
        assert run.closed is True


def test_done_before_any_chunk(twin: Any) -> None:
    run = twin.read([b"data: [DONE]\n\n"], error=AssertionError("read past [DONE]"))
    assert run.chunks == []
    assert run.stream.done is True
    assert run.stream.interrupted is False
    assert run.completion.choices == []


@pytest.mark.parametrize("via", ["iterable", "httpx2"])
def test_no_done_but_every_choice_finished_is_complete(twin: Any, via: str) -> None:
    body = sse(chunk("a", index=0), chunk("b", index=1), chunk(None, "stop", 1))
    body += sse(chunk(None, "length", 0), {"id": "x", "choices": [], "usage": {"total_tokens": 9}})
    run = twin.read(pieces(body), via=via)
    assert run.stream.done is False
    assert run.stream.interrupted is False
    assert [c.finish_reason for c in run.completion.choices] == ["length", "stop"]
    assert run.completion.usage is not None
    assert run.completion.usage.total_tokens == 9


@pytest.mark.parametrize("via", ["iterable", "httpx"])
def test_no_done_with_an_unfinished_choice_is_interrupted(twin: Any, via: str) -> None:
    body = sse(chunk("a", index=0), chunk("b", index=1), chunk(None, "stop", 1))
    run = twin.read(pieces(body), via=via)
    assert len(run.chunks) == 3
    assert run.stream.done is False
    assert run.stream.interrupted is True
    assert [c.finish_reason for c in run.completion.choices] == [None, "stop"]


@pytest.mark.parametrize(
    "body", [b"", b"\n\n", b": keep-alive\n\n", b"event: ping\ndata: {}\n\n", b"data: {"]
)
def test_a_body_without_chunks_is_interrupted(twin: Any, body: bytes) -> None:
    # The last one is an event the end of the body leaves unterminated: discarded.
    run = twin.read([body] if body else [])
    assert run.chunks == []
    assert run.stream.done is False
    assert run.stream.interrupted is True
    assert run.completion.choices == []


def test_an_unterminated_last_event_is_discarded(twin: Any) -> None:
    # The anthropic-fallback recording ends "data: [DONE]\n" (WHATWG: not dispatched).
    body = sse(chunk("a"), chunk(None, "stop")) + b"data: [DONE]\n"
    run = twin.read(pieces(body))
    assert run.stream.done is False
    assert run.stream.interrupted is False  # every choice finished


def test_keep_alives_and_pings_are_skipped(twin: Any) -> None:
    body = b": OPENROUTER PROCESSING\n\n" + sse(chunk("a"))
    body += b'event: ping\ndata: {"type": "ping"}\n\n' + b"data:\n\n" + b": keep-alive\n\n"
    body += sse(chunk("b"), chunk(None, "stop"), done=True)
    run = twin.read(pieces(body, 3))
    assert [c.choices[0].delta.content for c in run.chunks] == ["a", "b", None]
    assert run.completion.choices[0].message.content == "ab"
    parser = run.stream.parser
    assert parser.ignored_events == 2  # the ping and the empty data; comments aren't events
    assert parser.events == 6


def test_a_chunk_with_error_null_is_a_chunk(twin: Any) -> None:
    run = twin.read([sse({**chunk("a"), "error": None}, chunk(None, "stop"), done=True)])
    assert run.completion.choices[0].message.content == "a"


def test_crlf_and_bom(twin: Any) -> None:
    body = b"\xef\xbb\xbf" + sse(*HELLO, done=True).replace(b"\n", b"\r\n")
    run = twin.read(pieces(body, 1))
    assert run.completion.choices[0].message.content == "Hello"
    assert run.stream.done is True


# --------------------------------------------------------------------------- HTTP errors


OPENAI_ERRORS = [
    (400, {"message": "Invalid 'messages': empty array.", "type": "invalid_request_error",
           "param": "messages", "code": "empty_array"}),
    (401, {"message": "Incorrect API key provided: sk-xx.", "type": "invalid_request_error",
           "param": None, "code": "invalid_api_key"}),
    (429, {"message": "Rate limit reached for gpt-4o.", "type": "requests",
           "param": None, "code": "rate_limit_exceeded"}),
    (500, {"message": "The server had an error while processing your request.",
           "type": "server_error", "param": None, "code": None}),
]  # fmt: skip


@pytest.mark.parametrize("via", HTTP_VIAS)
@pytest.mark.parametrize(("status", "error"), OPENAI_ERRORS)
def test_api_status_error_with_openai_error_json(
    twin: Any, via: str, status: int, error: dict[str, Any]
) -> None:
    body = json.dumps({"error": error}).encode()
    run = twin.read(
        pieces(body, 16),
        via=via,
        status=status,
        headers={"content-type": "application/json"},
        raises=APIStatusError,
    )
    exc = run.error
    assert exc.status_code == status
    assert exc.message == f"HTTP {status}: {error['message']}"
    assert str(exc) == exc.message
    assert (exc.error_type, exc.param, exc.code) == (error["type"], error["param"], error["code"])
    assert exc.body == body.decode()
    assert exc.response is run.response
    assert exc.completion is None
    assert run.chunks == []
    assert run.closed is True


@pytest.mark.parametrize("via", ["httpx", "connect:httpx2"])
def test_api_status_error_with_a_non_json_body(twin: Any, via: str) -> None:
    page = ("<html><body>" + "Bad gateway. " * 10_000 + "</body></html>").encode()
    run = twin.read(
        pieces(page, 4096),
        via=via,
        status=502,
        headers={"content-type": "text/html"},
        raises=APIStatusError,
    )
    exc = run.error
    assert exc.status_code == 502
    assert (exc.error_type, exc.param, exc.code) == (None, None, None)
    assert len(exc.body) == 64 * 1024  # a bounded excerpt
    assert page.decode().startswith(exc.body)
    assert exc.message.startswith("HTTP 502: <html><body>Bad gateway.")
    assert len(exc.message) < 600
    assert run.source.pulled < len(run.source.pieces)  # the rest was never read
    assert run.closed is True


def test_api_status_error_with_an_empty_body(twin: Any) -> None:
    run = twin.read([], via="httpx", status=503, headers={}, raises=APIStatusError)
    assert run.error.status_code == 503
    assert run.error.body == ""
    assert run.error.message == "HTTP 503: (empty body)"


def test_an_error_status_is_an_error_even_as_an_event_stream(twin: Any) -> None:
    run = twin.read([sse(*HELLO, done=True)], via="httpx2", status=404, raises=APIStatusError)
    assert run.error.status_code == 404
    assert run.chunks == []


def test_head_errors_end_the_stream(twin: Any) -> None:
    run = twin.read([b"{}"], via="httpx", status=500, raises=APIStatusError)
    assert run.stream.interrupted is True
    with pytest.raises(RuntimeError):
        iterate_again(run.stream)


@pytest.mark.parametrize("via", HTTP_VIAS)
def test_unexpected_content_type(twin: Any, via: str) -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>...</body></html>"
    run = twin.read(
        pieces(page, 10),
        via=via,
        headers={"content-type": "text/html; charset=utf-8"},
        raises=UnexpectedContentTypeError,
    )
    exc = run.error
    assert exc.content_type == "text/html; charset=utf-8"
    assert exc.body == page.decode()
    assert "text/html" in exc.message
    assert "Sign in" in exc.message
    assert exc.response is run.response
    assert not isinstance(exc, APIStatusError)
    assert run.closed is True


def test_errors_are_not_httpx_errors() -> None:
    for error in (APIStatusError, UnexpectedContentTypeError, StreamInterruptedError):
        assert issubclass(error, SSEStreamError)
        assert not issubclass(error, (httpx.HTTPError, httpx2.HTTPError))


# --------------------------------------------------------------------------- errors in the stream


def test_midstream_error_from_the_real_recording(twin: Any) -> None:
    raw = (FIXTURES / "providers" / "openai-gpt-4.1-midstream-error.sse").read_bytes()
    run = twin.read(pieces(raw, 11), via="httpx", raises=StreamAPIError)
    exc = run.error
    assert len(run.chunks) == 4
    assert exc.message == (
        "The server had an error while processing your request. Sorry about that!"
    )
    assert exc.error_type == "server_error"
    assert exc.body == json.loads(exc.event.data)
    assert exc.event.event == "message"
    assert exc.completion.choices[0].message.content == 'The question "'
    assert exc.completion == run.completion
    assert exc.response is run.response
    assert run.stream.interrupted is True
    assert run.closed is True


ERROR_SHAPES = {
    "openai": (
        'data: {"error": {"message": "overloaded", "type": "server_error", "param": null, '
        '"code": "overloaded"}}\n\n',
        ("overloaded", "server_error", "overloaded", None),
        "message",
    ),
    "vllm": (
        'data: {"object": "error", "message": "max_tokens is too large", '
        '"type": "BadRequestError", "param": "max_tokens", "code": 400}\n\n',
        ("max_tokens is too large", "BadRequestError", 400, "max_tokens"),
        "message",
    ),
    "event-error-json": (
        'event: error\ndata: {"error": {"message": "Overloaded", "type": "overloaded_error"}}\n\n',
        ("Overloaded", "overloaded_error", None, None),
        "error",
    ),
    "event-error-text": (
        "event: error\ndata: upstream timed out\n\n",
        ("upstream timed out", None, None, None),
        "error",
    ),
}


@pytest.mark.parametrize("shape", ERROR_SHAPES)
@pytest.mark.parametrize("via", ["iterable", "httpx2"])
def test_stream_api_error_shapes(twin: Any, via: str, shape: str) -> None:
    error_event, (message, error_type, code, param), event_type = ERROR_SHAPES[shape]
    body = sse(chunk("Hel"), chunk("lo")) + error_event.encode() + sse(chunk("never"))
    run = twin.read(pieces(body, 9), via=via, raises=StreamAPIError)
    exc = run.error
    assert (exc.message, exc.error_type, exc.code, exc.param) == (message, error_type, code, param)
    assert exc.event.event == event_type
    assert exc.event.data == error_event.split("data: ", 1)[1].rstrip("\n")
    if shape == "event-error-text":
        assert exc.body == "upstream timed out"
    else:
        assert exc.body == json.loads(exc.event.data)
    assert [c.choices[0].delta.content for c in run.chunks] == ["Hel", "lo"]
    assert exc.completion.choices[0].message.content == "Hello"
    assert run.completion.choices[0].message.content == "Hello"
    assert run.stream.interrupted is True
    with pytest.raises(RuntimeError):
        iterate_again(run.stream)


@pytest.mark.parametrize(
    ("data", "cause"),
    [
        ("not json", json.JSONDecodeError),
        ('{"id": "x", "choices": [', json.JSONDecodeError),
        ("[1, 2]", None),
        ("42", None),
        ('"text"', None),
        ("null", None),
    ],
)
def test_chunk_parse_error(twin: Any, data: str, cause: type | None) -> None:
    body = sse(chunk("a")) + b"event: ping\ndata: {}\n\n" + sse(data, chunk("b"))
    run = twin.read(pieces(body, 4), raises=ChunkParseError)
    exc = run.error
    assert exc.position == 2  # the ping counts: the 3rd event
    assert exc.event == ServerSentEvent(data=data)
    assert exc.completion.choices[0].message.content == "a"
    assert [c.choices[0].delta.content for c in run.chunks] == ["a"]
    if cause is None:
        assert exc.__cause__ is None
        assert "not an object" in exc.message
    else:
        assert isinstance(exc.__cause__, cause)
        assert "not JSON" in exc.message
    assert run.stream.interrupted is True


def test_chunk_parse_error_for_a_bad_field(twin: Any) -> None:
    bad = {"id": "x", "choices": [{"index": 0, "delta": {"content": 5}}]}
    run = twin.read([sse(chunk("a"), bad, chunk("b"))], raises=ChunkParseError)
    exc = run.error
    assert exc.position == 1
    assert exc.event == ServerSentEvent(data=json.dumps(bad))
    assert exc.__cause__ is None  # found by an explicit check, not a caught TypeError
    assert exc.completion.choices[0].message.content == "a"
    assert len(run.chunks) == 1


TRANSPORT_ERRORS = {
    "httpx": [httpx.ReadError("connection reset"), httpx.RemoteProtocolError("peer closed")],
    "httpx2": [httpx2.ReadError("connection reset"), httpx2.RemoteProtocolError("peer closed")],
}


@pytest.mark.parametrize(
    ("via", "error"),
    [
        (via, error)
        for lib, errors in TRANSPORT_ERRORS.items()
        for error in errors
        for via in (lib, f"connect:{lib}")
    ]
    + [
        ("iterable", ConnectionResetError(104, "Connection reset by peer")),
        ("sync-iterable", TimeoutError("timed out")),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_stream_interrupted_by_the_transport(twin: Any, via: str, error: Exception) -> None:
    body = sse(chunk("Hel"), chunk("lo"))
    run = twin.read(pieces(body, 6), via=via, error=error, raises=StreamInterruptedError)
    exc = run.error
    assert exc.__cause__ is error
    assert type(error).__name__ in exc.message
    assert exc.completion.choices[0].message.content == "Hello"
    assert exc.completion.choices[0].finish_reason is None
    assert exc.response is run.response
    assert len(run.chunks) == 2
    assert run.stream.interrupted is True
    assert run.stream.done is False
    assert not isinstance(exc, (httpx.HTTPError, httpx2.HTTPError, OSError))
    with pytest.raises(RuntimeError):
        iterate_again(run.stream)


def test_other_exceptions_of_the_source_are_not_wrapped(twin: Any) -> None:
    run = twin.read([sse(chunk("a"))], error=KeyError("bug"), raises=KeyError)
    assert not isinstance(run.error, SSEStreamError)


# --------------------------------------------------------------------------- JSON bodies


COMPLETION_BODY = {
    "id": "chatcmpl-9",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                    {"id": "call_2", "type": "function",
                     "function": {"name": "get_time", "arguments": "{}"}},
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        },
        {
            "index": 1,
            "message": {"role": "assistant", "content": "It is sunny.", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        },
    ],
    "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
    "system_fingerprint": "fp_1",
}  # fmt: skip


@pytest.mark.parametrize(
    ("via", "headers"),
    [
        ("httpx", {"content-type": "application/json"}),
        ("connect:httpx2", {"content-type": "application/json; charset=utf-8"}),
        ("httpx2", {}),
        ("iterable", None),
    ],
)
def test_a_plain_json_completion(twin: Any, via: str, headers: dict[str, str] | None) -> None:
    body = b"\n  " + json.dumps(COMPLETION_BODY, indent=1).encode()
    run = twin.read(pieces(body, 13), via=via, headers=headers)
    assert len(run.chunks) == 1
    assert run.chunks[0].object == "chat.completion.chunk"
    assert run.chunks[0].choices[1].delta.content == "It is sunny."
    assert run.stream.streamed is False
    assert run.stream.done is False
    assert run.stream.interrupted is False
    assert run.completion.to_dict() == COMPLETION_BODY
    if run.response is not None:
        assert run.closed is True


def test_a_plain_json_completion_with_a_bom(twin: Any) -> None:
    # The sniffing skips a UTF-8 BOM to find the "{", as the decoder strips it from an
    # event stream: the JSON body after it is the same completion.
    body = b"\xef\xbb\xbf" + json.dumps(COMPLETION_BODY).encode()
    run = twin.read(pieces(body, 2), via="httpx", headers={"content-type": "application/json"})
    assert run.stream.streamed is False
    assert run.completion.to_dict() == COMPLETION_BODY


def test_a_plain_json_error_body_with_status_200(twin: Any) -> None:
    body = json.dumps({"error": {"message": "model not found", "type": "invalid_request_error"}})
    run = twin.read(
        [body.encode()],
        via="httpx",
        headers={"content-type": "application/json"},
        raises=StreamAPIError,
    )
    assert run.error.message == "model not found"
    assert run.error.event is None
    assert run.stream.interrupted is True


def test_a_broken_json_body(twin: Any) -> None:
    run = twin.read([b'{"id": "x", "choices": ['], raises=ChunkParseError)
    assert isinstance(run.error.__cause__, json.JSONDecodeError)
    assert run.stream.interrupted is True


def test_streamed_is_true_for_an_event_stream(twin: Any) -> None:
    run = twin.read([sse(*HELLO, done=True)])
    assert run.stream.streamed is True


# --------------------------------------------------------------------------- the API


def test_get_final_completion(twin: Any) -> None:
    run = twin.read(pieces(sse(*HELLO, done=True)), via="httpx2", final=True)
    assert run.completion.choices[0].message.content == "Hello"
    assert run.stream.done is True
    assert run.closed is True


def test_get_final_completion_raises_the_stream_errors(twin: Any) -> None:
    body = sse(chunk("a")) + b"event: error\ndata: boom\n\n"
    run = twin.read([body], final=True, raises=StreamAPIError)
    assert run.error.completion.choices[0].message.content == "a"


def test_get_final_completion_after_some_chunks() -> None:
    stream = ChatStream(pieces(sse(*HELLO, done=True)))
    first = next(iter(stream))
    assert first.choices[0].delta.content == "Hel"
    assert stream.completion.choices[0].message.content == "Hel"
    completion = stream.get_final_completion()
    assert completion.choices[0].message.content == "Hello"
    assert completion == stream.completion


@pytest.mark.anyio
async def test_async_get_final_completion_after_some_chunks() -> None:
    stream = AsyncChatStream(pieces(sse(*HELLO, done=True)))
    first = await stream.__aiter__().__anext__()
    assert first.choices[0].delta.content == "Hel"
    completion = await stream.get_final_completion()
    assert completion.choices[0].message.content == "Hello"


def test_a_finished_stream_cannot_be_iterated_again(twin: Any) -> None:
    run = twin.read([sse(*HELLO, done=True)])
    with pytest.raises(RuntimeError):
        iterate_again(run.stream)
    # The result stays.
    assert run.completion.choices[0].message.content == "Hello"


def test_a_stream_ended_without_done_cannot_be_iterated_again(twin: Any) -> None:
    run = twin.read([sse(*HELLO)])
    with pytest.raises(RuntimeError):
        iterate_again(run.stream)


def test_keep_chunks(twin: Any) -> None:
    run = twin.read(pieces(sse(*HELLO, done=True)), via="connect:httpx", keep_chunks=True)
    assert run.stream.chunks == run.chunks
    assert [c.to_dict() for c in run.stream.chunks] == HELLO
    run = twin.read(pieces(sse(*HELLO, done=True)))
    assert run.stream.chunks == []


LIMITS = {
    "max_line_bytes": sse(chunk("a"), chunk("b" * 500)),
    "max_event_bytes": sse(chunk("a")) + b"data: x\n" * 150 + b"\n",
}


@pytest.mark.parametrize("size", [50, None], ids=["pieces", "whole"])
@pytest.mark.parametrize("limit_name", LIMITS)
def test_limit_exceeded_carries_the_completion(
    twin: Any, limit_name: str, size: int | None
) -> None:
    # The chunk "a" is complete before the oversized line or event begins: it is in the
    # completion however the body is split into reads.
    body = LIMITS[limit_name]
    reads = pieces(body, size) if size else [body]
    run = twin.read(reads, via="httpx", raises=LimitExceededError, **{limit_name: 200})
    exc = run.error
    assert exc.limit_name == limit_name
    assert exc.limit == 200
    assert exc.completion.choices[0].message.content == "a"
    assert exc.response is run.response
    assert run.stream.interrupted is True
    assert run.closed is True
    with pytest.raises(RuntimeError):
        iterate_again(run.stream)


def test_a_json_body_over_the_event_limit(twin: Any) -> None:
    body = json.dumps(COMPLETION_BODY).encode()
    run = twin.read(pieces(body, 64), max_event_bytes=100, raises=LimitExceededError)
    assert run.error.limit_name == "max_event_bytes"
    assert run.error.completion is not None
    assert run.error.completion.choices == []


def test_limits_none_lift_them(twin: Any) -> None:
    body = sse(chunk("x" * 200_000), chunk(None, "stop"))
    run = twin.read([body], max_line_bytes=None, max_event_bytes=None)
    assert len(run.completion.choices[0].message.content) == 200_000


@pytest.mark.parametrize("item", ["data: {}\n\n", 42, None, [b"data"]])
def test_a_source_item_that_is_not_bytes_raises_type_error(twin: Any, item: Any) -> None:
    run = twin.read([sse(chunk("a")), item], raises=TypeError)
    assert "bytes" in str(run.error)
    assert not isinstance(run.error, SSEStreamError)


def test_bytearray_and_memoryview_items(twin: Any) -> None:
    body = sse(*HELLO, done=True)
    run = twin.read([bytearray(body[:20]), memoryview(body[20:60]), body[60:]])
    assert run.completion.choices[0].message.content == "Hello"


@pytest.mark.parametrize("source", [42, object(), None])
def test_a_source_that_is_not_iterable(source: Any) -> None:
    with pytest.raises(TypeError, match="iterable of bytes"):
        list(ChatStream(source))


def test_a_sync_iterable_to_the_async_stream(anyio_backend: str) -> None:
    async def main() -> list[Any]:
        return [c async for c in AsyncChatStream([sse(*HELLO, done=True)])]

    assert len(anyio.run(main, backend=anyio_backend)) == 3


def test_gzip_content_encoding_is_undone(twin: Any) -> None:
    body = gzip.compress(sse(*HELLO, done=True))
    run = twin.read(
        pieces(body, 7),
        via="httpx",
        headers={"content-type": "text/event-stream", "content-encoding": "gzip"},
    )
    assert run.completion.choices[0].message.content == "Hello"


def test_response_attribute(twin: Any) -> None:
    run = twin.read([sse(*HELLO, done=True)], via="httpx2")
    assert run.stream.response is run.response
    assert isinstance(run.response, httpx2.Response)
    run = twin.read([sse(*HELLO, done=True)])
    assert run.stream.response is None


# --------------------------------------------------------------------------- closing


def make_client(lib: Any, source: list[bytes], seen: list[Any]) -> Any:
    def body() -> Any:
        for piece in source:
            seen.append(piece)
            yield piece

    def handler(request: Any) -> Any:
        return lib.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    return lib.Client(transport=lib.MockTransport(handler))


def make_async_client(lib: Any, source: list[bytes], seen: list[Any]) -> Any:
    async def body() -> Any:
        for piece in source:
            seen.append(piece)
            yield piece

    async def handler(request: Any) -> Any:
        return lib.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    return lib.AsyncClient(transport=lib.MockTransport(handler))


@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
def test_context_manager_closes_the_response(lib: str) -> None:
    seen: list[Any] = []
    source = pieces(sse(*HELLO, done=True), 8)
    with make_client(LIBS[lib], source, seen) as client, client.stream("POST", URL) as response:
        with ChatStream(response) as stream:
            first = next(stream)
            assert first.choices[0].delta.content == "Hel"
            assert response.is_closed is False
        assert response.is_closed is True
        assert len(seen) < len(source)  # stopped early: the rest was never read
        assert stream.completion.choices[0].message.content == "Hel"
        stream.close()  # again: harmless


@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
def test_close_before_iterating_closes_the_response(lib: str) -> None:
    seen: list[Any] = []
    with make_client(LIBS[lib], [sse(*HELLO)], seen) as client, client.stream("POST", URL) as r:
        stream = ChatStream(r)
        stream.close()
        assert r.is_closed is True
        stream.close()
    assert seen == []


def test_close_closes_a_generator_source() -> None:
    closed = []

    def source() -> Any:
        try:
            yield sse(chunk("a"))
            yield sse(chunk("b"))
        finally:
            closed.append(True)

    with ChatStream(source()) as stream:
        assert next(stream).choices[0].delta.content == "a"
    assert closed == [True]


@pytest.mark.anyio
@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
async def test_async_context_manager_closes_the_response(lib: str) -> None:
    seen: list[Any] = []
    source = pieces(sse(*HELLO, done=True), 8)
    client = make_async_client(LIBS[lib], source, seen)
    async with client, client.stream("POST", URL) as response:
        async with AsyncChatStream(response) as stream:
            first = await stream.__anext__()
            assert first.choices[0].delta.content == "Hel"
            assert response.is_closed is False
        assert response.is_closed is True
        assert len(seen) < len(source)
        await stream.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
async def test_async_aclose_before_iterating(lib: str) -> None:
    seen: list[Any] = []
    client = make_async_client(LIBS[lib], [sse(*HELLO)], seen)
    async with client, client.stream("POST", URL) as response:
        stream = AsyncChatStream(response)
        await stream.aclose()
        assert response.is_closed is True
        await stream.aclose()
    assert seen == []


@pytest.mark.anyio
async def test_async_aclose_closes_an_async_generator_source() -> None:
    closed = []

    async def source() -> Any:
        try:
            yield sse(chunk("a"))
            yield sse(chunk("b"))
        finally:
            closed.append(True)

    async with AsyncChatStream(source()) as stream:
        assert (await stream.__anext__()).choices[0].delta.content == "a"
    assert closed == [True]


# --------------------------------------------------------------------------- connect_chat


@pytest.mark.parametrize("via", ["connect:httpx", "connect:httpx2"])
def test_connect_chat_sends_the_request(twin: Any, via: str) -> None:
    run = twin.read(pieces(sse(*HELLO, done=True)), via=via)
    (request,) = run.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers.get_list("accept") == ["text/event-stream"]
    assert request.headers["cache-control"] == "no-store"
    assert json.loads(request.content) == {"model": "test-model", "stream": True, "messages": []}
    assert isinstance(run.response, LIBS[via.split(":")[1]].Response)
    assert run.completion.choices[0].message.content == "Hello"
    assert run.closed is True


def handler_seeing(lib: Any, requests: list[Any], *, is_async: bool) -> Any:
    def handler(request: Any) -> Any:
        requests.append(request)
        return lib.Response(200, headers={"content-type": "text/event-stream"},
                            content=sse(*HELLO, done=True))  # fmt: skip

    async def ahandler(request: Any) -> Any:
        return handler(request)

    return ahandler if is_async else handler


@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
def test_connect_chat_keeps_the_callers_headers(lib: str) -> None:
    module = LIBS[lib]
    requests: list[Any] = []
    transport = module.MockTransport(handler_seeing(module, requests, is_async=False))
    with module.Client(transport=transport) as client:
        with connect_chat(
            client, "POST", URL, json={"stream": True}, headers={"Authorization": "Bearer k"}
        ) as stream:
            assert [c.choices[0].delta.content for c in stream] == ["Hel", "lo", None]
            response = stream.response
        assert response.is_closed is True
        with connect_chat(
            client, "POST", URL, headers={"accept": "text/event-stream; q=1"}
        ) as stream:
            stream.get_final_completion()
    assert requests[0].headers["authorization"] == "Bearer k"
    assert requests[0].headers["accept"] == "text/event-stream"
    # A caller's Accept, in any case, replaces the default rather than being sent with it.
    assert requests[1].headers.get_list("accept") == ["text/event-stream; q=1"]


@pytest.mark.anyio
@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
async def test_aconnect_chat_closes_the_response_when_left_early(lib: str) -> None:
    module = LIBS[lib]
    requests: list[Any] = []
    transport = module.MockTransport(handler_seeing(module, requests, is_async=True))
    async with module.AsyncClient(transport=transport) as client:
        async with aconnect_chat(client, "GET", URL, keep_chunks=True) as stream:
            async for chunk_ in stream:
                assert chunk_.choices[0].delta.content == "Hel"
                break
            response = stream.response
            assert stream.chunks == [chunk_]
        assert response.is_closed is True
    assert requests[0].method == "GET"
    assert requests[0].headers["accept"] == "text/event-stream"


def test_connect_chat_raises_head_errors() -> None:
    def handler(request: Any) -> Any:
        return httpx.Response(
            401, json={"error": {"message": "bad key", "code": "invalid_api_key"}}
        )

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
        connect_chat(client, "POST", URL) as stream,
        pytest.raises(APIStatusError) as info,
    ):
        stream.get_final_completion()
    assert info.value.code == "invalid_api_key"
    assert info.value.response.is_closed is True


# --------------------------------------------------------------------------- iter_events


EVENTS_BODY = (
    b": comment\n\nevent: ping\ndata: {}\n\nid: 7\nretry: 1500\ndata: a\ndata: b\n\n"
    + b"data: [DONE]\n\ndata: after\n\n"
)
EXPECTED_EVENTS = [
    ServerSentEvent(event="ping", data="{}"),
    ServerSentEvent(data="a\nb", id="7", retry=1500),
    ServerSentEvent(data="[DONE]", id="7"),  # generic SSE: [DONE] is an event like any
    ServerSentEvent(data="after", id="7"),
]


def events_of(source: Any, mode: str, **kwargs: Any) -> list[ServerSentEvent]:
    if mode == "sync":
        return list(iter_events(source, **kwargs))

    async def main() -> list[ServerSentEvent]:
        return [event async for event in aiter_events(source, **kwargs)]

    return anyio.run(main, backend=mode)


@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
def test_iter_events_on_iterables(mode: str) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(EVENTS_BODY) + decoder.close() == EXPECTED_EVENTS
    assert events_of(pieces(EVENTS_BODY, 3), mode) == EXPECTED_EVENTS
    assert events_of([EVENTS_BODY], mode) == EXPECTED_EVENTS


@pytest.mark.parametrize("mode", ["asyncio", "trio"])
def test_aiter_events_on_an_async_iterable(mode: str) -> None:
    async def source() -> Any:
        for piece in pieces(EVENTS_BODY, 3):
            yield piece

    async def main() -> list[ServerSentEvent]:
        return [event async for event in aiter_events(source())]

    assert anyio.run(main, backend=mode) == EXPECTED_EVENTS


@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
def test_iter_events_on_a_response(lib: str) -> None:
    seen: list[Any] = []
    client = make_client(LIBS[lib], pieces(EVENTS_BODY, 5), seen)
    with client, client.stream("GET", URL) as response:
        assert list(iter_events(response)) == EXPECTED_EVENTS
        assert response.is_closed is True


@pytest.mark.anyio
@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
async def test_aiter_events_on_a_response(lib: str) -> None:
    seen: list[Any] = []
    client = make_async_client(LIBS[lib], pieces(EVENTS_BODY, 5), seen)
    async with client, client.stream("GET", URL) as response:
        assert [e async for e in aiter_events(response)] == EXPECTED_EVENTS
        assert response.is_closed is True


@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
def test_iter_events_errors(mode: str) -> None:
    with pytest.raises(TypeError, match="bytes"):
        events_of([b"data: a\n\n", "data: b\n\n"], mode)
    with pytest.raises(LimitExceededError):
        events_of([b"data: " + b"x" * 100], mode, max_line_bytes=50)

    def broken() -> Any:
        yield b"data: a\n\n"
        raise ConnectionResetError("reset")

    with pytest.raises(StreamInterruptedError) as info:
        events_of(broken(), mode)
    assert isinstance(info.value.__cause__, ConnectionResetError)


@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
def test_iter_events_head_errors(lib: str) -> None:
    module = LIBS[lib]

    def handler(request: Any) -> Any:
        if request.url.path == "/error":
            return module.Response(429, json={"error": {"message": "slow down"}})
        return module.Response(200, html="<p>hi</p>")

    with module.Client(transport=module.MockTransport(handler)) as client:
        with client.stream("GET", "https://x.test/error") as response:
            with pytest.raises(APIStatusError, match="slow down"):
                list(iter_events(response))
            assert response.is_closed is True
        with (
            client.stream("GET", "https://x.test/page") as response,
            pytest.raises(UnexpectedContentTypeError),
        ):
            list(iter_events(response))


def test_iter_events_stops_reading_when_closed() -> None:
    seen: list[Any] = []

    def source() -> Any:
        for piece in pieces(EVENTS_BODY, 10):
            seen.append(piece)
            yield piece

    events = iter_events(source())
    assert next(events) == EXPECTED_EVENTS[0]
    events.close()
    assert len(seen) < len(pieces(EVENTS_BODY, 10))


@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
def test_iter_events_refuses_a_json_body(lib: str) -> None:
    # A JSON body is not an event stream: iter_events would find no event in it, so a
    # 200 {"error": ...} would pass silently. ChatStream reads such bodies instead.
    module = LIBS[lib]

    def handler(request: Any) -> Any:
        return module.Response(200, json={"error": {"message": "quota"}})

    with (
        module.Client(transport=module.MockTransport(handler)) as client,
        client.stream("GET", "https://x.test/") as response,
        pytest.raises(UnexpectedContentTypeError, match="quota"),
    ):
        list(iter_events(response))


def test_close_ends_the_stream_even_with_chunks_decoded() -> None:
    # One read holds three chunks: after the first, close() must leave nothing to
    # yield, and the stream is interrupted (no [DONE], no finish_reason).
    body = sse(chunk("a"), chunk("b"), chunk("c"), chunk(None, "stop"), done=True)
    stream = ChatStream([body])
    first = next(stream)
    assert first.choices[0].delta.content == "a"
    stream.close()
    with pytest.raises(StopIteration):
        next(stream)
    with pytest.raises(RuntimeError, match="has ended"):
        iter(stream)
    assert stream.interrupted is True
    assert stream.done is False
    assert stream.completion.choices[0].message.content == "a"


def test_close_after_the_end_keeps_the_stream_complete() -> None:
    stream = ChatStream([sse(chunk("a"), chunk(None, "stop"), done=True)])
    assert stream.get_final_completion().choices[0].message.content == "a"
    stream.close()
    assert (stream.done, stream.interrupted) == (True, False)


@pytest.mark.parametrize("via", ["iterable", "httpx"])
def test_an_error_in_a_read_of_many_events_comes_after_its_chunks_and_ends_the_stream(
    twin: Any, via: str
) -> None:
    # One read brings every event: the chunks are taken while the parser holds the
    # rest (without the reader's pull), the error event among them ends the stream
    # just as a pull does: recorded on the stream, the response closed.
    body = sse(chunk("Hel"), chunk("lo")) + b'event: error\ndata: {"message": "x"}\n\n'
    body += sse(chunk("never"))
    run = twin.read([body], via=via, raises=StreamAPIError)
    assert [c.choices[0].delta.content for c in run.chunks] == ["Hel", "lo"]
    assert run.stream.error is run.error
    assert run.error.completion.choices[0].message.content == "Hello"
    if run.response is not None:
        assert run.closed is True
    with pytest.raises(RuntimeError):
        iterate_again(run.stream)
