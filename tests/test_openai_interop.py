"""The openai SDK, both ways: ``to_openai()`` on every recording, the SDK's chunks and
streams read by ssestream, and ``effective_finish_reason``.

``to_openai()`` must give a value the SDK validates (``model_validate``) on every
bundled recording, and keep everything else: each field of ``to_dict()`` is either in
the SDK object unchanged, or replaced with the value sent kept under ``native_<field>``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import anyio
import httpx2
import openai
import pytest
from openai._models import construct_type
from openai.types.chat import ChatCompletion as SDKCompletion
from openai.types.chat import ChatCompletionChunk as SDKChunk

from ssestream import ChatCompletion, ChatCompletionAccumulator, ChatStream, SSEStreamError
from ssestream._openai import chunk_payload, openai_completion_dict, sdk_stream_response

ROOT = Path(__file__).parent
RECORDINGS = sorted(
    [
        *(ROOT / "fixtures" / "openai").glob("*.sse"),
        *(ROOT / "fixtures" / "openai" / "history").glob("*.sse"),
        *(ROOT / "fixtures" / "providers").glob("*.sse"),
        *(ROOT / "fixtures" / "round2").glob("*.sse"),
        *(ROOT.parent / "src" / "ssestream" / "_data").glob("*.sse"),
    ]
)
RECORDINGS = [p for p in RECORDINGS if "responses" not in p.name]  # chat streams only


def completion_of(path: Path) -> ChatCompletion:
    stream = ChatStream([path.read_bytes()])
    try:
        for _ in stream:
            pass
    except SSEStreamError:
        pass
    return stream.completion


def payloads(raw: bytes) -> list[dict[str, Any]]:
    out = []
    for line in raw.split(b"\n"):
        if line.startswith(b"data: ") and line[6:].strip() != b"[DONE]":
            payload = json.loads(line[6:])
            if "error" not in payload:
                out.append(payload)
    return out


def same_or_aside(sent: dict[str, Any], given: dict[str, Any], where: str) -> None:
    """Each field sent is given unchanged, or replaced with the sent value kept aside."""
    for key, value in sent.items():
        if key in ("choices", "message", "tool_calls"):
            continue
        if given.get(key) != value:
            assert given[f"native_{key}"] == value or f"native_{key}" in sent, (where, key)


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem[:60])
def test_to_openai_on_every_recording(path: Path) -> None:
    completion = completion_of(path)
    before = copy.deepcopy(completion.to_dict())

    sdk = completion.to_openai()

    assert isinstance(sdk, SDKCompletion)
    assert completion.to_dict() == before  # unchanged
    # What the SDK holds validates again, and keeps every field.
    given = sdk.model_dump(mode="json", exclude_unset=True)
    assert SDKCompletion.model_validate(given) == sdk
    same_or_aside(before, given, "completion")
    for sent, choice in zip(before["choices"], given["choices"], strict=True):
        same_or_aside(sent, choice, "choice")
        same_or_aside(sent["message"], choice["message"], "message")
        calls = sent["message"].get("tool_calls") or []
        kept = choice["message"].get("tool_calls") or []
        assert len(calls) == len(kept) + len(choice["message"].get("native_tool_calls", []))
    for choice, sdk_choice in zip(completion.choices, sdk.choices, strict=True):
        effective = choice.effective_finish_reason
        assert sdk_choice.finish_reason == (effective if effective is not None else "length")
        assert sdk_choice.message.content == choice.message.content


def test_values_outside_the_sdk_literals_are_moved_aside() -> None:
    groq = completion_of(ROOT / "fixtures/providers/groq-kimi-k2-multi-tool-turn1.sse")
    assert groq.service_tier == "on_demand"
    sdk = groq.to_openai()
    assert sdk.service_tier is None
    assert sdk.model_extra is not None
    assert sdk.model_extra["native_service_tier"] == "on_demand"

    cut = completion_of(ROOT / "fixtures/providers/openai-gpt-4.1-midstream-error.sse")
    assert cut.choices[0].finish_reason is None
    sdk = cut.to_openai()
    assert sdk.choices[0].finish_reason == "length"
    assert sdk.choices[0].model_extra == {"native_finish_reason": None}

    bedrock = completion_of(
        ROOT / "fixtures/providers/bedrock-openai-gpt-oss-20b-tool-multientry.sse"
    )
    assert bedrock.created is None
    assert bedrock.to_openai().created == 0

    # OpenRouter's own native_finish_reason is the more native value: it stays.
    router = completion_of(
        ROOT / "fixtures/providers/openrouter-claude-haiku-4.5-thinking-tool-turn1.sse"
    )
    sdk_choice = router.to_openai().choices[0]
    assert sdk_choice.finish_reason == "tool_calls"
    assert sdk_choice.model_extra is not None
    assert sdk_choice.model_extra["native_finish_reason"] == "tool_use"


def test_provider_finish_reasons_and_usage_are_shaped() -> None:
    data = {
        "id": None,
        "created": "yesterday",
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "model", "content": "a"}, "finish_reason": "end_turn"},
            {"index": 1, "message": {"content": "b"}, "finish_reason": "max_tokens"},
            {"index": 2, "message": {"content": "c"}, "finish_reason": "weird"},
            {
                "index": 3,
                "message": {
                    "content": None,
                    "tool_calls": [
                        {"id": None, "type": "function", "function": {"arguments": "{}"}},
                        {"id": "x", "type": "web_search", "web_search": {}},
                    ],
                },
                "finish_reason": "stop",
            },
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }
    frozen = copy.deepcopy(data)
    shaped = openai_completion_dict(data)
    assert data == frozen
    sdk = ChatCompletion(data).to_openai()
    assert [c.finish_reason for c in sdk.choices] == ["stop", "length", "stop", "tool_calls"]
    assert shaped["created"] == 0
    assert shaped["native_created"] == "yesterday"
    assert shaped["id"] == ""
    assert shaped["native_id"] is None
    assert shaped["choices"][0]["message"]["native_role"] == "model"
    assert sdk.usage is not None
    assert sdk.usage.total_tokens == 7
    message = shaped["choices"][3]["message"]
    assert message["tool_calls"] == [
        {"id": "", "type": "function", "function": {"name": "", "arguments": "{}"}}
    ]
    assert message["native_tool_calls"] == [{"id": "x", "type": "web_search", "web_search": {}}]

    partial = openai_completion_dict({"choices": [], "usage": {"prompt_tokens": 3}})
    assert partial["usage"] is None
    assert partial["native_usage"] == {"prompt_tokens": 3}


# ------------------------------------------------------------------ effective_finish_reason


def test_effective_finish_reason_after_tool_calls() -> None:
    """OpenAI's gpt-4o-2024-08-06 itself sent "stop" on a turn with tool calls."""
    history = ROOT / "fixtures/openai/history"
    path = history / "2024-08-06__allows_non_strict_tools_but_no_parsing__fb75060ede89.sse"
    choice = completion_of(path).choices[0]
    assert choice.message.tool_calls
    assert choice.finish_reason == "stop"  # raw, as sent
    assert choice.effective_finish_reason == "tool_calls"

    text = completion_of(ROOT / "fixtures/providers/openai-gpt-4.1-nano-text.sse").choices[0]
    assert text.finish_reason == text.effective_finish_reason == "stop"


