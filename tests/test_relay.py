"""Relay: upstream replayed through a gateway app over loopback, read by a real client.

The gateway is a Starlette app served by uvicorn on 127.0.0.1 (``running_server``). For
each request it opens the upstream stream (a recording replayed by ``ReplayTransport``,
with the faults the request asks for), wraps it in an ``AsyncChatStream`` and answers
with ``Relay(...).response()``. The client reads the relayed stream with a real
``AsyncChatStream`` (asyncio and trio) and must get what reading upstream directly gives:
the same completion, or the same error as a ``StreamAPIError``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ssestream import (
    AsyncChatStream,
    ChatCompletion,
    ChatStream,
    Relay,
    SSEStreamError,
    StreamAPIError,
    aconnect_chat,
    relay_headers,
)
from ssestream.testing import ReplayTransport, create_app, running_server

FIXTURES = Path(__file__).parent / "fixtures"
RECORDINGS = sorted(
    str(path.relative_to(FIXTURES))
    for path in [*(FIXTURES / "openai").glob("*.sse"), *(FIXTURES / "providers").glob("*.sse")]
)
MIDSTREAM_ERROR = "providers/openai-gpt-4.1-midstream-error.sse"
TOOLS = "openai/parse_multiple_pydantic_tools__f82268f2fefd.sse"
UPSTREAM_URL = "https://upstream.test/v1/chat/completions"

pytestmark = pytest.mark.anyio


class Gateway:
    """The gateway app and what it served: ``(relay, upstream)`` per request."""

    def __init__(self) -> None:
        self.served: list[tuple[Relay, AsyncChatStream]] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> Any:
        body = await request.json()
        client = httpx.AsyncClient(
            transport=ReplayTransport(FIXTURES / body["model"], **body.get("x_replay", {}))
        )
        upstream_request = client.build_request("POST", UPSTREAM_URL, json=body)
        upstream = AsyncChatStream(await client.send(upstream_request, stream=True))
        transform = None
        if body.get("x_upper"):

            def transform(chunk: Any) -> Any:
                data = json.loads(json.dumps(chunk.to_dict()))  # a copy: never mutate
                for choice in data.get("choices", []):
                    if (choice.get("delta") or {}).get("content"):
                        choice["delta"]["content"] = choice["delta"]["content"].upper()
                return data

        relay = Relay(upstream, keepalive=body.get("x_keepalive", 15.0), transform=transform)
        self.served.append((relay, upstream))
        return relay.response(background=BackgroundTask(client.aclose))


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[Gateway, str]]:
    gateway = Gateway()
    with running_server(gateway.app) as url:
        yield gateway, f"{url}/v1/chat/completions"


def read_directly(name: str, **replay: Any) -> tuple[ChatCompletion, SSEStreamError | None]:
    """What a client reading upstream itself gets."""
    client = httpx.Client(transport=ReplayTransport(FIXTURES / name, **replay))
    with client, client.stream("POST", UPSTREAM_URL, json={}) as response:
        stream = ChatStream(response)
        try:
            for _ in stream:
                pass
        except SSEStreamError as error:
            return stream.completion, error
        return stream.completion, None


async def read_relayed(url: str, body: dict[str, Any]) -> tuple[AsyncChatStream, Exception | None]:
    async with (
        httpx.AsyncClient(timeout=30) as client,
        aconnect_chat(client, "POST", url, json=body) as stream,
    ):
        try:
            async for _ in stream:
                pass
        except SSEStreamError as error:
            return stream, error
        return stream, None


@pytest.mark.parametrize("name", RECORDINGS)
async def test_a_relayed_stream_gives_what_upstream_gives(
    gateway: tuple[Gateway, str], name: str
) -> None:
    app, url = gateway
    expected, upstream_error = read_directly(name, split="random", seed=7)
    stream, error = await read_relayed(url, {"model": name, "x_replay": {"split": "random"}})
    assert stream.completion == expected
    relay, _ = app.served[-1]
    assert relay.completion == expected
    if upstream_error is None:
        assert error is None
        assert stream.done
        assert relay.done
    else:
        assert isinstance(error, StreamAPIError)
        assert not relay.done


async def test_an_upstream_error_event_arrives_as_the_same_stream_api_error(
    gateway: tuple[Gateway, str],
) -> None:
    app, url = gateway
    expected, upstream_error = read_directly(MIDSTREAM_ERROR)
    assert isinstance(upstream_error, StreamAPIError)
    stream, error = await read_relayed(url, {"model": MIDSTREAM_ERROR})
    assert isinstance(error, StreamAPIError)
    fields = ("message", "error_type", "code", "param")
    assert [getattr(error, f) for f in fields] == [getattr(upstream_error, f) for f in fields]
    assert error.completion == expected
    assert not stream.done  # no [DONE] after an error
    relay, _ = app.served[-1]
    assert relay.error is not None
    assert relay.error.message == upstream_error.message


@pytest.mark.parametrize("cut_with", ["reset", "incomplete"])
async def test_a_broken_upstream_arrives_as_a_stream_api_error(
    gateway: tuple[Gateway, str], cut_with: str
) -> None:
    _, url = gateway
    replay = {"cut_after_events": 5, "cut_with": cut_with}
    expected, upstream_error = read_directly(TOOLS, **replay)
    assert upstream_error is not None
    stream, error = await read_relayed(url, {"model": TOOLS, "x_replay": replay})
    assert isinstance(error, StreamAPIError)
    assert (error.error_type, error.code) == ("server_error", "stream_interrupted")
    assert error.message == upstream_error.message
    assert stream.completion == expected
    assert not stream.done


async def test_keepalives_while_upstream_is_slow(gateway: tuple[Gateway, str]) -> None:
    """Upstream sends a read every 0.1 s; the relay's keep-alive is 0.02 s."""
    _, url = gateway
    body = {"model": TOOLS, "x_replay": {"gap": 0.1, "split": 400}, "x_keepalive": 0.02}
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", url, json=body) as response,
    ):
        assert response.headers["x-accel-buffering"] == "no"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        raw = b"".join([piece async for piece in response.aiter_raw()])
    assert raw.count(b": keep-alive\n\n") >= 3
    stream = ChatStream([raw])
    for _ in stream:
        pass
    assert stream.completion == read_directly(TOOLS)[0]


