"""Every real recording, rebuilt by the streams and checked against an independent oracle.

* Provider recordings (``fixtures/providers``): against ``expected.json``, computed by a
  standalone script and checked by hand (see ``EXPECTED.md``). Two conventions of that
  file: ``role: null`` and tool-call ``type: null`` mean the library's OpenAI defaults
  ``"assistant"`` and ``"function"``; ``reasoning_field: "content"`` (Mistral's thinking
  parts inside ``delta.content``) means the library's ``reasoning_content`` key.
* OpenAI recordings (``fixtures/openai`` and ``history``): against the openai SDK's own
  ``ChatCompletionStreamState`` fed ``ChatCompletionChunk.model_validate`` of each payload.

Each recording is read whole, in 7-byte pieces and in seeded random pieces, through a
plain byte iterable and through real ``httpx`` / ``httpx2`` clients on a ``MockTransport``,
by the sync twin and by the async twin on asyncio and trio (the ``twin`` fixture). The
full matrix runs on a representative subset; the others are read whole through an
iterable and once in random pieces through an HTTP client.

The last part states what the openai SDK does on the provider quirks, next to what
ssestream does, as assertions on the SDK's behaviour.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

import openai.types.chat
import pydantic
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState

from ssestream import ChatCompletion, ChatStream, StreamAPIError

FIXTURES = Path(__file__).parent / "fixtures"
OPENAI = sorted((FIXTURES / "openai").glob("*.sse")) + sorted(
    (FIXTURES / "openai" / "history").glob("*.sse")
)
PROVIDERS = sorted((FIXTURES / "providers").glob("*.sse"))
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "providers" / "expected.json").read_text())

# Read every way (3 splits x 3 sources x 3 twins): one of each kind of quirk.
FULL_MATRIX = {
    "parse_pydantic_model_multiple_choices__a491adda08c3.sse",  # n=3, interleaved
    "parse_multiple_pydantic_tools__f82268f2fefd.sse",  # two tool calls
    "content_logprobs_events__83b060bae42e.sse",  # logprobs
    "2024-08-06__parse_max_tokens_reached__7ae6c1a2631b.sse",  # refusal "" + length
    "anthropic-fallback-claude-haiku-tool-index1.sse",  # index 1, no final blank line
    "azure-model-router-gpt-5-nano-text.sse",  # empty first chunk
    "bedrock-openai-gpt-oss-20b-tool-multientry.sse",  # 4 entries, one index
    "mistral-magistral-reasoning.sse",  # typed content parts
    "openrouter-gemini-3.1-flash-lite-multi-tool-turn1.sse",  # comments, 2 calls
    "openai-gpt-4.1-midstream-error.sse",  # error mid-stream
    "perplexity-sonar-citations.sse",  # usage on every chunk
}
SPLITS = ("whole", "7", "random")
FULL_VIAS = ("iterable", "httpx", "httpx2")


def split(raw: bytes, how: str) -> list[bytes]:
    """The reads of a body: whole, 7 bytes each, or seeded random sizes (1 to 97)."""
    if how == "whole":
        return [raw]
    if how == "7":
        return [raw[i : i + 7] for i in range(0, len(raw), 7)]
    rng = random.Random(len(raw))
    pieces, i = [], 0
    while i < len(raw):
        size = rng.randint(1, 97)
        pieces.append(raw[i : i + size])
        i += size
    return pieces


def cases(paths: list[Path]) -> list[Any]:
    """(path, split, via) for each recording: all of them on FULL_MATRIX, two elsewhere."""
    out = []
    for number, path in enumerate(paths):
        if path.name in FULL_MATRIX:
            combos = [(s, v) for s in SPLITS for v in FULL_VIAS]
        else:
            combos = [("whole", "iterable"), ("random", ("httpx", "httpx2")[number % 2])]
        for how, via in combos:
            out.append(pytest.param(path, how, via, id=f"{path.stem[:48]}-{how}-{via}"))
    return out


def data_payloads(raw: bytes) -> list[str]:
    """The data of each ``data: `` line (every recording has one such line per event)."""
    return [line[6:].decode() for line in raw.split(b"\n") if line.startswith(b"data: ")]


def json_chunks(raw: bytes) -> list[dict[str, Any]]:
    """The chunk payloads: every data payload but ``[DONE]`` and error payloads."""
    out = []
    for data in data_payloads(raw):
        if data == "[DONE]":
            continue
        payload = json.loads(data)
        if "error" not in payload:
            out.append(payload)
    return out


def drop_none(value: Any) -> Any:
    """Drop dict keys whose value is None, recursively (the SDK fills absent fields)."""
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value]
    return value


def test_every_recording_is_collected() -> None:
    assert len(OPENAI) == 49
    assert len(PROVIDERS) == 42
    assert sorted(EXPECTED) == [p.name for p in PROVIDERS]
    names = {p.name for p in OPENAI + PROVIDERS}
    assert names >= FULL_MATRIX


# --------------------------------------------------------------------------- providers


def expected_summary(name: str) -> dict[str, Any]:
    """expected.json's entry for ``name``, in the library's conventions (module docstring)."""
    expected = json.loads(json.dumps(EXPECTED[name]))
    for choice in expected["choices"]:
        if choice["role"] is None:
            choice["role"] = "assistant"
        for call in choice["tool_calls"]:
            if call["type"] is None:
                call["type"] = "function"
        if choice["reasoning_field"] == "content":
            choice["reasoning_field"] = "reasoning_content"
    return expected


def summary(run: Any) -> dict[str, Any]:
    """A run in expected.json's shape, read through the typed views."""
    completion: ChatCompletion = run.completion
    choices = []
    for choice in completion.choices:
        message = choice.message
        raw = message.to_dict()
        keys = [k for k in ("reasoning_content", "reasoning") if k in raw]
        choices.append(
            {
                "index": choice.index,
                "finish_reason": choice.finish_reason,
                "role": message.role,
                "content": message.content,
                "refusal": message.refusal,
                "reasoning_content": message.reasoning_content,
                "reasoning_field": keys[0] if keys else None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": call.type,
                        "name": call.function.name,
                        "arguments": call.function.arguments,
                    }
                    for call in message.tool_calls or []
                ],
            }
        )
    error = run.error
    return {
        "id": completion.id,
        "model": completion.model,
        "created": completion.created,
        "events": run.stream.parser.events,
        "chunks": len(run.chunks),
        "done": run.stream.done,
        "interrupted": run.stream.interrupted,
        "error": error.message if isinstance(error, StreamAPIError) else None,
        "usage": completion.usage.to_dict() if completion.usage is not None else None,
        "choices": choices,
    }


