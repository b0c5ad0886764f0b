"""The typed views: SDK-style attribute access, lenient on omitted fields, lossless.

The payloads are real chunks taken from the recordings in ``fixtures/`` (found by
content, so the test says where each comes from), plus small hand-built ones for the
omitted-field cases.
"""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from ssestream import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDelta,
    ChoiceDeltaFunctionCall,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChoiceLogprobs,
    ChunkChoice,
    CompletionUsage,
    Function,
    FunctionCall,
    ServerSentEvent,
    TokenLogprob,
)

FIXTURES = Path(__file__).parent / "fixtures"


def payloads(relative: str) -> list[dict[str, Any]]:
    raw = (FIXTURES / relative).read_bytes()
    return [
        json.loads(line[6:])
        for line in raw.split(b"\n")
        if line.startswith(b"data: ") and line[6:] != b"[DONE]"
    ]


def find(relative: str, needle: str) -> dict[str, Any]:
    """The first payload of a recording whose JSON text contains ``needle``."""
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    return next(p for p in payloads(relative) if needle in json.dumps(p, **compact))


GROQ_TOOL = "providers/groq-llama-3.3-70b-tool-call.sse"
OPENAI_TOOL = "openai/parse_pydantic_tool__c6aa7e397b71.sse"
OPENAI_LOGPROBS = "openai/content_logprobs_events__83b060bae42e.sse"
MAGISTRAL = "providers/mistral-magistral-reasoning.sse"


# --------------------------------------------------------------------------- access


def test_attribute_access_like_the_sdk() -> None:
    payload = find(OPENAI_TOOL, '"tool_calls"')
    chunk = ChatCompletionChunk(payload)
    assert chunk.id == "chatcmpl-ABfw8AOXnoa2kzy11vVTSjuQhHCQr"
    assert chunk.object == "chat.completion.chunk"
    assert chunk.created == 1727346176
    assert chunk.model == "gpt-4o-2024-08-06"
    assert chunk.system_fingerprint == "fp_7568d46099"
    assert chunk.service_tier is None
    choice = chunk.choices[0]
    assert isinstance(choice, ChunkChoice)
    assert (choice.index, choice.finish_reason, choice.logprobs) == (0, None, None)
    delta = choice.delta
    assert isinstance(delta, ChoiceDelta)
    assert (delta.role, delta.content, delta.refusal) == ("assistant", None, None)
    call = delta.tool_calls[0]
    assert isinstance(call, ChoiceDeltaToolCall)
    assert (call.index, call.id, call.type) == (0, "call_c91SqDXlYFuETYv8mUHzz6pp", "function")
    assert isinstance(call.function, ChoiceDeltaToolCallFunction)
    assert (call.function.name, call.function.arguments) == ("GetWeatherArgs", "")
    later = ChatCompletionChunk(find(OPENAI_TOOL, '"arguments":"{\\"'))
    assert later.choices[0].delta.tool_calls[0].function.arguments == '{"'


def test_usage_access() -> None:
    chunk = ChatCompletionChunk(find(GROQ_TOOL, '"usage"'))
    usage = chunk.usage
    assert isinstance(usage, CompletionUsage)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (210, 15, 225)
    assert usage.prompt_tokens_details is None
    assert usage.get("queue_time") == 0.041520249
    assert set(usage.extra) == {"queue_time", "prompt_time", "completion_time", "total_time"}
    last = ChatCompletionChunk(payloads(OPENAI_LOGPROBS)[-1])
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens_details == {"reasoning_tokens": 0}


def test_logprobs_access() -> None:
    chunk = ChatCompletionChunk(find(OPENAI_LOGPROBS, '"Foo"'))
    logprobs = chunk.choices[0].logprobs
    assert isinstance(logprobs, ChoiceLogprobs)
    assert logprobs.refusal is None
    token = logprobs.content[0]
    assert isinstance(token, TokenLogprob)
    assert (token.token, token.logprob, token.bytes, token.top_logprobs) == (
        "Foo",
        -0.0025094282,
        [70, 111, 111],
        [],
    )