# ------------------------------------------------------------------ the SDK's own objects


def sdk_chunk(payload: dict[str, Any]) -> Any:
    """The chunk the SDK's ``Stream`` yields for a payload (built as it builds them,
    without validation: Azure's first chunk has ``object: ""``, which would not pass)."""
    return construct_type(type_=SDKChunk, value=payload)


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem[:60])
def test_sdk_chunks_give_their_payload_back(path: Path) -> None:
    for payload in payloads(path.read_bytes()):
        assert chunk_payload(sdk_chunk(payload)) == payload
    assert chunk_payload(payloads(path.read_bytes())[0]) is None  # a dict is not an SDK model


def body_transport(raw: bytes, is_async: bool) -> Any:
    pieces = [raw[i : i + 7] for i in range(0, len(raw), 7)]

    def handler(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "text/event-stream"}
        if is_async:

            async def body() -> Any:
                for piece in pieces:
                    yield piece

            return httpx2.Response(200, headers=headers, content=body())
        return httpx2.Response(200, headers=headers, content=iter(pieces))

    if is_async:

        async def ahandler(request: httpx2.Request) -> httpx2.Response:
            return handler(request)

        return httpx2.MockTransport(ahandler)
    return httpx2.MockTransport(handler)


REQUEST: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
SAMPLE = ROOT / "fixtures/providers/openai-gpt-5-multi-tool-turn1.sse"


def test_unread_sdk_stream_gives_its_response() -> None:
    raw = SAMPLE.read_bytes()
    expected = completion_of(SAMPLE)
    transport = body_transport(raw, is_async=False)
    with httpx2.Client(transport=transport) as http:
        client = openai.OpenAI(api_key="test", base_url="https://x.test/v1", http_client=http)
        sdk_stream = client.chat.completions.create(**REQUEST, stream=True)
        response = sdk_stream_response(sdk_stream)
        assert response is sdk_stream.response
        stream = ChatStream(response)
        for _ in stream:
            pass
        assert stream.completion == expected

        with client.chat.completions.with_streaming_response.create(
            **REQUEST, stream=True
        ) as api_response:
            stream = ChatStream(sdk_stream_response(api_response))
            for _ in stream:
                pass
            assert stream.completion == expected

        read = client.chat.completions.create(**REQUEST, stream=True)
        next(iter(read))
        with pytest.raises(TypeError, match="already read"):
            sdk_stream_response(read)
    assert sdk_stream_response(b"bytes") is None
    assert sdk_stream_response(response) is None  # an HTTP response is not an SDK stream


@pytest.mark.anyio
async def test_unread_async_sdk_stream_gives_its_response() -> None:
    from ssestream import AsyncChatStream

    raw = SAMPLE.read_bytes()
    expected = completion_of(SAMPLE)
    async with httpx2.AsyncClient(transport=body_transport(raw, is_async=True)) as http:
        client = openai.AsyncOpenAI(api_key="test", base_url="https://x.test/v1", http_client=http)
        sdk_stream = await client.chat.completions.create(**REQUEST, stream=True)
        stream = AsyncChatStream(sdk_stream_response(sdk_stream))
        async for _ in stream:
            pass
        assert stream.completion == expected

        read = await client.chat.completions.create(**REQUEST, stream=True)
        await read.__anext__()
        with pytest.raises(TypeError, match="already read"):
            sdk_stream_response(read)
        await read.close()
    await anyio.sleep(0)


def test_accumulator_of_sdk_payloads_matches_ours() -> None:
    """The payloads of SDK chunks rebuild the same completion as the raw stream."""
    for path in RECORDINGS:
        if "midstream-error" in path.name:
            continue
        accumulator = ChatCompletionAccumulator()
        for payload in payloads(path.read_bytes()):
            sent = chunk_payload(sdk_chunk(payload))
            assert sent is not None
            accumulator.add(sent)
        assert accumulator.completion == completion_of(path), path.name