@pytest.mark.parametrize(("path", "how", "via"), cases(PROVIDERS))
def test_provider_recording(twin: Any, path: Path, how: str, via: str) -> None:
    raw = path.read_bytes()
    expected = expected_summary(path.name)
    raises = StreamAPIError if expected["error"] is not None else None
    run = twin.read(split(raw, how), via=via, raises=raises)

    assert summary(run) == expected
    # Lossless: every chunk is its payload, in order.
    assert [chunk.to_dict() for chunk in run.chunks] == json_chunks(raw)
    assert run.stream.parser.accumulator.chunk_count == expected["chunks"]
    assert run.stream.streamed is True
    if run.response is not None:
        assert run.closed is True
    if raises is not None:
        # The error carries what arrived before it.
        assert run.error.completion == run.completion
        assert run.error.event is not None
        assert json.loads(run.error.event.data)["error"]["message"] == expected["error"]


# --------------------------------------------------------------------------- openai


@functools.cache
def sdk_snapshot(path: Path) -> dict[str, Any]:
    """What openai's ChatCompletionStreamState rebuilds from a recording."""
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for payload in json_chunks(path.read_bytes()):
        state.handle_chunk(openai.types.chat.ChatCompletionChunk.model_validate(payload))
    return state.current_completion_snapshot.model_dump()


def comparable(completion: dict[str, Any]) -> dict[str, Any]:
    """The fields both rebuilds must agree on, from a ``chat.completion`` dict."""
    choices = []
    for choice in completion["choices"]:
        message = choice["message"]
        choices.append(
            {
                "index": choice["index"],
                "finish_reason": choice["finish_reason"],
                "role": message["role"],
                "content": message["content"],
                "refusal": message["refusal"],
                "tool_calls": [
                    (
                        call["id"],
                        call["type"],
                        call["function"]["name"],
                        call["function"]["arguments"],
                    )
                    for call in message.get("tool_calls") or []
                ],
                "logprobs": drop_none(choice["logprobs"]),
            }
        )
    return {
        "id": completion["id"],
        "model": completion["model"],
        "created": completion["created"],
        "system_fingerprint": completion.get("system_fingerprint"),
        "usage": drop_none(completion["usage"]),
        "choices": choices,
    }