def test_provider_fields_are_reachable() -> None:
    first = find(GROQ_TOOL, '"seed"')
    chunk = ChatCompletionChunk(first)
    assert chunk.get("x_groq") == {"id": "req_01kh52nj5yfcat8hrmvrk2j2hj", "seed": 689520654}
    assert chunk.extra == {"x_groq": first["x_groq"]}
    assert chunk.get("missing") is None
    assert chunk.get("missing", 3) == 3
    azure = ChatCompletionChunk(
        find("providers/azure-model-router-gpt-5-nano-text.sse", "content_filter_results")
    )
    assert azure.extra["prompt_filter_results"][0]["prompt_index"] == 0
    assert (azure.id, azure.model, azure.created, azure.choices) == ("", "", 0, [])
    openrouter = ChatCompletionChunk(
        find("providers/openrouter-gemini-3.1-flash-lite-multi-tool-turn1.sse", "native_finish")
    )
    choice = openrouter.choices[0]
    assert "native_finish_reason" in choice.extra
    assert choice.get("native_finish_reason") == choice.to_dict()["native_finish_reason"]


def test_delta_extra_fields() -> None:
    payload = find("providers/deepseek-reasoner-reasoning.sse", '"reasoning_content":"We')
    delta = ChatCompletionChunk(payload).choices[0].delta
    assert delta.reasoning_content == "We"
    assert "reasoning_content" not in delta.extra  # part of the shape
    vercel = find("providers/vercel-gateway-gemini-3-pro-tool-turn1.sse", "provider_metadata")
    vdelta = ChatCompletionChunk(vercel).choices[0].delta
    assert "provider_metadata" in vdelta.extra
    assert vdelta.get("provider_metadata") == vercel["choices"][0]["delta"]["provider_metadata"]


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
def test_delta_reasoning_from_either_name(key: str) -> None:
    assert ChoiceDelta({key: "think"}).reasoning_content == "think"
    assert ChoiceDelta({key: None}).reasoning_content is None
    assert ChatCompletionMessage({key: "thought"}).reasoning_content == "thought"


def test_delta_reasoning_prefers_reasoning_content() -> None:
    assert ChoiceDelta({"reasoning_content": "a", "reasoning": "b"}).reasoning_content == "a"
    assert ChoiceDelta({"reasoning_content": None, "reasoning": "b"}).reasoning_content == "b"
    assert ChoiceDelta({"reasoning": 5}).reasoning_content is None


def test_mistral_typed_content_parts() -> None:
    thinking, *_, text = (
        ChatCompletionChunk(p).choices[0].delta
        for p in payloads(MAGISTRAL)
        if ChatCompletionChunk(p).choices
        and isinstance(p["choices"][0]["delta"].get("content"), list)
    )
    assert thinking.content is None  # no text part
    assert thinking.reasoning_content == "The user is asking"
    assert isinstance(thinking.to_dict()["content"], list)  # the raw value is kept
    assert text.reasoning_content is None
    assert text.content
    mixed = ChoiceDelta(
        {
            "content": [
                {"type": "thinking", "thinking": "plain"},
                {"type": "text", "text": "a"},
                {"type": "image_url", "image_url": {}},
                "junk",
                {"type": "text", "text": "b"},
            ]
        }
    )
    assert (mixed.content, mixed.reasoning_content) == ("ab", "plain")
    assert ChoiceDelta({"content": 5}).content is None
    assert ChoiceDelta({"content": []}).content is None


# --------------------------------------------------------------------------- omitted fields