async def test_the_transform_changes_what_is_sent_not_the_completion(
    gateway: tuple[Gateway, str],
) -> None:
    app, url = gateway
    name = "openai/parse_pydantic_model__7e5ea4d12e7c.sse"
    expected, _ = read_directly(name)
    stream, error = await read_relayed(url, {"model": name, "x_upper": True})
    assert error is None
    content = expected.choices[0].message.content
    assert stream.completion.choices[0].message.content == content.upper() != content
    assert app.served[-1][0].completion == expected


async def test_a_client_that_goes_away_closes_upstream(gateway: tuple[Gateway, str]) -> None:
    """Upstream stalls after 3 events (it would wait forever); the client reads one chunk
    and disconnects: the relay ends and closes upstream."""
    app, url = gateway
    body = {"model": TOOLS, "x_replay": {"stall_after_events": 3}, "x_keepalive": 0.05}
    async with (
        httpx.AsyncClient(timeout=30) as client,
        aconnect_chat(client, "POST", url, json=body) as stream,
    ):
        await stream.__anext__()
    relay, upstream = app.served[-1]
    with anyio.fail_after(10):
        while not (upstream.response is not None and upstream.response.is_closed):
            await anyio.sleep(0.02)
    assert not relay.done


# -- without a server -----------------------------------------------------------------


async def quiet_then(chunks: list[dict[str, Any]], pause: float) -> AsyncIterator[dict[str, Any]]:
    await anyio.sleep(pause)
    for chunk in chunks:
        yield chunk


CHUNK = {
    "id": "c1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
}


async def test_keepalives_come_while_waiting_for_the_first_chunk() -> None:
    relay = Relay(quiet_then([CHUNK], 0.3), keepalive=0.02)
    received = [data async for data in relay]
    chunk = b"data: " + json.dumps(CHUNK, separators=(",", ":")).encode() + b"\n\n"
    assert received[-2:] == [chunk, b"data: [DONE]\n\n"]
    assert set(received[:-2]) == {b": keep-alive\n\n"}
    assert len(received) - 2 >= 3
    assert relay.completion.choices[0].message.content == "hi"


async def test_no_keepalive_and_a_dropping_transform() -> None:
    relay = Relay(quiet_then([CHUNK, CHUNK], 0.05), keepalive=None, transform=lambda c: None)
    assert [data async for data in relay] == [b"data: [DONE]\n\n"]
    assert relay.completion.choices[0].message.content == "hihi"