@pytest.mark.parametrize(("path", "how", "via"), cases(OPENAI))
def test_openai_recording(twin: Any, path: Path, how: str, via: str) -> None:
    raw = path.read_bytes()
    run = twin.read(split(raw, how), via=via)

    ours = comparable(run.completion.to_dict())
    assert ours == comparable(sdk_snapshot(path))
    assert [chunk.to_dict() for chunk in run.chunks] == json_chunks(raw)
    assert run.stream.done is True
    assert run.stream.interrupted is False
    assert run.stream.parser.events == len(data_payloads(raw))
    assert ours["usage"] is not None
    for choice in ours["choices"]:
        assert choice["finish_reason"] in ("stop", "length", "tool_calls")
    if run.response is not None:
        assert run.closed is True


def read_whole(path: Path) -> ChatCompletion:
    stream = ChatStream([path.read_bytes()])
    for _ in stream:
        pass
    return stream.completion


def test_openai_recordings_quirks_from_index() -> None:
    """Values INDEX.md quotes from the openai test suite (the oracle's own check)."""
    history = FIXTURES / "openai" / "history"
    name = "2024-08-06__allows_non_strict_tools_but_no_parsing__fb75060ede89.sse"
    for completion in (sdk_snapshot(history / name), read_whole(history / name).to_dict()):
        assert completion["choices"][0]["finish_reason"] == "stop"  # with a tool call
        assert len(completion["choices"][0]["message"]["tool_calls"]) == 1
    name = "2024-08-07__parse_pydantic_model_multiple_choices__a0c4f0be184e.sse"
    for completion in (sdk_snapshot(history / name), read_whole(history / name).to_dict()):
        refusals = [c["message"]["refusal"] is not None for c in completion["choices"]]
        assert refusals == [False, False, True]
    path = FIXTURES / "openai" / "parse_pydantic_model_refusal__173417d55340.sse"
    for completion in (sdk_snapshot(path), read_whole(path).to_dict()):
        message = completion["choices"][0]["message"]
        assert message["refusal"] == "I'm sorry, I can't assist with that request."
        assert message["content"] is None


# ------------------------------------------------------------------ the SDK on provider quirks


def provider(name: str) -> Path:
    return FIXTURES / "providers" / name


def sdk_feed(payloads: list[dict[str, Any]]) -> ChatCompletionStreamState[Any]:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for payload in payloads:
        state.handle_chunk(openai.types.chat.ChatCompletionChunk.model_validate(payload))
    return state


def ours(name: str) -> Any:
    """ssestream's completion of a provider recording, read whole (sync)."""
    return read_whole(provider(name))


def first_tool_chunk(payloads: list[dict[str, Any]]) -> int:
    return next(
        n
        for n, p in enumerate(payloads)
        if any((c.get("delta") or {}).get("tool_calls") for c in p["choices"])
    )


@pytest.mark.parametrize(
    "name",
    ["anthropic-fallback-claude-haiku-tool-index1.sse", "copilot-claude-haiku-4.5-tool-index1.sse"],
)
def test_sdk_tool_index_starting_at_1(name: str) -> None:
    payloads = json_chunks(provider(name).read_bytes())
    for payload in payloads:  # the copilot gateway omits "object", which the SDK requires
        payload.setdefault("object", "chat.completion.chunk")
    tool = first_tool_chunk(payloads)
    assert payloads[tool]["choices"][0]["delta"]["tool_calls"][0]["index"] == 1
    # The SDK indexes its list of calls by the call's index: no call 0, IndexError.
    state = sdk_feed(payloads[:tool])
    chunk = openai.types.chat.ChatCompletionChunk.model_validate(payloads[tool])
    with pytest.raises(IndexError):
        state.handle_chunk(chunk)
    # ssestream: one call, keyed by its index.
    calls = ours(name).choices[0].message.tool_calls
    expected = EXPECTED[name]["choices"][0]["tool_calls"]
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        (e["id"], e["name"], e["arguments"]) for e in expected
    ]