def test_omitted_fields_read_as_none_or_empty() -> None:
    chunk = ChatCompletionChunk({})
    assert (chunk.id, chunk.object, chunk.created, chunk.model) == (None, None, None, None)
    assert chunk.choices == []
    assert chunk.usage is None
    choice = ChunkChoice({})
    assert choice.delta == ChoiceDelta({})
    assert (choice.index, choice.finish_reason, choice.logprobs) == (None, None, None)
    delta = ChoiceDelta({})
    assert (delta.role, delta.content, delta.refusal, delta.reasoning_content) == (None,) * 4
    assert delta.tool_calls is None
    assert delta.function_call is None
    call = ChoiceDeltaToolCall({"index": 0})
    assert (call.id, call.type, call.function) == (None, None, None)
    assert ChoiceLogprobs({}).content is None
    assert CompletionUsage({}).total_tokens is None


def test_null_fields_read_as_none_or_empty() -> None:
    chunk = ChatCompletionChunk({"choices": None, "usage": None})
    assert chunk.choices == []
    assert chunk.usage is None
    assert ChunkChoice({"delta": None}).delta.content is None
    assert ChoiceDelta({"tool_calls": None, "function_call": None}).tool_calls is None


def test_completion_omitted_fields() -> None:
    completion = ChatCompletion({})
    assert completion.choices == []
    assert completion.usage is None
    choice = Choice({})
    assert choice.message == ChatCompletionMessage({})
    message = ChatCompletionMessage({})
    assert (message.role, message.content, message.tool_calls, message.function_call) == (
        None,
        None,
        None,
        None,
    )
    tool_call = ChatCompletionMessageToolCall({})
    assert tool_call.function == Function({})
    assert (tool_call.function.name, tool_call.function.arguments) == (None, None)


def test_items_that_are_not_objects_are_skipped() -> None:
    chunk = ChatCompletionChunk({"choices": [5, {"index": 0}, None, "x"]})
    assert [c.index for c in chunk.choices] == [0]
    assert ChunkChoice({"delta": "text"}).delta == ChoiceDelta({})
    assert ChatCompletionChunk({"usage": [1]}).usage is None
    assert ChatCompletionChunk({"choices": "abc"}).choices == []


def test_completion_access() -> None:
    data = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "t",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                    "function_call": {"name": "g", "arguments": "[]"},
                },
                "finish_reason": "tool_calls",
                "logprobs": {"content": None, "refusal": None},
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    completion = ChatCompletion(data)
    choice = completion.choices[0]
    assert isinstance(choice, Choice)
    assert choice.finish_reason == "tool_calls"
    assert choice.logprobs == ChoiceLogprobs({"content": None, "refusal": None})
    message = choice.message
    assert isinstance(message, ChatCompletionMessage)
    call = message.tool_calls[0]
    assert isinstance(call, ChatCompletionMessageToolCall)
    assert (call.id, call.type, call.function.name, call.function.arguments) == (
        "t",
        "function",
        "f",
        "{}",
    )
    assert isinstance(message.function_call, FunctionCall)
    assert message.function_call.arguments == "[]"
    assert completion.usage == CompletionUsage({"prompt_tokens": 1, "completion_tokens": 2,
                                                "total_tokens": 3})  # fmt: skip
    assert completion.to_dict() is data


def test_legacy_function_call_delta() -> None:
    delta = ChoiceDelta({"function_call": {"name": "f", "arguments": "{"}})
    assert isinstance(delta.function_call, ChoiceDeltaFunctionCall)
    assert (delta.function_call.name, delta.function_call.arguments) == ("f", "{")


# --------------------------------------------------------------------------- records


def test_to_dict_is_the_payload() -> None:
    payload = find(GROQ_TOOL, '"x_groq"')
    before = copy.deepcopy(payload)
    chunk = ChatCompletionChunk(payload)
    assert chunk.to_dict() is payload
    assert chunk.choices[0].to_dict() is payload["choices"][0]
    assert chunk.choices[0].delta.to_dict() is payload["choices"][0]["delta"]
    # Reading every attribute changes nothing.
    for choice in chunk.choices:
        _ = (choice.delta.content, choice.delta.tool_calls, choice.logprobs, choice.index)
    _ = (chunk.usage, chunk.extra, chunk.get("x_groq"))
    assert payload == before
    assert json.loads(json.dumps(chunk.to_dict())) == before


