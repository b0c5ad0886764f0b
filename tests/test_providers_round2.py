"""Issue 10's stream shapes, read from bytes by every twin at the suite's read sizes.

Real recordings (``fixtures/round2``, sources in its ``INDEX.md``) where one exists; the
shapes no public recording shows (custom tool calls, usage split across chunks, reasoning
only in ``reasoning_details``) are built from the deltas the issue and the providers'
test suites quote, encoded by :func:`ssestream.encode_chunk`. Each body is read whole,
a byte at a time, in 7-byte pieces and in seeded random pieces, by the sync twin and by
the async twin on asyncio and trio (the ``twin`` fixture), through a byte iterable and
an ``httpx`` client.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai._models import construct_type
from openai.types.chat import ChatCompletionChunk as SDKChunk

from ssestream import (
    ChatCompletion,
    ChatCompletionAccumulator,
    ChatStream,
    ThinkTags,
    encode_chunk,
)

ROUND2 = Path(__file__).parent / "fixtures" / "round2"
PROVIDERS = Path(__file__).parent / "fixtures" / "providers"
SPLITS = ("whole", "1", "7", "random")


def split(raw: bytes, how: str) -> list[bytes]:
    if how == "whole":
        return [raw]
    if how in ("1", "7"):
        size = int(how)
        return [raw[i : i + size] for i in range(0, len(raw), size)]
    rng = random.Random(len(raw))
    pieces, i = [], 0
    while i < len(raw):
        size = rng.randint(1, 97)
        pieces.append(raw[i : i + size])
        i += size
    return pieces


def body(*deltas: dict[str, Any], finish: str = "stop", **envelope: Any) -> bytes:
    """An SSE body: one chunk per delta, a finish chunk, ``[DONE]``."""
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [
        {**head, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if envelope:
        chunks[-1].update(envelope)
    return b"".join(encode_chunk(c) for c in chunks) + b"data: [DONE]\n\n"


def read(twin: Any, raw: bytes, how: str, via: str = "iterable") -> ChatCompletion:
    completion: ChatCompletion = twin.read(split(raw, how), via=via).completion
    return completion


def payloads(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: {")]


# ------------------------------------------------------------------ custom tool calls

CUSTOM = body(
    {"tool_calls": [{"index": 0, "id": "call_1", "type": "custom",
                     "custom": {"name": "code_exec", "input": ""}}]},
    {"tool_calls": [{"index": 0, "custom": {"input": "print(1"}}]},
    {"tool_calls": [{"index": 0, "custom": {"input": ")"}}]},
    finish="tool_calls",
)  # fmt: skip


@pytest.mark.parametrize("how", SPLITS)
def test_custom_tool_call(twin: Any, how: str) -> None:
    """The issue's deltas: the openai SDKs and LiteLLM rebuild exactly this."""
    completion = read(twin, CUSTOM, how, via="httpx" if how == "7" else "iterable")
    message = completion.choices[0].message
    assert message.to_dict()["tool_calls"] == [
        {"id": "call_1", "type": "custom", "custom": {"name": "code_exec", "input": "print(1)"}}
    ]
    call = message.tool_calls[0]
    assert call.custom is not None
    assert (call.custom.name, call.custom.input) == ("code_exec", "print(1)")
    assert message.to_param()["tool_calls"] == message.to_dict()["tool_calls"]
    sdk = completion.to_openai().choices[0].message.tool_calls
    assert sdk is not None
    assert sdk[0].type == "custom"


def test_function_and_custom_calls_side_by_side_and_an_unknown_type() -> None:
    raw = body(
        {"tool_calls": [
            {"index": 0, "id": "f", "type": "function",
             "function": {"name": "add", "arguments": "{"}},
            {"index": 1, "id": "c", "type": "custom", "custom": {"name": "sh", "input": "l"}},
            {"index": 2, "id": "w", "type": "web_search", "web_search": {"query": "a"}},
        ]},
        {"tool_calls": [
            {"index": 1, "custom": {"input": "s"}},
            {"index": 0, "function": {"arguments": "}"}},
            {"index": 2, "web_search": {"query": "b"}},
        ]},
        finish="tool_calls",
    )  # fmt: skip
    stream = ChatStream(split(raw, "7"))
    calls = stream.get_final_completion().choices[0].message.to_dict()["tool_calls"]
    assert calls == [
        {"id": "f", "type": "function", "function": {"name": "add", "arguments": "{}"}},
        {"id": "c", "type": "custom", "custom": {"name": "sh", "input": "ls"}},
        # An unknown type's fields follow the general rule: the last value sent.
        {"id": "w", "type": "web_search", "web_search": {"query": "b"}},
    ]


# ------------------------------------------------------------------ usage