def test_sdk_rejects_chunks_without_object() -> None:
    payloads = json_chunks(provider("copilot-claude-haiku-4.5-tool-index1.sse").read_bytes())
    assert "object" not in payloads[0]
    with pytest.raises(pydantic.ValidationError) as info:
        openai.types.chat.ChatCompletionChunk.model_validate(payloads[0])
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("object",), "missing")]
    assert ours("copilot-claude-haiku-4.5-tool-index1.sse").choices[0].finish_reason == (
        "tool_calls"
    )


def sdk_validation_errors(payload: dict[str, Any]) -> list[tuple[Any, str]]:
    """(loc, type) of each error of the SDK's ChatCompletionChunk on a payload."""
    try:
        openai.types.chat.ChatCompletionChunk.model_validate(payload)
    except pydantic.ValidationError as exc:
        return [(e["loc"], e["type"]) for e in exc.errors()]
    return []


@pytest.mark.parametrize(
    ("name", "loc", "kind"),
    [
        # Mistral magistral: delta.content is a list of typed parts.
        ("mistral-magistral-reasoning.sse", ("choices", 0, "delta", "content"), "string_type"),
        # Mistral: a tool call with no index.
        (
            "mistral-small-tool-call.sse",
            ("choices", 0, "delta", "tool_calls", 0, "index"),
            "missing",
        ),
        # Azure: the prompt-filter first chunk has object "".
        ("azure-gpt-5-mini-tool-turn1.sse", ("object",), "literal_error"),
        ("azure-model-router-gpt-5-nano-text.sse", ("object",), "literal_error"),
        # Groq: service_tier "on_demand" on the usage chunk.
        ("groq-kimi-k2-multi-tool-turn1.sse", ("service_tier",), "literal_error"),
        # Perplexity: the last chunk is object "chat.completion.done".
        ("perplexity-sonar-citations.sse", ("object",), "literal_error"),
    ],
)
def test_sdk_rejects_provider_chunks(name: str, loc: tuple[Any, ...], kind: str) -> None:
    payloads = json_chunks(provider(name).read_bytes())
    rejected = [errors for errors in map(sdk_validation_errors, payloads) if errors]
    assert rejected
    assert all(errors == [(loc, kind)] for errors in rejected)
    # ssestream reads every chunk and rebuilds what expected.json says.
    completion = ours(name)
    expected = expected_summary(name)
    choice, want = completion.choices[0], expected["choices"][0]
    assert choice.message.content == want["content"]
    assert choice.message.reasoning_content == want["reasoning_content"]
    assert choice.finish_reason == want["finish_reason"]
    assert [c.function.arguments for c in choice.message.tool_calls or []] == [
        c["arguments"] for c in want["tool_calls"]
    ]
    assert (completion.usage.to_dict() if completion.usage else None) == expected["usage"]


@pytest.mark.parametrize(
    "name", ["watsonx-llama-3.3-70b-tool.sse", "vllm-qwen3-0.6b-tool-thinktags.sse"]
)
def test_sdk_fails_on_tool_type_null(name: str) -> None:
    """Continuations with ``type: null`` overwrite the SDK's ``type`` and trip an assert."""
    payloads = json_chunks(provider(name).read_bytes())
    tool = first_tool_chunk(payloads)
    continuation = next(
        n
        for n in range(tool + 1, len(payloads))
        if (payloads[n]["choices"][0]["delta"].get("tool_calls") or [{}])[0].get("type", 0) is None
    )
    state = sdk_feed(payloads[:continuation])
    chunk = openai.types.chat.ChatCompletionChunk.model_validate(payloads[continuation])
    with pytest.raises(AssertionError):
        state.handle_chunk(chunk)
    calls = ours(name).choices[0].message.tool_calls
    want = EXPECTED[name]["choices"][0]["tool_calls"]
    assert [(c.type, c.function.name, c.function.arguments) for c in calls] == [
        ("function", w["name"], w["arguments"]) for w in want
    ]


