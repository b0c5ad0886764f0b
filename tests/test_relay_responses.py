"""Relay of Responses API streams: what a client reads from the relay is what upstream sent.

Every Responses recording is read by an ``AsyncResponseStream`` (in random pieces), relayed,
and the relayed bytes read again by a ``ResponseStream``: the events, the rebuilt
response and the error must be those of reading the recording directly. One test goes
through a Starlette gateway served over loopback and a real client, as in
``test_relay.py``; the rest iterate the relay's body directly (asyncio and trio).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from test_recordings import split

from ssestream import (
    AsyncResponseStream,
    Relay,
    ResponseStream,
    SSEStreamError,
    StreamAPIError,
    aconnect_responses,
    encode_response_event,
)
from ssestream.testing import ReplayTransport, running_server

RESPONSES = sorted((Path(__file__).parent / "fixtures" / "responses").glob("*.sse"))
QUOTA = next(p for p in RESPONSES if p.name == "vercel-ai-openai-error-insufficient-quota.sse")
TEXT = next(p for p in RESPONSES if p.name == "fantasy-openai-gpt-4o-text.sse")

pytestmark = pytest.mark.anyio


def read(pieces: list[bytes]) -> tuple[list[dict[str, Any]], Any, SSEStreamError | None]:
    """Events (as dicts), snapshot and error of reading a body with ResponseStream."""
    stream = ResponseStream(pieces)
    events: list[dict[str, Any]] = []
    try:
        events.extend(event.to_dict() for event in stream)
    except SSEStreamError as exc:
        return events, stream.snapshot, exc
    return events, stream.snapshot, None


async def relayed(pieces: list[bytes], **kwargs: Any) -> tuple[Relay, bytes]:
    relay = Relay(AsyncResponseStream(pieces), **kwargs)
    return relay, b"".join([data async for data in relay])


@pytest.mark.parametrize("keepalive", [None, 15.0])
@pytest.mark.parametrize("path", RESPONSES, ids=lambda p: p.stem[:48])
async def test_a_relayed_stream_reads_as_upstream(path: Path, keepalive: float | None) -> None:
    raw = path.read_bytes()
    events, snapshot, error = read([raw])
    relay, body = await relayed(split(raw, "random"), keepalive=keepalive)
    got_events, got_snapshot, got_error = read([body])
    assert got_events == events
    assert got_snapshot == snapshot == relay.snapshot
    assert b"[DONE]" not in body  # OpenAI ends a Responses stream with its terminal event
    if error is None:
        assert got_error is None
        assert relay.done
        assert relay.error is None
    else:
        # The error event came back as the same error (code, message, param).
        assert isinstance(got_error, StreamAPIError)
        assert isinstance(error, StreamAPIError)
        assert (got_error.code, got_error.message, got_error.param) == (
            error.code,
            error.message,
            error.param,
        )
        assert relay.error is not None
        assert not relay.done


async def test_an_interrupted_upstream_is_relayed_interrupted() -> None:
    """Upstream cut before its terminal event: the relay adds no end of its own, so the
    client sees the stream interrupted, as it would upstream."""
    raw = TEXT.read_bytes()
    cut = raw[: raw.index(b"event: response.completed")]
    relay, body = await relayed([cut])
    stream = ResponseStream([body])
    for _ in stream:
        pass
    assert stream.interrupted
    assert stream.terminal_event is None
    assert relay.done  # upstream ended without an error
    assert relay.snapshot.status == "in_progress"


async def test_events_of_your_own_with_keepalives_and_a_transform() -> None:
    raw = TEXT.read_bytes()
    payloads = [
        json.loads(line[6:]) for line in raw.decode().split("\n") if line.startswith("data: ")
    ]

    async def slow() -> AsyncIterator[dict[str, Any]]:
        await anyio.sleep(0.3)
        for payload in payloads:
            yield payload

    def upper(event: Any) -> Any:
        if event.get("type") != "response.output_text.delta":
            return event
        return {**event, "delta": event["delta"].upper()}

    relay = Relay(slow(), api="responses", keepalive=0.02, transform=upper)
    received = [data async for data in relay]
    assert received[0] == b": keep-alive\n\n"
    assert received[-1] == encode_response_event(payloads[-1])
    stream = ResponseStream(received)
    text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
    assert text == relay.snapshot.output_text.upper()  # the snapshot: before the transform
    assert relay.snapshot.output_text


async def test_an_error_event_of_your_own_becomes_the_relays_error_event() -> None:
    error = {"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": None}

    async def upstream() -> AsyncIterator[dict[str, Any]]:
        yield {"type": "response.created", "response": {"id": "r", "status": "in_progress"}}
        yield error
        yield {"type": "response.in_progress", "response": {"id": "r"}}  # never relayed

    relay = Relay(upstream(), api="responses", keepalive=None)
    received = [data async for data in relay]
    assert len(received) == 2
    assert received[1].startswith(b"event: error\n")
    assert isinstance(relay.error, StreamAPIError)
    with pytest.raises(StreamAPIError) as caught:
        list(ResponseStream(received))
    assert (caught.value.code, caught.value.message) == ("rate_limit_exceeded", "slow down")


async def test_misuse() -> None:
    raw = TEXT.read_bytes()
    relay = Relay(AsyncResponseStream([raw]))
    with pytest.raises(RuntimeError, match="snapshot"):
        relay.completion  # noqa: B018
    with pytest.raises(ValueError, match="api"):
        Relay(AsyncResponseStream([raw]), api="completions")
    chat = Relay(AsyncResponseStream([raw]), api="chat")
    with pytest.raises(RuntimeError, match="completion"):
        chat.snapshot  # noqa: B018
    await relay.aclose()
    await chat.aclose()


def test_encode_response_event_refuses_what_would_not_read_back() -> None:
    with pytest.raises(ValueError, match="type"):
        encode_response_event({"delta": "x"})
    with pytest.raises(ValueError, match="line end"):
        encode_response_event({"type": "response.created\ndata: {}"})
    with pytest.raises(TypeError):
        encode_response_event(7)


async def test_through_a_gateway_over_loopback() -> None:
    """A Starlette gateway relays /v1/responses from a replayed upstream; a real client
    reads it with aconnect_responses."""
    raw = QUOTA.read_bytes()
    relays: list[Relay] = []

    async def responses(request: Request) -> Any:
        client = httpx.AsyncClient(transport=ReplayTransport(TEXT))
        upstream_request = client.build_request("POST", "https://upstream.test/v1/responses")
        upstream = AsyncResponseStream(await client.send(upstream_request, stream=True))
        relays.append(Relay(upstream))
        return relays[-1].response()

    app = Starlette(routes=[Route("/v1/responses", responses, methods=["POST"])])
    with running_server(app) as url:
        async with (
            httpx.AsyncClient(timeout=30) as client,
            aconnect_responses(client, "POST", f"{url}/v1/responses", json={}) as stream,
        ):
            events = [event.to_dict() async for event in stream]
    assert events == read([TEXT.read_bytes()])[0]
    assert stream.snapshot == relays[0].snapshot
    assert raw  # the error recording is covered by test_a_relayed_stream_reads_as_upstream