def test_extra_is_a_new_dict() -> None:
    payload = {"id": "x", "x_groq": {"id": "r"}}
    chunk = ChatCompletionChunk(payload)
    extra = chunk.extra
    extra["added"] = 1
    assert "added" not in payload
    assert chunk.extra == {"x_groq": {"id": "r"}}


def test_equality() -> None:
    payload = find(OPENAI_TOOL, '"tool_calls"')
    assert ChatCompletionChunk(payload) == ChatCompletionChunk(copy.deepcopy(payload))
    assert ChatCompletionChunk(payload) != ChatCompletionChunk({**payload, "id": "other"})
    assert ChatCompletionChunk(payload) != payload  # a view is not its dict
    assert ChoiceDeltaFunctionCall({"name": "f"}) != ChoiceDeltaToolCallFunction({"name": "f"})
    assert Function({"name": "f"}) != FunctionCall({"name": "f"})
    assert ChatCompletionChunk({}) != ChatCompletion({})


def test_records_are_unhashable_read_only_and_slotted() -> None:
    chunk = ChatCompletionChunk({"id": "x"})
    with pytest.raises(TypeError):
        hash(chunk)
    with pytest.raises(AttributeError):
        chunk.id = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        chunk.something = 1  # type: ignore[attr-defined]
    assert not hasattr(chunk, "__dict__")
    assert chunk.id == "x"


@pytest.mark.parametrize(
    "record",
    [
        ChatCompletionChunk({"id": "x", "choices": []}),
        ChoiceDelta({"content": "a"}),
        ChatCompletion({"id": "c"}),
        CompletionUsage({"total_tokens": 3}),
    ],
)
def test_repr(record: Any) -> None:
    assert repr(record) == f"{type(record).__name__}({record.to_dict()!r})"
    namespace = {type(record).__name__: type(record)}
    assert eval(repr(record), namespace) == record


# --------------------------------------------------------------------------- ServerSentEvent


def test_server_sent_event_fields_and_defaults() -> None:
    event = ServerSentEvent(data='{"a": 1}')
    assert (event.event, event.data, event.id, event.retry) == ("message", '{"a": 1}', "", None)
    assert event.json() == {"a": 1}
    full = ServerSentEvent(event="error", data="x", id="7", retry=1500)
    assert (full.event, full.data, full.id, full.retry) == ("error", "x", "7", 1500)
    assert repr(full) == "ServerSentEvent(event='error', data='x', id='7', retry=1500)"
    assert repr(event) == "ServerSentEvent(event='message', data='{\"a\": 1}', id='')"
    with pytest.raises(json.JSONDecodeError):
        ServerSentEvent(data="not json").json()


def test_server_sent_event_is_immutable() -> None:
    event = ServerSentEvent(data="x")
    for name in ("event", "data", "id", "retry"):
        with pytest.raises(AttributeError):
            setattr(event, name, "y")
    with pytest.raises(AttributeError):
        event.other = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        event[1] = "y"  # type: ignore[index]
    assert event.data == "x"


def test_server_sent_event_keyword_only() -> None:
    with pytest.raises(TypeError):
        ServerSentEvent("x")  # type: ignore[misc]


def test_server_sent_event_equality_hash_copy_pickle() -> None:
    event = ServerSentEvent(event="ping", data="x", id="1", retry=5)
    same = ServerSentEvent(event="ping", data="x", id="1", retry=5)
    assert event == same
    assert hash(event) == hash(same)
    assert event != ServerSentEvent(event="ping", data="x", id="2", retry=5)
    assert {event, same} == {event}
    for clone in (copy.copy(event), copy.deepcopy(event), pickle.loads(pickle.dumps(event))):
        assert clone == event
        assert type(clone) is ServerSentEvent
        assert clone.retry == 5