@pytest.mark.parametrize(
    "name",
    [
        "zai-glm-4.7-flash-tool-turn1.sse",
        "openrouter-kimi-k2.5-reasoning-tool-turn1.sse",
        "avian-kimi-k2.5-tool-turn1.sse",
    ],
)
def test_sdk_doubles_a_repeated_role(name: str) -> None:
    payloads = json_chunks(provider(name).read_bytes())
    roles = sum(
        1 for p in payloads for c in p["choices"] if (c.get("delta") or {}).get("role") is not None
    )
    assert roles > 1
    sdk = sdk_feed(payloads).current_completion_snapshot
    assert sdk.choices[0].message.role == "assistant" * roles
    assert ours(name).choices[0].message.role == "assistant"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("avian-kimi-k2.5-tool-turn1.sse", "reasoning_content"),
        ("openrouter-kimi-k2.5-reasoning-tool-turn1.sse", "reasoning"),
        ("openrouter-claude-haiku-4.5-thinking-tool-turn1.sse", "reasoning"),
    ],
)
def test_sdk_concatenates_reasoning_details_format(name: str, key: str) -> None:
    """The SDK appends every string of a ``reasoning_details`` entry, ``format`` too."""
    payloads = json_chunks(provider(name).read_bytes())
    entries = [
        entry
        for p in payloads
        for c in p["choices"]
        for entry in (c.get("delta") or {}).get("reasoning_details") or []
    ]
    formats = {entry["format"] for entry in entries}
    assert len(formats) == 1
    (fmt,) = formats
    assert {entry["index"] for entry in entries} == {0}
    sdk = sdk_feed(payloads).current_completion_snapshot.choices[0].message.model_dump()
    assert sdk["reasoning_details"][0]["format"] == fmt * len(entries)
    assert len(sdk["reasoning_details"]) == 1
    # ssestream merges the entry by index: text appended, other fields kept once.
    message = ours(name).choices[0].message.to_dict()
    assert len(message["reasoning_details"]) == 1
    detail = message["reasoning_details"][0]
    assert detail["format"] == fmt
    assert detail["type"] == "reasoning.text"
    assert detail["text"] == message[key]  # the same text as the reasoning deltas
    # The reasoning text itself the SDK keeps (an extra field of its message model).
    assert sdk[key] == message[key]


def test_sdk_agrees_on_several_entries_with_one_index() -> None:
    """Bedrock: four entries with ``index: 0`` in one delta. openai 3.54 merges them
    (its ``accumulate_delta`` merges indexed lists even when they are new); so does
    ssestream, and ``type: "function"`` repeated four times is not doubled by either.
    """
    name = "bedrock-openai-gpt-oss-20b-tool-multientry.sse"
    payloads = json_chunks(provider(name).read_bytes())
    entries = max(
        ((c["delta"].get("tool_calls") or []) for p in payloads for c in p["choices"]), key=len
    )
    assert len(entries) == 4
    assert {e["index"] for e in entries} == {0}
    sdk = sdk_feed(payloads).current_completion_snapshot.choices[0].message
    ssestream_calls = ours(name).choices[0].message.tool_calls
    assert [(c.id, c.type, c.function.name, c.function.arguments) for c in sdk.tool_calls] == [
        (c.id, c.type, c.function.name, c.function.arguments) for c in ssestream_calls
    ]
    assert [c.function.arguments for c in ssestream_calls] == ['{"location":"Paris"}']


def test_sdk_keeps_created_zero_and_no_role() -> None:
    """Where nothing was sent the SDK keeps the wire value; ssestream its documented
    defaults: ``created`` 0 counts as empty, a missing ``role`` reads ``"assistant"``."""
    bedrock = json_chunks(provider("bedrock-openai-gpt-oss-20b-tool-multientry.sse").read_bytes())
    assert {p["created"] for p in bedrock} == {0}
    assert sdk_feed(bedrock).current_completion_snapshot.created == 0
    assert ours("bedrock-openai-gpt-oss-20b-tool-multientry.sse").created is None
    name = "mistral-zai-glm-incremental-tool-call.sse"
    glm = json_chunks(provider(name).read_bytes())
    assert all("role" not in c["delta"] for p in glm for c in p["choices"])
    assert sdk_feed(glm).current_completion_snapshot.choices[0].message.role is None
    assert ours(name).choices[0].message.role == "assistant"