@pytest.mark.parametrize("how", SPLITS)
def test_groq_usage_only_in_x_groq(twin: Any, how: str) -> None:
    raw = (ROUND2 / "groq-gemma2-9b-it-xgroq-usage-tool.sse").read_bytes()
    completion = read(twin, raw, how)
    x_groq = completion.get("x_groq")
    assert x_groq["usage"]["total_tokens"] == 457  # the raw object stays reachable
    assert completion.usage is not None
    assert completion.usage.to_dict() == x_groq["usage"]
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (18, 439)
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.arguments == '{"value":"Sparkle Day"}'


@pytest.mark.parametrize("how", SPLITS)
def test_moonshot_usage_in_the_choice(twin: Any, how: str) -> None:
    raw = (ROUND2 / "moonshot-v1-8k-choice-usage.sse").read_bytes()
    completion = read(twin, raw, how)
    assert completion.usage is not None
    assert completion.usage.to_dict() == {
        "prompt_tokens": 39,
        "completion_tokens": 211,
        "total_tokens": 250,
    }
    assert completion.choices[0].get("usage") == completion.usage.to_dict()  # raw, kept


@pytest.mark.parametrize("how", SPLITS)
def test_running_totals_give_the_last(twin: Any, how: str) -> None:
    raw = (ROUND2 / "llama-3.1-8b-fp8-running-usage-tool.sse").read_bytes()
    completion = read(twin, raw, how)
    assert completion.usage is not None
    assert completion.usage.to_dict() == {
        "prompt_tokens": 226,
        "total_tokens": 246,
        "completion_tokens": 20,
    }


