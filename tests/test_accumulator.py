"""Every merge rule of ChatCompletionAccumulator, on small hand-built chunks.

Each rule is the one the module docstring of ``ssestream._accumulator`` states; the
shapes are those of real providers (named per test), cut down to the field under test.
The real recordings themselves are in ``test_recordings.py``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ssestream import (
    ChatCompletion,
    ChatCompletionAccumulator,
    ChatCompletionChunk,
    ChunkParseError,
)


def chunk(*choices: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    """A chunk payload with the given choices (built by :func:`choice`)."""
    return {"object": "chat.completion.chunk", **envelope, "choices": list(choices)}


def choice(index: int = 0, finish_reason: Any = None, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish_reason}


def rebuild(*chunks: dict[str, Any]) -> ChatCompletion:
    accumulator = ChatCompletionAccumulator()
    for payload in chunks:
        accumulator.add(payload)
    return accumulator.completion


def message(*deltas: dict[str, Any]) -> dict[str, Any]:
    """The rebuilt message dict of choice 0, one chunk per delta."""
    completion = rebuild(*(chunk(choice(**d)) for d in deltas))
    return completion.to_dict()["choices"][0]["message"]


def calls(*deltas: dict[str, Any]) -> list[tuple[Any, Any, Any, Any]]:
    """(id, type, name, arguments) of each rebuilt tool call of choice 0."""
    return [
        (c["id"], c["type"], c["function"]["name"], c["function"]["arguments"])
        for c in message(*deltas).get("tool_calls", [])
    ]


def entry(
    index: Any = None, id: Any = None, name: Any = None, arguments: Any = None, **kw: Any
) -> dict[str, Any]:
    """One ``delta.tool_calls`` entry; ``index=None`` leaves the key out."""
    out: dict[str, Any] = {**kw}
    if index is not None:
        out["index"] = index
    if id is not None:
        out["id"] = id
    function = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    if function:
        out["function"] = function
    return out


def tool(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """A delta with one tool-call entry (see :func:`entry`)."""
    return {"tool_calls": [entry(*args, **kwargs)]}


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize("field", ["content", "refusal", "reasoning_content", "reasoning"])
def test_text_is_appended(field: str) -> None:
    assert message({field: "Hel"}, {field: "lo"}, {field: ", world"})[field] == "Hello, world"


@pytest.mark.parametrize("field", ["content", "refusal"])
def test_null_changes_nothing(field: str) -> None:
    assert message({field: "a"}, {field: None}, {field: "b"})[field] == "ab"
    assert message({field: None}, {field: None})[field] is None
    assert message({"role": "assistant"})[field] is None  # never sent


@pytest.mark.parametrize("field", ["content", "refusal"])
def test_empty_string_turns_none_into_empty(field: str) -> None:
    # OpenAI's first delta: {"role": "assistant", "content": ""} (or "refusal": "").
    assert message({field: ""})[field] == ""
    assert message({field: ""}, {field: None})[field] == ""
    assert message({field: None}, {field: ""}, {field: "x"})[field] == "x"


def test_reasoning_empty_then_null_then_text() -> None:
    # DeepSeek: reasoning_content "" first, then text, then a null hand-off to content.
    m = message(
        {"role": "assistant", "reasoning_content": "", "content": None},
        {"reasoning_content": "Think"},
        {"reasoning_content": None, "content": None},
        {"reasoning_content": None, "content": "Answer"},
    )
    assert (m["reasoning_content"], m["content"]) == ("Think", "Answer")


def test_arguments_are_appended_and_start_empty() -> None:
    assert calls(
        tool(0, "call_1", "f", ""), tool(0, arguments='{"a"'), tool(0, arguments=":1}")
    ) == [("call_1", "function", "f", '{"a":1}')]
    # No fragment at all, or only null ones: "".
    assert calls(tool(0, "call_1", "f"), tool(0, arguments=None)) == [
        ("call_1", "function", "f", "")
    ]


def test_arguments_sent_as_a_json_object_are_serialised() -> None:
    # Some servers send the arguments as an object rather than JSON text.
    assert calls(tool(0, "call_1", "f", {"city": "Zürich", "n": [1, 2]})) == [
        ("call_1", "function", "f", '{"city": "Zürich", "n": [1, 2]}')
    ]


# --------------------------------------------------------------------------- identity fields


def test_role_is_set_once() -> None:
    # Z.ai, Perplexity, OpenRouter: role on every delta.
    assert message(*({"role": "assistant", "content": c} for c in "abc"))["role"] == "assistant"
    assert message({"role": ""}, {"role": "assistant"})["role"] == "assistant"
    assert message({"role": "assistant"}, {"role": "tool"})["role"] == "assistant"


def test_role_defaults_to_assistant() -> None:
    assert message({"content": "x"})["role"] == "assistant"
    assert message({"role": None, "content": "x"})["role"] == "assistant"


def test_tool_call_id_type_and_name_are_set_once() -> None:
    # Bedrock repeats type on every fragment; some servers repeat id and name.
    repeated = [tool(0, "call_1", "f", "{", type="function") for _ in range(3)]
    assert calls(*repeated) == [("call_1", "function", "f", "{{{")]


def test_empty_identity_values_are_absent() -> None:
    # watsonx: continuations with name ""; Alibaba: continuations with id "".
    assert calls(
        tool(0, "call_1", "web_search", "", type="function"),
        tool(0, "", "", '{"q":', type=None),
        tool(0, "", "", '"x"}', type=""),
    ) == [("call_1", "function", "web_search", '{"q":"x"}')]
    # A call whose first fragment has an empty name gets the later one.
    assert calls(tool(0, "call_1", "", ""), tool(0, name="f")) == [("call_1", "function", "f", "")]


def test_missing_tool_type_reads_function() -> None:
    # Mistral sends no type.
    assert calls(tool(None, "x1", "f", "{}")) == [("x1", "function", "f", "{}")]


# --------------------------------------------------------------------------- reasoning


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
def test_reasoning_keeps_the_name_used(key: str) -> None:
    completion = rebuild(chunk(choice(**{key: "a"})), chunk(choice(**{key: "b"})))
    raw = completion.choices[0].message.to_dict()
    assert raw[key] == "ab"
    other = "reasoning" if key == "reasoning_content" else "reasoning_content"
    assert other not in raw
    assert completion.choices[0].message.reasoning_content == "ab"


def test_reasoning_first_name_seen_is_kept() -> None:
    m = message({"reasoning": "a"}, {"reasoning_content": "b"})
    assert m["reasoning"] == "ab"
    assert "reasoning_content" not in m


def test_reasoning_under_both_names_with_the_same_text_counts_once() -> None:
    deltas = [{"reasoning_content": t, "reasoning": t} for t in ("Let ", "me ", "think")]
    assert message(*deltas)["reasoning_content"] == "Let me think"
    assert "reasoning" not in message(*deltas)
    # Whichever key comes first in the delta.
    deltas = [{"reasoning": t, "reasoning_content": t} for t in ("Let ", "me ", "think")]
    m = message(*deltas)
    assert m["reasoning"] == "Let me think"
    assert "reasoning_content" not in m


def test_reasoning_under_both_names_with_different_text_is_kept_apart() -> None:
    m = message(
        {"reasoning_content": "a", "reasoning": "X"},
        {"reasoning_content": "b", "reasoning": "Y"},
        {"reasoning_content": "c"},
    )
    assert m["reasoning_content"] == "abc"
    assert m["reasoning"] == "XY"


def test_reasoning_details_are_merged_by_index() -> None:
    # OpenRouter: text fragments of entry 0, then its signature alone, then entry 1.
    m = message(
        {
            "reasoning": "Let ",
            "reasoning_details": [
                {"type": "reasoning.text", "text": "Let ", "format": "f", "index": 0}
            ],
        },
        {
            "reasoning": "me",
            "reasoning_details": [
                {"type": "reasoning.text", "text": "me", "format": "f", "index": 0}
            ],
        },
        {"reasoning_details": [{"type": "reasoning.text", "signature": "SIG", "index": 0}]},
        {
            "reasoning_details": [
                {"type": "reasoning.encrypted", "data": "AB", "id": "t1", "index": 1},
                {"type": "reasoning.encrypted", "data": "CD", "index": 1},
            ]
        },
        {"reasoning_details": [{"type": "reasoning.summary", "summary": "S1", "index": 2}]},
        {"reasoning_details": [{"summary": "S2", "index": 2, "format": None}]},
    )
    assert m["reasoning"] == "Let me"
    assert m["reasoning_details"] == [
        {"type": "reasoning.text", "text": "Let me", "format": "f", "index": 0, "signature": "SIG"},
        {"type": "reasoning.encrypted", "data": "ABCD", "id": "t1", "index": 1},
        {"type": "reasoning.summary", "summary": "S1S2", "index": 2},
    ]


def test_reasoning_details_without_index_are_kept_apart() -> None:
    m = message(
        {"reasoning_details": [{"type": "reasoning.text", "text": "a"}]},
        {"reasoning_details": [{"type": "reasoning.text", "text": "b"}]},
    )
    assert m["reasoning_details"] == [
        {"type": "reasoning.text", "text": "a"},
        {"type": "reasoning.text", "text": "b"},
    ]


def test_reasoning_details_are_not_aliased_to_the_chunks() -> None:
    detail = {"type": "reasoning.text", "text": "a", "index": 0}
    payload = chunk(choice(reasoning_details=[detail]))
    original = copy.deepcopy(payload)
    accumulator = ChatCompletionAccumulator()
    accumulator.add(payload)
    accumulator.add(chunk(choice(reasoning_details=[{"text": "b", "index": 0}])))
    assert payload == original
    details = accumulator.completion.choices[0].message.to_dict()["reasoning_details"]
    assert details == [{"type": "reasoning.text", "text": "ab", "index": 0}]


def test_mistral_typed_content_parts() -> None:
    # magistral: thinking parts with nested text, then text parts.
    m = message(
        {
            "role": "assistant",
            "content": [{"type": "thinking", "thinking": [{"type": "text", "text": "The user"}]}],
        },
        {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": " asks."}]}]},
        {"content": [{"type": "text", "text": "2 + 2"}]},
        {"content": [{"type": "text", "text": " = 4"}, {"type": "text", "text": "."}]},
        {"content": ""},
    )
    assert m["content"] == "2 + 2 = 4."
    assert m["reasoning_content"] == "The user asks."


def test_mistral_thinking_as_plain_text_and_unknown_parts() -> None:
    part = {"type": "image_url", "image_url": {"url": "u"}}
    m = message({"content": [{"type": "thinking", "thinking": "hmm"}, part]}, {"content": "ok"})
    assert m["reasoning_content"] == "hmm"
    assert m["content"] == "ok"
    assert m["content_parts"] == [part]  # kept whole rather than dropped


# --------------------------------------------------------------------------- tool calls


def test_tool_calls_keyed_by_index_starting_at_1() -> None:
    # Copilot / Anthropic fallback: the only call has index 1.
    assert calls(
        {"content": "Let me look."},
        tool(1, "toolu_1", "read_file", "", type="function"),
        tool(1, arguments='{"path": "a.txt"}'),
        tool(1, arguments=""),
    ) == [("toolu_1", "function", "read_file", '{"path": "a.txt"}')]


def test_parallel_tool_calls_interleaved_by_index() -> None:
    assert calls(
        tool(0, "c0", "add", ""),
        tool(1, "c1", "mul", ""),
        tool(0, arguments='{"a":1}'),
        tool(1, arguments='{"b":2}'),
    ) == [("c0", "function", "add", '{"a":1}'), ("c1", "function", "mul", '{"b":2}')]


def test_tool_calls_are_listed_in_the_order_they_started() -> None:
    assert [c[0] for c in calls(tool(1, "first", "f"), tool(0, "second", "g"))] == [
        "first",
        "second",
    ]


def test_several_entries_with_one_index_in_one_delta() -> None:
    # Bedrock: four fragments of call 0 in one delta.
    entries = [
        {"index": 0, "id": None, "function": {"arguments": a, "name": None}, "type": "function"}
        for a in ("location", '":"', "Paris", '"}')
    ]
    assert calls(
        {"tool_calls": [entry(0, "c1", "get_weather", '{"', type="function")]},
        {"tool_calls": entries},
    ) == [("c1", "function", "get_weather", '{"location":"Paris"}')]


def test_several_calls_in_one_delta() -> None:
    assert calls({"tool_calls": [entry(0, "a", "f", "{}"), entry(1, "b", "g", "[]")]}) == [
        ("a", "function", "f", "{}"),
        ("b", "function", "g", "[]"),
    ]


def test_no_index_new_id_starts_a_call_no_id_continues() -> None:
    # Mistral / Gemini: no index at all.
    assert calls(
        tool(None, "a", "f", '{"x"'),
        tool(None, arguments=":1}"),
        tool(None, "b", "g", "{"),
        tool(None, "", "", "}"),
        tool(None, "b", arguments=""),  # the same id again: the same call
    ) == [("a", "function", "f", '{"x":1}'), ("b", "function", "g", "{}")]


def test_same_index_with_a_different_new_id_starts_a_new_call() -> None:
    # vLLM / SGLang reuse index 0 for every call.
    assert calls(
        tool(0, "a", "f", "{}"),
        tool(0, "b", "g", "{"),
        tool(0, arguments="}"),
        tool(0, "b", arguments=""),
    ) == [("a", "function", "f", "{}"), ("b", "function", "g", "{}")]


def test_same_index_id_after_an_id_less_start_continues() -> None:
    # A call whose id arrives in its second fragment.
    assert calls(tool(0, name="f", arguments="{"), tool(0, "late", arguments="}")) == [
        ("late", "function", "f", "{}")
    ]


def test_tool_call_extra_fields_are_kept() -> None:
    raw = message(
        {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "x_fn": 1}, "x": 2}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": "{}", "x_fn": None}, "x": None}]},
    )["tool_calls"]
    assert raw == [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}", "x_fn": 1},
         "x": 2}
    ]  # fmt: skip


def test_empty_tool_delta_changes_nothing() -> None:
    # watsonx: the finish chunk carries an empty tool-call entry.
    assert calls(tool(0, "a", "f", "{}"), {"tool_calls": [{"index": 0}]}, {"tool_calls": []}) == [
        ("a", "function", "f", "{}")
    ]


# --------------------------------------------------------------------------- choices


def test_choices_in_any_order_finishing_separately() -> None:
    accumulator = ChatCompletionAccumulator()
    accumulator.add(chunk(choice(1, content="B1")))
    accumulator.add(chunk(choice(0, content="A1")))
    accumulator.add(chunk(choice(1, content="B2"), choice(0, content="A2")))
    accumulator.add(chunk(choice(1, "length")))
    assert accumulator.finished is False
    partial = accumulator.completion
    assert [(c.index, c.finish_reason) for c in partial.choices] == [(0, None), (1, "length")]
    accumulator.add(chunk(choice(0, "stop")))
    assert accumulator.finished is True
    completion = accumulator.completion
    assert [(c.index, c.message.content, c.finish_reason) for c in completion.choices] == [
        (0, "A1A2", "stop"),
        (1, "B1B2", "length"),
    ]


def test_choice_without_index_takes_its_position() -> None:
    completion = rebuild(
        {"choices": [{"delta": {"content": "a"}}, {"delta": {"content": "b"}}]},
        {"choices": [{"delta": {"content": "c"}}]},
    )
    assert [c.message.content for c in completion.choices] == ["ac", "b"]


def test_finish_reason_last_non_null() -> None:
    # Avian: finish_reason on two chunks; OpenRouter repeats it on the usage chunk.
    completion = rebuild(
        chunk(choice(0, "tool_calls")), chunk(choice(0, None)), chunk(choice(0, "stop"))
    )
    assert completion.choices[0].finish_reason == "stop"


def test_finished() -> None:
    accumulator = ChatCompletionAccumulator()
    assert accumulator.finished is False  # no choice at all
    accumulator.add(chunk(usage={"total_tokens": 1}))
    assert accumulator.finished is False
    accumulator.add(chunk(choice(0, content="x")))
    assert accumulator.finished is False
    accumulator.add(chunk(choice(0, "stop")))
    assert accumulator.finished is True


# --------------------------------------------------------------------------- envelope


def test_usage_is_replaced_not_summed() -> None:
    # Perplexity: a running total on every chunk.
    completion = rebuild(
        chunk(choice(content="a"), usage={"prompt_tokens": 10, "completion_tokens": 1}),
        chunk(choice(content="b"), usage={"prompt_tokens": 10, "completion_tokens": 2}),
        chunk(choice(content="c"), usage=None),
        chunk(choice(0, "stop"), usage={"prompt_tokens": 10, "completion_tokens": 3}),
    )
    assert completion.usage is not None
    assert completion.usage.to_dict() == {"prompt_tokens": 10, "completion_tokens": 3}


def test_usage_sent_twice_is_taken_once() -> None:
    # Groq: the same usage on the finish chunk and on a choices:[] chunk.
    usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    completion = rebuild(chunk(choice(0, "stop"), usage=usage), chunk(usage=dict(usage)))
    assert completion.usage is not None
    assert completion.usage.total_tokens == 12
    assert completion.usage.to_dict() == usage


def test_no_usage() -> None:
    assert rebuild(chunk(choice(content="a"))).usage is None


def test_id_model_created_from_the_first_non_empty() -> None:
    # Azure: the first chunk has empty id, model and created, and choices: [].
    azure_first = {
        "id": "",
        "object": "",
        "created": 0,
        "model": "",
        "choices": [],
        "prompt_filter_results": [{"prompt_index": 0}],
    }
    completion = rebuild(
        azure_first,
        chunk(choice(content="a"), id="chatcmpl-1", model="gpt-5-nano", created=1700000000),
        # Avian changes the id; Groq and Azure DeepSeek change created: the first stays.
        chunk(choice(content="b"), id="gen-2", model="other", created=1700000009),
    )
    assert (completion.id, completion.model, completion.created) == (
        "chatcmpl-1",
        "gpt-5-nano",
        1700000000,
    )
    assert completion.object == "chat.completion"
    assert completion.get("prompt_filter_results") == [{"prompt_index": 0}]


def test_each_identity_field_is_taken_on_its_own() -> None:
    completion = rebuild(
        chunk(id="a", model="", created=None), chunk(model="m"), chunk(created=5, id="b")
    )
    assert (completion.id, completion.model, completion.created) == ("a", "m", 5)


def test_nothing_added_gives_an_empty_completion() -> None:
    completion = ChatCompletionAccumulator().completion
    assert completion.to_dict() == {
        "id": None,
        "object": "chat.completion",
        "created": None,
        "model": None,
        "choices": [],
        "usage": None,
    }


def test_unknown_fields_keep_their_last_non_null_value() -> None:
    completion = rebuild(
        {
            "id": "x",
            "system_fingerprint": "fp_1",
            "x_groq": {"id": "req_1"},
            "choices": [
                {"index": 0, "delta": {"content": "a", "provider_metadata": {"n": 1}},
                 "native_finish_reason": None, "content_filter_results": {"hate": 1}}
            ],
        },
        {
            "system_fingerprint": None,
            "citations": ["u1"],
            "choices": [
                {"index": 0, "delta": {"provider_metadata": None},
                 "native_finish_reason": "STOP", "content_filter_results": None}
            ],
        },
        {
            "system_fingerprint": "fp_2",
            "citations": ["u1", "u2"],
            "choices": [{"index": 0, "delta": {"provider_metadata": {"n": 2}}}],
        },
    )  # fmt: skip
    raw = completion.to_dict()
    assert raw["system_fingerprint"] == "fp_2"
    assert raw["x_groq"] == {"id": "req_1"}
    assert raw["citations"] == ["u1", "u2"]
    assert completion.system_fingerprint == "fp_2"
    # extra: what is not part of the OpenAI shape.
    assert completion.extra == {"x_groq": {"id": "req_1"}, "citations": ["u1", "u2"]}
    c = raw["choices"][0]
    assert c["native_finish_reason"] == "STOP"
    assert c["content_filter_results"] == {"hate": 1}
    assert c["message"]["provider_metadata"] == {"n": 2}
    assert c["message"]["content"] == "a"


def test_envelope_shape_and_order() -> None:
    completion = rebuild(
        chunk(choice(content="a"), id="i", model="m", created=1, service_tier="default"),
        chunk(choice(0, "stop"), usage={"total_tokens": 3}),
    )
    raw = completion.to_dict()
    assert list(raw) == [
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "service_tier",
    ]
    assert list(raw["choices"][0]) == ["index", "message", "finish_reason", "logprobs"]
    assert list(raw["choices"][0]["message"]) == ["role", "content", "refusal"]


# --------------------------------------------------------------------------- other fields


def token(text: str) -> dict[str, Any]:
    return {"token": text, "logprob": -0.5, "bytes": list(text.encode()), "top_logprobs": []}


def test_logprobs_lists_are_concatenated() -> None:
    completion = rebuild(
        {"choices": [{"index": 0, "delta": {"content": "a"},
                      "logprobs": {"content": [token("a")], "refusal": None}}]},
        {"choices": [{"index": 0, "delta": {"content": "bc"},
                      "logprobs": {"content": [token("b"), token("c")], "refusal": None}}]},
        {"choices": [{"index": 0, "delta": {}, "logprobs": None}]},
        {"choices": [{"index": 0, "delta": {"refusal": "no"},
                      "logprobs": {"content": None, "refusal": [token("no")]}}]},
    )  # fmt: skip
    logprobs = completion.choices[0].logprobs
    assert logprobs is not None
    assert [t.token for t in logprobs.content or []] == ["a", "b", "c"]
    assert [t.token for t in logprobs.refusal or []] == ["no"]
    assert logprobs.content is not None
    assert logprobs.content[1].bytes == [98]


def test_no_logprobs() -> None:
    completion = rebuild(chunk(choice(content="a")))
    assert completion.choices[0].logprobs is None
    assert completion.to_dict()["choices"][0]["logprobs"] is None


def test_legacy_function_call() -> None:
    m = message(
        {"role": "assistant", "function_call": {"name": "get_weather", "arguments": ""}},
        {"function_call": {"arguments": '{"city":'}},
        {"function_call": {"name": "get_weather", "arguments": '"Paris"}'}},
    )
    assert m["function_call"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert "tool_calls" not in m
    completion = rebuild(chunk(choice(function_call={"name": "f", "arguments": "{}"})))
    function_call = completion.choices[0].message.function_call
    assert function_call is not None
    assert (function_call.name, function_call.arguments) == ("f", "{}")


def test_audio() -> None:
    m = message(
        {"audio": {"id": "audio_1", "data": "AAA", "transcript": "Hel", "expires_at": 1}},
        {"audio": {"id": "audio_1", "data": "BBB", "transcript": "lo", "expires_at": None}},
        {"audio": {"data": "CC", "expires_at": 2}},
    )
    assert m["audio"] == {"id": "audio_1", "data": "AAABBBCC", "transcript": "Hello",
                          "expires_at": 2}  # fmt: skip


def test_annotations_are_collected() -> None:
    first = {"type": "url_citation", "url_citation": {"url": "https://a", "title": "A"}}
    second = {"type": "url_citation", "url_citation": {"url": "https://b", "title": "B"}}
    m = message({"content": "x", "annotations": [first]}, {"annotations": [second]}, {})
    assert m["annotations"] == [first, second]
    assert "annotations" not in message({"content": "x"})


# --------------------------------------------------------------------------- the API


def test_add_accepts_a_chunk_or_a_dict() -> None:
    payloads = [
        chunk(choice(role="assistant", content="a"), id="c1", model="m", created=1),
        chunk(choice(0, "stop", content="b"), id="c1", model="m", created=1),
    ]
    from_dicts = rebuild(*payloads)
    accumulator = ChatCompletionAccumulator()
    for payload in payloads:
        accumulator.add(ChatCompletionChunk(payload))
    assert accumulator.completion == from_dicts
    assert from_dicts.choices[0].message.content == "ab"


def test_add_accepts_any_mapping() -> None:
    from types import MappingProxyType

    accumulator = ChatCompletionAccumulator()
    accumulator.add(MappingProxyType(chunk(choice(content="a"), id="x")))
    assert accumulator.completion.id == "x"
    assert accumulator.completion.choices[0].message.content == "a"


@pytest.mark.parametrize("bad", [None, "data: {}", b"{}", [{"choices": []}], 42])
def test_add_of_a_non_mapping_raises_type_error(bad: Any) -> None:
    accumulator = ChatCompletionAccumulator()
    with pytest.raises(TypeError) as info:
        accumulator.add(bad)
    assert not isinstance(info.value, ChunkParseError)
    assert accumulator.chunk_count == 0


def test_keep_chunks() -> None:
    payloads = [chunk(choice(content=c)) for c in "abc"]
    keeping = ChatCompletionAccumulator(keep_chunks=True)
    typed = ChatCompletionChunk(payloads[1])
    keeping.add(payloads[0])
    keeping.add(typed)
    keeping.add(payloads[2])
    assert keeping.chunks == [ChatCompletionChunk(p) for p in payloads]
    assert keeping.chunks[1] is typed
    assert all(isinstance(c, ChatCompletionChunk) for c in keeping.chunks)
    assert keeping.chunk_count == 3

    default = ChatCompletionAccumulator()
    for payload in payloads:
        default.add(payload)
    assert default.chunks == []
    assert default.chunk_count == 3
    assert default.completion == keeping.completion


def test_completion_can_be_read_at_any_time() -> None:
    accumulator = ChatCompletionAccumulator()
    seen = []
    for text in ["Hel", "lo", " wor", "ld"]:
        accumulator.add(chunk(choice(content=text, reasoning="r" + text)))
        seen.append(accumulator.completion.choices[0].message.content)
    assert seen == ["Hel", "Hello", "Hello wor", "Hello world"]
    assert accumulator.completion.choices[0].message.reasoning_content == "rHelrlor worrld"
    # Each read is a new record: mutating one does not change the next.
    first = accumulator.completion
    first.to_dict()["choices"][0]["message"]["content"] = "changed"
    assert accumulator.completion.choices[0].message.content == "Hello world"


def test_the_chunks_given_are_not_mutated() -> None:
    payloads = [
        chunk(choice(role="assistant", content="a", tool_calls=[entry(0, "c", "f", "{")]),
              id="i", usage=None),
        chunk(choice(0, "stop", tool_calls=[entry(0, arguments="}")]),
              usage={"total_tokens": 1}),
    ]  # fmt: skip
    original = copy.deepcopy(payloads)
    rebuild(*payloads)
    assert payloads == original


# --------------------------------------------------------------------------- bad input


BAD_CHUNKS = [
    pytest.param({"choices": "abc"}, id="choices-a-string"),
    pytest.param({"choices": {"index": 0}}, id="choices-an-object"),
    pytest.param({"choices": [5]}, id="choice-a-number"),
    pytest.param({"choices": [{"index": 0, "delta": "text"}]}, id="delta-a-string"),
    pytest.param({"choices": [{"index": 0, "delta": {"content": 5}}]}, id="content-a-number"),
    pytest.param(
        {"choices": [{"index": 0, "delta": {"content": {"text": "x"}}}]}, id="content-an-object"
    ),
    pytest.param({"choices": [{"index": 0, "delta": {"content": ["x"]}}]}, id="content-part-str"),
    pytest.param({"choices": [{"index": 0, "delta": {"refusal": 5}}]}, id="refusal-a-number"),
    pytest.param(
        {"choices": [{"index": 0, "delta": {"reasoning_content": 5}}]}, id="reasoning-a-number"
    ),
    pytest.param({"choices": [{"index": 0, "delta": {"reasoning": ["x"]}}]}, id="reasoning-list"),
    pytest.param({"choices": [{"index": 0, "delta": {"tool_calls": 5}}]}, id="tool-calls-number"),
    pytest.param({"choices": [{"index": 0, "delta": {"tool_calls": ["x"]}}]}, id="tool-call-str"),
    pytest.param(
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": "f"}]}}]},
        id="tool-function-a-string",
    ),
    pytest.param(
        {"choices": [{"index": 0, "delta": {"function_call": "f"}}]}, id="function-call-a-string"
    ),
    pytest.param(
        {"choices": [{"index": 0, "delta": {"reasoning_details": [5]}}]}, id="reasoning-detail-num"
    ),
    pytest.param({"choices": [{"index": 0, "delta": {"annotations": 5}}]}, id="annotations-num"),
    pytest.param({"choices": [{"index": 0, "delta": {"audio": "x"}}]}, id="audio-a-string"),
    pytest.param(
        {"choices": [{"index": 0, "delta": {"audio": {"transcript": 5}}}]}, id="audio-transcript"
    ),
    pytest.param({"choices": [{"index": 0, "logprobs": "x"}]}, id="logprobs-a-string"),
    pytest.param({"choices": [{"index": "1", "delta": {"content": "b"}}]}, id="index-a-string"),
    pytest.param({"usage": 5}, id="usage-a-number"),
    pytest.param({"usage": [1]}, id="usage-a-list"),
]


def started() -> ChatCompletionAccumulator:
    """An accumulator with two good chunks merged."""
    accumulator = ChatCompletionAccumulator()
    accumulator.add(chunk(choice(content="a", refusal="r", reasoning_content="t"), id="x"))
    accumulator.add(chunk(choice(content="b", audio={"transcript": "s"})))
    return accumulator


@pytest.mark.parametrize("bad", BAD_CHUNKS)
def test_bad_field_types_raise_chunk_parse_error(bad: dict[str, Any]) -> None:
    accumulator = started()
    with pytest.raises(ChunkParseError) as info:
        accumulator.add(bad)
    assert info.value.position == 2
    # Found by an explicit check, not by catching whatever the merge code raised.
    assert info.value.__cause__ is None
    assert str(info.value).startswith("chunk 2 is not a chat.completion.chunk: ")
    # Merging goes on.
    accumulator.add(chunk(choice(0, "stop", content="c")))
    assert accumulator.completion.choices[0].message.content == "abc"
    assert accumulator.chunk_count == 4


@pytest.mark.parametrize("bad", BAD_CHUNKS)
def test_a_rejected_chunk_leaves_the_completion_as_it_was(bad: dict[str, Any]) -> None:
    accumulator = started()
    before = accumulator.completion
    with pytest.raises(ChunkParseError):
        accumulator.add(bad)
    # What was merged before is kept, nothing of the bad field is added (no phantom
    # tool call or empty list), and the completion can still be read.
    assert accumulator.completion == before
