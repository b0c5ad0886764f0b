"""``ChatCompletionMessage.to_param()``: the next turn's assistant message, per policy.

Checked on every bundled recording against the request schema of the openai SDK: the
keys of ``ChatCompletionAssistantMessageParam`` (and of its tool-call params), plus only
what the policy adds; pydantic validates the result as that ``TypedDict``. The values
are checked against the rebuilt message they come from.
"""

from __future__ import annotations

import copy
import json
import typing
from pathlib import Path
from typing import Any

import pydantic
import pytest
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageCustomToolCallParam,
    ChatCompletionMessageFunctionToolCallParam,
)

from ssestream import ChatCompletion, ChatCompletionMessage, ChatStream, SSEStreamError
from ssestream._types import REASONING_POLICIES

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
MESSAGE_KEYS = set(typing.get_type_hints(ChatCompletionAssistantMessageParam))
CALL_KEYS = {
    "function": set(typing.get_type_hints(ChatCompletionMessageFunctionToolCallParam)),
    "custom": set(typing.get_type_hints(ChatCompletionMessageCustomToolCallParam)),
}
POLICY_KEYS = {
    "omit": set(),
    "reasoning_content": {"reasoning_content"},
    "reasoning": {"reasoning"},
    "reasoning_details": {"reasoning_details"},
}
VALIDATOR = pydantic.TypeAdapter(ChatCompletionAssistantMessageParam)


def completion_of(path: Path) -> ChatCompletion:
    stream = ChatStream([path.read_bytes()])
    try:
        for _ in stream:
            pass
    except SSEStreamError:
        pass  # a recorded mid-stream error: the partial completion is still the next turn
    return stream.completion


def test_recordings_are_found() -> None:
    assert len(RECORDINGS) >= 95


@pytest.mark.parametrize("policy", REASONING_POLICIES)
@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem[:60])
def test_to_param_fits_the_request_schema(path: Path, policy: Any) -> None:
    completion = completion_of(path)
    for choice in completion.choices:
        message = choice.message
        before = copy.deepcopy(message.to_dict())
        param = message.to_param(reasoning=policy)

        assert set(param) <= MESSAGE_KEYS | POLICY_KEYS[policy] | {"extra_content"}
        assert param["role"] == "assistant"
        assert "refusal" not in param or param["refusal"]
        VALIDATOR.validate_python(param)
        json.dumps(param)  # what the request body will hold

        # The values are the message's.
        calls = message.tool_calls or []
        expected_content = message.content
        if expected_content is None and not calls and message.function_call is None:
            expected_content = ""
        assert param["content"] == expected_content
        assert len(param.get("tool_calls", [])) == len(calls)
        for sent, call in zip(param.get("tool_calls", []), calls, strict=True):
            assert set(sent) <= CALL_KEYS[sent["type"]] | {"extra_content"}
            assert sent["id"] == call.id
            assert sent["type"] == call.type
            if call.type == "function":
                assert sent["function"] == {
                    "name": call.function.name,
                    "arguments": call.function.arguments,
                }
            else:
                assert call.custom is not None
                assert sent["custom"] == {"name": call.custom.name, "input": call.custom.input}
        if policy in ("reasoning_content", "reasoning"):
            assert param[policy] == (message.reasoning_content or "")
        elif policy == "reasoning_details":
            details = message.get("reasoning_details")
            assert param.get("reasoning_details") == (details or None)
        else:
            assert not set(param) & {"reasoning_content", "reasoning", "reasoning_details"}
        # The completion is not changed, nor shared with the param.
        assert message.to_dict() == before
        for value in param.values():
            if isinstance(value, (dict, list)) and value:
                assert all(value is not v for v in message.to_dict().values())


def by_name(name: str) -> Path:
    return next(p for p in RECORDINGS if p.name == name)


def test_deepseek_thinking_tool_turn_sends_reasoning_content_back() -> None:
    """DeepSeek's thinking mode answers HTTP 400 without it on a tool-call turn."""
    message = completion_of(by_name("deepseek-reasoner-tool-call.sse")).choices[0].message
    assert message.tool_calls
    assert message.reasoning_content

    param = message.to_param(reasoning="reasoning_content")
    assert param["reasoning_content"] == message.reasoning_content
    assert param["tool_calls"][0]["function"]["name"] == message.tool_calls[0].function.name
    # The default sends nothing a strict server (Mistral, Cerebras) rejects.
    assert "reasoning_content" not in message.to_param()


def test_reasoning_content_policy_sends_an_empty_text_when_there_was_none() -> None:
    message = completion_of(by_name("groq-llama-3.3-70b-tool-call.sse")).choices[0].message
    assert message.tool_calls
    assert message.reasoning_content is None
    assert message.to_param(reasoning="reasoning_content")["reasoning_content"] == ""


def test_openrouter_reasoning_details_go_back_with_their_signature() -> None:
    name = "openrouter-claude-haiku-4.5-thinking-tool-turn1.sse"
    message = completion_of(by_name(name)).choices[0].message
    details = message.to_param(reasoning="reasoning_details")["reasoning_details"]
    assert any(entry.get("signature") for entry in details)
    assert "".join(e.get("text") or "" for e in details) == message.reasoning_content


def test_refusal_goes_back_and_content_is_present() -> None:
    path = by_name("parse_pydantic_model_refusal__173417d55340.sse")
    message = completion_of(path).choices[0].message
    param = message.to_param()
    assert param["refusal"] == message.refusal
    assert param["content"] == ""  # required by the schema when there are no calls


def test_gemini_thought_signature_goes_back() -> None:
    """Gemini's tool calls carry ``extra_content.google.thought_signature``."""
    signature = {"google": {"thought_signature": "CrICAdHtim827fQ"}}
    message = ChatCompletionMessage(
        {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    "extra_content": signature,
                    "index": 0,
                }
            ],
        }
    )
    param = message.to_param()
    assert param == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                "extra_content": signature,
            }
        ],
    }
    assert param["tool_calls"][0]["extra_content"] is not signature


def test_custom_and_unknown_tool_calls() -> None:
    message = ChatCompletionMessage(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "custom", "custom": {"name": "code_exec", "input": "x"}},
                {"id": "c2", "type": "web_search", "web_search": {"query": "q"}, "x": 1},
            ],
        }
    )
    assert message.to_param()["tool_calls"] == [
        {"id": "c1", "type": "custom", "custom": {"name": "code_exec", "input": "x"}},
        {"id": "c2", "type": "web_search", "web_search": {"query": "q"}},
    ]


def test_unknown_policy_is_refused() -> None:
    message = ChatCompletionMessage({"role": "assistant", "content": "hi"})
    with pytest.raises(ValueError, match="reasoning='think'"):
        message.to_param(reasoning="think")  # type: ignore[arg-type]