@pytest.mark.parametrize("how", SPLITS)
def test_usage_split_across_chunks_is_merged_per_field(twin: Any, how: str) -> None:
    raw = body(
        {"role": "assistant", "content": "hi"},
        usage={"completion_tokens": 7, "total_tokens": 12},
    )
    first = payloads(raw)[0]
    first["usage"] = {"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 0}}
    raw = encode_chunk(first) + raw.split(b"\n\n", 1)[1]
    completion = read(twin, raw, how)
    assert completion.usage is not None
    assert completion.usage.to_dict() == {
        "prompt_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens": 7,
        "total_tokens": 12,
    }


def test_usage_rule_on_the_earlier_recordings() -> None:
    """Groq sends usage three times, Perplexity a running total: the last values."""
    for name, total in [
        ("groq-kimi-k2-multi-tool-turn1.sse", None),
        ("groq-qwen3-32b-reasoning.sse", None),
        ("perplexity-sonar-citations.sse", 346),
    ]:
        raw = (PROVIDERS / name).read_bytes()
        completion = ChatStream([raw]).get_final_completion()
        last = [p["usage"] for p in payloads(raw) if p.get("usage")][-1]
        assert completion.usage is not None
        assert completion.usage.to_dict() == last, name
        if total is not None:
            assert completion.usage.total_tokens == total


# ------------------------------------------------------------------ reasoning, extras


@pytest.mark.parametrize("how", SPLITS)
def test_minimax_reasoning_details_and_no_provider_fields_in_the_message(
    twin: Any, how: str
) -> None:
    raw = (ROUND2 / "minimax-m2.7-reasoning-split.sse").read_bytes()
    completion = read(twin, raw, how)
    message = completion.choices[0].message
    text = "The user wants a proof that the sum of two odd numbers is even."
    assert message.reasoning_content is not None
    assert message.reasoning_content.startswith(text)
    details = message.to_dict()["reasoning_details"]
    assert [d["text"] for d in details] == [message.reasoning_content]  # counted once
    assert "name" not in message.to_dict()
    assert "audio_content" not in message.to_dict()
    assert message.content is not None
    assert message.content.startswith("**Proof.**")
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 116


@pytest.mark.parametrize("how", SPLITS)
def test_reasoning_only_in_reasoning_details(twin: Any, how: str) -> None:
    detail = {"type": "reasoning.text", "id": "reasoning-text-1",
              "format": "MiniMax-response-v1", "index": 0}  # fmt: skip
    raw = body(
        {"role": "assistant", "content": "", "reasoning_details": [{**detail, "text": "only "}]},
        {"reasoning_details": [{**detail, "text": "copy"}]},
        {"content": "answer"},
    )
    completion = read(twin, raw, how)
    message = completion.choices[0].message
    assert message.reasoning_content == "only copy"
    assert message.to_dict()["reasoning_content"] == "only copy"
    assert message.to_dict()["reasoning_details"] == [{**detail, "text": "only copy"}]
    assert message.content == "answer"


def test_obfuscation_stays_in_the_chunks() -> None:
    for name in ("openai-gpt-4.1-nano-text.sse", "bedrock-openai-gpt-oss-20b-tool-multientry.sse"):
        raw = (PROVIDERS / name).read_bytes()
        assert b'"obfuscation"' in raw
        stream = ChatStream([raw], keep_chunks=True)
        completion = stream.get_final_completion()
        assert any("obfuscation" in json.dumps(c.to_dict()) for c in stream.chunks)
        assert "obfuscation" not in json.dumps(completion.to_dict()), name


# ------------------------------------------------------------------ think tags


def accumulate(chunks: list[dict[str, Any]], **options: Any) -> ChatCompletion:
    accumulator = ChatCompletionAccumulator(**options)
    for chunk in chunks:
        accumulator.add(chunk)
    return accumulator.completion


def test_minimax_think_tags_split_on_request_and_verbatim_by_default() -> None:
    raw = (ROUND2 / "minimax-m2.7-thinktags.sse").read_bytes()
    chunks = payloads(raw)
    verbatim = accumulate(chunks).choices[0].message
    assert verbatim.content is not None
    assert verbatim.content.startswith("<think>\nThe user wants")
    assert verbatim.reasoning_content is None

    message = accumulate(chunks, think_tags=True).choices[0].message
    assert message.reasoning_content == (
        "\nThe user wants a proof that the sum of two odd numbers is even."
        " I'll keep this straightforward and concise.\n"
    )
    assert message.content == verbatim.content.split("</think>", 1)[1]
    assert message.to_dict()["reasoning_content"] == message.reasoning_content


def test_vllm_qwen3_think_tags_and_the_opening_tag_in_the_prompt() -> None:
    chunks = payloads((PROVIDERS / "vllm-qwen3-0.6b-tool-thinktags.sse").read_bytes())
    message = accumulate(chunks, think_tags=ThinkTags()).choices[0].message
    assert message.reasoning_content is not None
    assert "<think>" not in (message.content or "")
    assert message.tool_calls  # untouched

    # The template opened the block: the stream starts inside it.
    raw = body({"content": "plan it"}, {"content": "</thi"}, {"content": "nk>done"})
    message = accumulate(payloads(raw), think_tags=ThinkTags(starts_inside=True)).choices[0].message
    assert (message.reasoning_content, message.content) == ("plan it", "done")


@given(cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_split_of_the_content_gives_the_same_completion(cuts: list[int]) -> None:
    """Read mid-stream too: the held-back text is in the completion, nothing changes."""
    raw = (ROUND2 / "minimax-m2.7-thinktags.sse").read_bytes()
    chunks = payloads(raw)
    expected = accumulate(chunks, think_tags=True).to_dict()
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    head = {k: v for k, v in chunks[0].items() if k != "choices"}
    accumulator = ChatCompletionAccumulator(think_tags=True)
    for piece in pieces:
        accumulator.add({**head, "choices": [{"index": 0, "delta": {"content": piece}}]})
        _ = accumulator.completion
    accumulator.add(chunks[-2] | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    accumulator.add(chunks[-1])
    got = accumulator.completion.to_dict()
    assert got["choices"][0]["message"] == expected["choices"][0]["message"]


# ------------------------------------------------------------------ SDK chunks


def test_add_takes_the_openai_sdk_chunks() -> None:
    for path in [*sorted(ROUND2.glob("*.sse")), *sorted(PROVIDERS.glob("*.sse"))]:
        if "midstream-error" in path.name:
            continue
        chunks = payloads(path.read_bytes())
        expected = accumulate(chunks)
        accumulator = ChatCompletionAccumulator(keep_chunks=True)
        for chunk in chunks:
            accumulator.add(construct_type(type_=SDKChunk, value=chunk))
        assert accumulator.completion == expected, path.name
        assert [c.to_dict() for c in accumulator.chunks] == chunks


def test_add_says_what_it_takes() -> None:
    with pytest.raises(TypeError, match="openai SDK ChatCompletionChunk"):
        ChatCompletionAccumulator().add(5)  # type: ignore[arg-type]


def test_bad_shapes_get_typed_errors_and_odd_extras_are_kept() -> None:
    from ssestream import ChunkParseError

    accumulator = ChatCompletionAccumulator()
    bad = {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "custom": "x"}]}}]}
    with pytest.raises(ChunkParseError, match=r"tool_calls\[0\]\.custom"):
        accumulator.add(bad)
    bad_input = {"index": 0, "type": "custom", "custom": {"input": 5}}
    with pytest.raises(ChunkParseError, match=r"custom\.input"):
        accumulator.add({"choices": [{"index": 0, "delta": {"tool_calls": [bad_input]}}]})
    assert accumulator.completion.choices == []  # rejected chunks changed nothing

    # An x_groq or a choice usage of another shape is kept as sent, not merged.
    accumulator.add({"x_groq": {"usage": [1]}, "choices": [{"index": 0, "usage": "n/a"}]})
    completion = accumulator.completion
    assert completion.usage is None
    assert completion.get("x_groq") == {"usage": [1]}
    assert completion.choices[0].get("usage") == "n/a"

    with pytest.raises(TypeError, match="think_tags"):
        ChatCompletionAccumulator(think_tags="<think>")  # type: ignore[arg-type]