@pytest.mark.parametrize("keepalive", [None, 5.0])
async def test_a_failure_that_is_not_a_stream_error_propagates(keepalive: float | None) -> None:
    async def broken() -> AsyncIterator[dict[str, Any]]:
        yield CHUNK
        raise KeyError("a bug upstream")

    relay = Relay(broken(), keepalive=keepalive)
    body = relay.__aiter__()
    assert (await body.__anext__()).startswith(b"data: {")
    with pytest.raises(KeyError, match="a bug upstream"):
        await body.__anext__()
    assert not relay.done


@pytest.mark.parametrize("keepalive", [None, 5.0])
async def test_a_failing_transform_propagates(keepalive: float | None) -> None:
    def transform(chunk: Any) -> Any:
        raise ZeroDivisionError("transform")

    relay = Relay(quiet_then([CHUNK], 0), keepalive=keepalive, transform=transform)
    with pytest.raises(ZeroDivisionError, match="transform"):
        await relay.__aiter__().__anext__()
    assert relay.completion.choices[0].message.content == "hi"


@pytest.mark.parametrize("keepalive", [None, 5.0])
async def test_aclose_closes_upstream_in_the_iterating_task(keepalive: float | None) -> None:
    closed = []

    async def endless() -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                yield CHUNK
                await anyio.sleep(0.01)
        finally:
            closed.append(True)

    relay = Relay(endless(), keepalive=keepalive)
    async for _ in relay:
        break
    await relay.aclose()
    await relay.aclose()
    assert closed == [True]
    with pytest.raises(RuntimeError, match="only once"):
        relay.__aiter__()


async def test_misuse_and_headers() -> None:
    with pytest.raises(ValueError, match="positive"):
        Relay(quiet_then([], 0), keepalive=0)
    assert relay_headers() == {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    }
    assert relay_headers({"cache-control": "no-store", "X-Request-Id": "1"}) == {
        "Content-Type": "text/event-stream; charset=utf-8",
        "X-Accel-Buffering": "no",
        "cache-control": "no-store",
        "X-Request-Id": "1",
    }


async def test_a_fast_upstream_gets_no_keepalive() -> None:
    async def fast() -> AsyncIterator[dict[str, Any]]:
        for _ in range(200):
            yield CHUNK

    received = [data async for data in Relay(fast(), keepalive=30.0)]
    assert len(received) == 201
    assert b": keep-alive\n\n" not in received


# -- ssestream check against a gateway --------------------------------------------------


def forwarding_gateway(upstream: str) -> Starlette:
    """A gateway in front of ``upstream``: models and non-streamed answers forwarded as
    they are, streams relayed."""

    async def models(request: Request) -> Response:
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.get(f"{upstream}/v1/models")
        return Response(answer.content, answer.status_code, media_type="application/json")

    async def chat(request: Request) -> Response:
        body = await request.json()
        client = httpx.AsyncClient(timeout=30)
        url = f"{upstream}/v1/chat/completions"
        if not body.get("stream"):
            async with client:
                answer = await client.post(url, json=body)
            return Response(answer.content, answer.status_code, media_type="application/json")
        upstream_response = await client.send(
            client.build_request("POST", url, json=body), stream=True
        )
        relay = Relay(AsyncChatStream(upstream_response))
        return relay.response(background=BackgroundTask(client.aclose))  # type: ignore[no-any-return]

    return Starlette(
        routes=[
            Route("/v1/models", models),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
    )


def test_ssestream_check_finds_a_relayed_stream_healthy(capsys: pytest.CaptureFixture[str]) -> None:
    """The paced upstream of tests/test_cli_check.py behind the gateway: check reports
    no problem (no buffering, [DONE], usage, chunks as OpenAI writes them)."""
    from ssestream.cli import main
    from ssestream.cli._check import DEMO_RECORDING

    recording = Path(__file__).parents[1] / "src/ssestream/_data" / DEMO_RECORDING
    upstream_app = create_app([recording], event_gap=0.005, first_token_delay=0.5)
    with (
        running_server(upstream_app) as upstream,
        running_server(forwarding_gateway(upstream)) as gateway,
    ):
        status = main(
            [
                "check",
                "--json",
                "--slow-first-token",
                "0.25",
                "--base-url",
                f"{gateway}/v1",
                "--model",
                "glm-4.7-flash",
                "--timeout",
                "10",
            ]
        )
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == []
    assert status == report["exit_status"] == 0
    assert report["metrics"]["streaming"]["status"] == 200
