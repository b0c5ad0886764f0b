"""Third-party consumers on ReplayTransport: the official openai SDK and httpx-sse.

The openai SDK runs unchanged (``http_client=`` an httpx2 or httpx client whose
transport is a ReplayTransport) on every recording of ``fixtures/openai``, and what it
rebuilds with ``ChatCompletionStreamState`` must equal the raw stream's content, folded
here by a few independent lines. Then what the SDK reports for each fault.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx_sse
import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState

from ssestream import (
    APIStatusError,
    AsyncChatStream,
    ChatStream,
    SSEDecoder,
    SSEStreamError,
    StreamInterruptedError,
)
from ssestream.testing import (
    BAD_GATEWAY_502,
    RATE_LIMIT_429,
    SERVER_ERROR_500,
    Recording,
    ReplayTransport,
    UnmatchedRequestError,
    load_recording,
)

FIXTURES = Path(__file__).parent / "fixtures"
OPENAI = sorted((FIXTURES / "openai").glob("*.sse"))
PROVIDERS = sorted((FIXTURES / "providers").glob("*.sse"))
TOOL_CALL = FIXTURES / "openai" / "parse_pydantic_tool__c6aa7e397b71.sse"
BASE_URL = "https://api.openai.com/v1"
MESSAGES = [{"role": "user", "content": "What's the weather like in Edinburgh?"}]


@pytest.fixture(params=["sync", "asyncio", "trio"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(mode: str) -> str:
    return "asyncio" if mode == "sync" else mode


pytestmark = pytest.mark.anyio


def raw_content(body: bytes) -> dict[int, dict[str, Any]]:
    """Per choice index: content, refusal, tool calls and finish_reason, folded from the
    raw chunks (strings concatenated, tool calls keyed by their ``index``)."""
    decoder = SSEDecoder()
    choices: dict[int, dict[str, Any]] = {}
    for event in decoder.feed(body) + decoder.close():
        if event.data == "[DONE]":
            continue
        for choice in event.json()["choices"]:
            out = choices.setdefault(
                choice["index"],
                {"content": None, "refusal": None, "tool_calls": {}, "finish_reason": None},
            )
            delta = choice["delta"]
            for key in ("content", "refusal"):
                if delta.get(key) is not None:
                    out[key] = (out[key] or "") + delta[key]
            for call in delta.get("tool_calls") or []:
                slot = out["tool_calls"].setdefault(
                    call["index"], {"id": None, "name": None, "arguments": ""}
                )
                function = call.get("function") or {}
                slot["id"] = call.get("id") or slot["id"]
                slot["name"] = function.get("name") or slot["name"]
                slot["arguments"] += function.get("arguments") or ""
            out["finish_reason"] = choice.get("finish_reason") or out["finish_reason"]
    return choices


def sdk_content(completion: Any) -> dict[int, dict[str, Any]]:
    """The same view of what the openai SDK rebuilt."""
    return {
        choice.index: {
            "content": choice.message.content,
            "refusal": choice.message.refusal,
            "tool_calls": {
                index: {
                    "id": call.id,
                    "name": call.function.name,
                    "arguments": call.function.arguments,
                }
                for index, call in enumerate(choice.message.tool_calls or [])
            },
            "finish_reason": choice.finish_reason,
        }
        for choice in completion.choices
    }


@dataclass
class SDKRun:
    """What the openai SDK gave: the chunks, its accumulator state, the error raised."""

    chunks: list[Any] = field(default_factory=list)
    state: ChatCompletionStreamState[Any] = field(default_factory=ChatCompletionStreamState)
    error: Exception | None = None

    @property
    def completion(self) -> Any:
        try:
            return self.state.get_final_completion()
        except openai.LengthFinishReasonError as exc:
            # get_final_completion() refuses finish_reason "length" even when no
            # response_format asks for parsing; the rebuilt completion is on the error.
            return exc.completion


async def run_sdk(
    transport: ReplayTransport,
    mode: str,
    *,
    http: str = "httpx2",
    max_retries: int = 0,
    timeout: float = 5.0,
) -> SDKRun:
    """``client.chat.completions.create(..., stream=True)``, sync or async, unchanged."""
    lib = importlib.import_module(http)
    run = SDKRun()
    if mode == "sync":
        client = openai.OpenAI(
            api_key="x",
            base_url=BASE_URL,
            max_retries=max_retries,
            http_client=lib.Client(transport=transport, timeout=timeout),
        )
        try:
            stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
            for chunk in stream:
                run.state.handle_chunk(chunk)
                run.chunks.append(chunk)
        except openai.OpenAIError as exc:
            run.error = exc
        finally:
            client.close()
        return run
    aclient = openai.AsyncOpenAI(
        api_key="x",
        base_url=BASE_URL,
        max_retries=max_retries,
        http_client=lib.AsyncClient(transport=transport, timeout=timeout),
    )
    try:
        astream = await aclient.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True
        )
        async for chunk in astream:
            run.state.handle_chunk(chunk)
            run.chunks.append(chunk)
    except openai.OpenAIError as exc:
        run.error = exc
    finally:
        await aclient.close()
    return run


@pytest.mark.parametrize("http", ["httpx2", "httpx"])
@pytest.mark.parametrize("path", OPENAI, ids=lambda p: p.name.split("__")[0])
async def test_the_openai_sdk_rebuilds_every_recording(mode: str, http: str, path: Path) -> None:
    body = path.read_bytes()
    transport = ReplayTransport(path, split="random", seed=len(body))
    run = await run_sdk(transport, mode, http=http)
    assert run.error is None
    assert sdk_content(run.completion) == raw_content(body)
    chunks = [e.json() for e in SSEDecoder().feed(body) if e.data != "[DONE]"]
    assert [c.model_dump(exclude_unset=True) for c in run.chunks] == chunks
    [request] = transport.requests
    assert type(request).__module__.startswith(http)
    assert request.url == f"{BASE_URL}/chat/completions"
    assert json.loads(request.content)["stream"] is True


def test_sdk_final_completion_refuses_a_length_finish() -> None:
    path = FIXTURES / "openai" / "parse_max_tokens_reached__4cc50a6135d2.sse"
    run = anyio.run(lambda: run_sdk(ReplayTransport(path), "sync"))
    assert run.error is None
    with pytest.raises(openai.LengthFinishReasonError):
        run.state.get_final_completion()
    assert run.completion.choices[0].finish_reason == "length"


# --- What the SDK reports for each fault ------------------------------------------------


async def test_sdk_cut_mid_tool_arguments_with_a_clean_eof_is_silent(mode: str) -> None:
    run = await run_sdk(ReplayTransport(TOOL_CALL, cut_after_events=5), mode)
    assert run.error is None  # no error at all ...
    choice = run.completion.choices[0]
    assert choice.finish_reason is None  # ... the only sign is a missing finish_reason
    assert choice.message.tool_calls[0].function.arguments == '{"city":"Ed'


@pytest.mark.parametrize(
    ("cut_with", "cause"), [("reset", "ReadError"), ("incomplete", "RemoteProtocolError")]
)
async def test_sdk_cut_with_a_transport_error_is_a_connection_error(
    mode: str, cut_with: Any, cause: str
) -> None:
    transport = ReplayTransport(TOOL_CALL, cut_after_events=5, cut_with=cut_with)
    run = await run_sdk(transport, mode)
    assert type(run.error) is openai.APIConnectionError
    assert type(run.error.__cause__).__name__ == cause
    assert type(run.error.__cause__).__module__.startswith("httpx2")
    assert len(run.chunks) == 5
    assert run.completion.choices[0].message.tool_calls[0].function.arguments == '{"city":"Ed'


async def test_sdk_stall_is_a_timeout_error(mode: str) -> None:
    transport = ReplayTransport(TOOL_CALL, stall_after_events=3)
    run = await run_sdk(transport, mode, timeout=0.1)
    assert type(run.error) is openai.APITimeoutError
    assert type(run.error.__cause__).__name__ == "ReadTimeout"
    assert len(run.chunks) == 3


async def test_sdk_behind_a_buffering_proxy_gets_the_same_result(mode: str) -> None:
    body = TOOL_CALL.read_bytes()
    run = await run_sdk(ReplayTransport(TOOL_CALL, split=1, buffered=True), mode)
    assert run.error is None
    assert sdk_content(run.completion) == raw_content(body)


@pytest.mark.parametrize(
    ("preset", "error", "code"),
    [
        (RATE_LIMIT_429, openai.RateLimitError, "rate_limit_exceeded"),
        (SERVER_ERROR_500, openai.InternalServerError, None),
        (BAD_GATEWAY_502, openai.InternalServerError, None),
    ],
)
async def test_sdk_error_statuses(mode: str, preset: Any, error: Any, code: str | None) -> None:
    run = await run_sdk(ReplayTransport(TOOL_CALL, replace_response=preset), mode)
    assert type(run.error) is error
    assert run.error.status_code == preset.status_code
    assert run.error.code == code
    assert run.chunks == []
    if preset is RATE_LIMIT_429:
        assert run.error.type == "tokens"
        assert str(run.error).startswith("Error code: 429 - Rate limit reached for gpt-4o")
    if preset is BAD_GATEWAY_502:
        assert "502 Bad Gateway" in run.error.response.text


def test_sdk_retries_a_429_onto_the_next_exchange() -> None:
    good = load_recording(TOOL_CALL)[0]
    transport = ReplayTransport(
        Recording((good, good)), replace_response=RATE_LIMIT_429, faults_on=[0]
    )
    run = anyio.run(lambda: run_sdk(transport, "sync", max_retries=1))
    assert run.error is None
    assert len(transport.requests) == 2
    assert transport.requests[1].headers["x-stainless-retry-count"] == "1"
    assert sdk_content(run.completion) == raw_content(TOOL_CALL.read_bytes())


async def test_sdk_without_done_or_content_type(mode: str) -> None:
    body = TOOL_CALL.read_bytes()
    for options in ({"drop_done": True}, {"drop_content_type": True}):
        run = await run_sdk(ReplayTransport(TOOL_CALL, **options), mode)
        assert run.error is None
        assert sdk_content(run.completion) == raw_content(body)


async def test_sdk_lets_an_unmatched_request_through(mode: str) -> None:
    # openai 3.x only wraps (and retries) httpx's RequestError: ours reaches the test as is.
    transport = ReplayTransport(TOOL_CALL)
    await run_sdk(transport, mode, max_retries=2)
    with pytest.raises(UnmatchedRequestError, match="matching by order"):
        await run_sdk(transport, mode, max_retries=2)
    assert len(transport.requests) == 2


# --- httpx-sse, a second independent consumer --------------------------------------------


@pytest.mark.parametrize("path", PROVIDERS, ids=lambda p: p.name)
async def test_httpx_sse_reads_the_events_of_every_recording(mode: str, path: Path) -> None:
    body = path.read_bytes()
    expected = [(e.event, e.data, e.id) for e in SSEDecoder().feed(body)]
    transport = ReplayTransport(path, split="random", seed=7)
    if mode == "sync":
        with (
            httpx.Client(transport=transport) as client,
            httpx_sse.connect_sse(client, "POST", f"{BASE_URL}/chat/completions") as source,
        ):
            got = [(e.event, e.data, e.id) for e in source.iter_sse()]
    else:
        async with (
            httpx.AsyncClient(transport=transport) as aclient,
            httpx_sse.aconnect_sse(aclient, "POST", f"{BASE_URL}/chat/completions") as source,
        ):
            got = [(e.event, e.data, e.id) async for e in source.aiter_sse()]
    assert got == expected


# --- ssestream's own ChatStream on the same replays ---------------------------------------


async def run_chatstream(
    transport: ReplayTransport, lib_name: str, mode: str, *, timeout: float = 5.0
) -> tuple[Any, Exception | None]:
    """Read a replayed response with ``ChatStream`` / ``AsyncChatStream``: (stream, error)."""
    lib = importlib.import_module(lib_name)
    url = f"{BASE_URL}/chat/completions"
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True}
    error: Exception | None = None
    if mode == "sync":
        with (
            lib.Client(transport=transport, timeout=timeout) as client,
            client.stream("POST", url, json=body) as response,
        ):
            stream = ChatStream(response)
            try:
                for _ in stream:
                    pass
            except SSEStreamError as exc:
                error = exc
        return stream, error
    async with (
        lib.AsyncClient(transport=transport, timeout=timeout) as aclient,
        aclient.stream("POST", url, json=body) as response,
    ):
        astream = AsyncChatStream(response)
        try:
            async for _ in astream:
                pass
        except SSEStreamError as exc:
            error = exc
    return astream, error


@pytest.mark.parametrize("http", ["httpx2", "httpx"])
@pytest.mark.parametrize("path", OPENAI, ids=lambda p: p.name.split("__")[0])
async def test_chatstream_agrees_with_the_openai_sdk(mode: str, http: str, path: Path) -> None:
    body = path.read_bytes()
    stream, error = await run_chatstream(ReplayTransport(path, split="random", seed=1), http, mode)
    sdk = await run_sdk(ReplayTransport(path, split="random", seed=2), mode, http=http)
    assert error is None
    assert (stream.done, stream.interrupted) == (True, False)
    ours, theirs = stream.completion, sdk.completion
    assert sdk_content(ours) == sdk_content(theirs) == raw_content(body)
    assert (ours.id, ours.model, ours.created) == (theirs.id, theirs.model, theirs.created)
    if theirs.usage is not None:
        assert ours.usage is not None
        assert (ours.usage.prompt_tokens, ours.usage.completion_tokens) == (
            theirs.usage.prompt_tokens,
            theirs.usage.completion_tokens,
        )


# fault -> (ChatStream's exception, its cause, done, interrupted, finish_reason)
CHATSTREAM_FAULTS: dict[str, tuple[dict[str, Any], Any, str | None, bool, bool, str | None]] = {
    "none": ({}, None, None, True, False, "tool_calls"),
    "cut, clean EOF": ({"cut_after_events": 5}, None, None, False, True, None),
    "cut, reset": (
        {"cut_after_events": 5, "cut_with": "reset"},
        StreamInterruptedError,
        "ReadError",
        False,
        True,
        None,
    ),
    "cut, incomplete": (
        {"cut_after_events": 5, "cut_with": "incomplete"},
        StreamInterruptedError,
        "RemoteProtocolError",
        False,
        True,
        None,
    ),
    "stall": ({"stall_after_events": 3}, StreamInterruptedError, "ReadTimeout", False, True, None),
    "buffered": ({"buffered": True, "split": 1}, None, None, True, False, "tool_calls"),
    "no [DONE]": ({"drop_done": True}, None, None, False, False, "tool_calls"),
    "no content-type": ({"drop_content_type": True}, None, None, True, False, "tool_calls"),
    "429": ({"replace_response": RATE_LIMIT_429}, APIStatusError, None, False, True, None),
    "500": ({"replace_response": SERVER_ERROR_500}, APIStatusError, None, False, True, None),
    "502": ({"replace_response": BAD_GATEWAY_502}, APIStatusError, None, False, True, None),
}


@pytest.mark.parametrize("http", ["httpx2", "httpx"])
@pytest.mark.parametrize("fault", list(CHATSTREAM_FAULTS))
async def test_chatstream_fault_matrix(mode: str, http: str, fault: str) -> None:
    options, error_type, cause, done, interrupted, finish = CHATSTREAM_FAULTS[fault]
    transport = ReplayTransport(TOOL_CALL, **options)
    stream, error = await run_chatstream(transport, http, mode, timeout=0.1)
    assert type(error) is (type(None) if error_type is None else error_type)
    if cause is not None:
        assert error is not None
        assert type(error.__cause__).__name__ == cause
        assert type(error.__cause__).__module__.startswith(http)
    assert (stream.done, stream.interrupted) == (done, interrupted)
    choices = stream.completion.choices
    assert (choices[0].finish_reason if choices else None) == finish
    if fault.startswith(("cut", "stall")):
        assert error is None or error.completion == stream.completion
        arguments = choices[0].message.tool_calls[0].function.arguments
        assert '{"city":"Edinburgh"'.startswith(arguments)
    if isinstance(error, APIStatusError):
        preset = options["replace_response"]
        assert error.status_code == preset.status_code
        if preset is RATE_LIMIT_429:
            assert (error.error_type, error.code) == ("tokens", "rate_limit_exceeded")
