"""Stream options that reach the accumulator: think tags, and an openai SDK stream as source."""

from __future__ import annotations

import anyio
import httpx2
import openai
import pytest
from test_streams import FIXTURES, chunk, sse

import ssestream
from ssestream import AsyncChatStream, ChatStream
from ssestream.testing import ReplayTransport


def think_body() -> bytes:
    parts = ["<thi", "nk>plan", " it</th", "ink>Ans", "wer"]
    return sse(*[chunk(p) for p in parts], chunk(None, "stop"), done=True)


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_think_tags_through_the_stream(size: int) -> None:
    body = think_body()
    reads = [body[i : i + size] for i in range(0, len(body), size)]
    message = ChatStream(reads, think_tags=True).get_final_completion().choices[0].message
    assert message.content == "Answer"
    assert message.reasoning_content == "plan it"
    verbatim = ChatStream([body]).get_final_completion().choices[0].message
    assert verbatim.content == "<think>plan it</think>Answer"  # off by default


def sdk_client(recording: bytes) -> openai.OpenAI:
    transport = ReplayTransport(recording)
    return openai.OpenAI(
        api_key="test",
        base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=transport),
        max_retries=0,
    )


def first_openai_recording() -> bytes:
    return sorted((FIXTURES / "openai").glob("*.sse"))[0].read_bytes()


def test_an_unread_openai_stream_is_read_by_chat_stream() -> None:
    recording = first_openai_recording()
    expected = ChatStream([recording]).get_final_completion()
    client = sdk_client(recording)
    sdk_stream = client.chat.completions.create(model="m", messages=[], stream=True)
    with ChatStream(sdk_stream) as stream:
        assert stream.get_final_completion() == expected
        assert stream.response is sdk_stream.response


def test_a_read_openai_stream_is_refused_clearly() -> None:
    client = sdk_client(first_openai_recording())
    sdk_stream = client.chat.completions.create(model="m", messages=[], stream=True)
    next(iter(sdk_stream))
    with pytest.raises(TypeError, match="already read"):
        ChatStream(sdk_stream)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_unread_async_openai_stream(backend: str) -> None:
    recording = first_openai_recording()
    expected = ChatStream([recording]).get_final_completion()

    async def main() -> ssestream.ChatCompletion:
        client = openai.AsyncOpenAI(
            api_key="test",
            base_url="https://api.openai.com/v1",
            http_client=httpx2.AsyncClient(transport=ReplayTransport(recording)),
            max_retries=0,
        )
        sdk_stream = await client.chat.completions.create(model="m", messages=[], stream=True)
        async with AsyncChatStream(sdk_stream) as stream:
            return await stream.get_final_completion()

    assert anyio.run(main, backend=backend) == expected
