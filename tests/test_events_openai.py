"""Differential: ssestream's events against the openai SDK's ``ChatCompletionStream`` events.

On OpenAI's own recordings (``tests/fixtures/openai`` and its ``history``), the SDK's
``ChatCompletionStreamState.handle_chunk`` (what ``client.chat.completions.stream()``
iterates) and :class:`ssestream.ChatEventBuilder` must agree on the content and refusal
deltas and dones, the tool-call argument deltas and dones, and the logprobs. Where they
differ by design, the difference is named in a test of its own, as an assertion on what
the SDK does (its bugs on provider quirks are in ``test_recordings.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk as SDKChunk

import ssestream

FIXTURES = Path(__file__).parent / "fixtures" / "openai"
RECORDINGS = sorted(FIXTURES.glob("*.sse")) + sorted((FIXTURES / "history").glob("*.sse"))


def payloads(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_bytes().split(b"\n"):
        if line.startswith(b"data: {"):
            payload = json.loads(line[6:])
            if "error" not in payload:
                out.append(payload)
    return out


def sdk_events(chunks: list[dict[str, Any]]) -> list[Any]:
    state = ChatCompletionStreamState()
    events: list[Any] = []
    for payload in chunks:
        events += state.handle_chunk(SDKChunk.model_validate(payload))
    return events


def our_events(chunks: list[dict[str, Any]]) -> list[Any]:
    builder = ssestream.ChatEventBuilder()
    events: list[Any] = []
    for payload in chunks:
        events += builder.add(payload)
    return events + builder.end(done=True, interrupted=False)


def of(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if getattr(e, "type", None) == kind]


def ours(events: list[Any], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def test_the_recordings_are_found() -> None:
    assert len(RECORDINGS) == 49


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem[:60])
def test_the_same_events_as_the_openai_sdk(path: Path) -> None:
    chunks = payloads(path)
    sdk, mine = sdk_events(chunks), our_events(chunks)

    # Content and refusal: the same deltas in the same order, the same done texts.
    assert [e.delta for e in of(sdk, "content.delta")] == [
        e.delta for e in ours(mine, ssestream.ContentDelta)
    ]
    assert [e.snapshot for e in of(sdk, "content.delta")] == [
        e.snapshot for e in ours(mine, ssestream.ContentDelta)
    ]
    assert sorted(e.content for e in of(sdk, "content.done")) == sorted(
        e.content for e in ours(mine, ssestream.ContentDone) if e.content
    )
    assert [e.delta for e in of(sdk, "refusal.delta")] == [
        e.delta for e in ours(mine, ssestream.RefusalDelta)
    ]
    assert sorted(e.refusal for e in of(sdk, "refusal.done")) == sorted(
        e.refusal for e in ours(mine, ssestream.RefusalDone)
    )

    # Tool calls: the same argument text in the same order, the same calls done.
    assert [(e.index, e.arguments_delta) for e in of(sdk, "tool_calls.function.arguments.delta")
            if e.arguments_delta] == [
        (e.call_index, e.delta) for e in ours(mine, ssestream.ToolCallArgumentsDelta) if e.delta
    ]  # fmt: skip
    assert [(e.index, e.name, e.arguments) for e in of(sdk, "tool_calls.function.arguments.done")
            ] == [
        (e.call_index, e.name, e.arguments) for e in ours(mine, ssestream.ToolCallDone)
    ]  # fmt: skip

    # Logprobs: the same tokens, chunk by chunk.
    for kind, field in (
        ("logprobs.content.delta", "content"),
        ("logprobs.refusal.delta", "refusal"),
    ):
        assert [[t.token for t in getattr(e, field)] for e in of(sdk, kind)] == [
            [t.token for t in getattr(e, field)]
            for e in ours(mine, ssestream.LogprobsDelta)
            if getattr(e, field)
        ]


def test_sdk_content_and_refusal_events_have_no_choice_index() -> None:
    # n=3: the SDK's content deltas of the three choices interleave with nothing to
    # tell them apart; ssestream's carry the choice index.
    chunks = payloads(FIXTURES / "parse_pydantic_model_multiple_choices__a491adda08c3.sse")
    sdk = of(sdk_events(chunks), "content.delta")
    assert not hasattr(sdk[0], "index")
    indexes = {e.index for e in ours(our_events(chunks), ssestream.ContentDelta)}
    assert indexes == {0, 1, 2}


def test_sdk_sends_an_empty_arguments_delta_for_a_fragment_without_arguments() -> None:
    # The first fragment of each call carries id, name and "arguments": "": the SDK gives
    # an arguments delta for it, as for any entry; ssestream gives ToolCallStarted, and
    # a delta only for the text that arrived.
    chunks = payloads(FIXTURES / "parse_multiple_pydantic_tools__f82268f2fefd.sse")
    sdk = of(sdk_events(chunks), "tool_calls.function.arguments.delta")
    assert sdk[0].arguments_delta == ""
    mine = our_events(chunks)
    assert [e.name for e in ours(mine, ssestream.ToolCallStarted)] == [
        "GetWeatherArgs",
        "get_stock_price",
    ]


def test_sdk_ends_the_content_when_a_tool_call_starts() -> None:
    # Text after a tool call: the SDK's content.done came with the text before the
    # call and never comes again; ssestream's ContentDone has the whole content.
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip

    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "f", "arguments": "{}"}}  # fmt: skip
    chunks = [
        chunk({"role": "assistant", "content": "Let me look."}),
        chunk({"tool_calls": [call]}),
        chunk({"content": " Done."}),
        chunk({}, "tool_calls"),
    ]
    assert [e.content for e in of(sdk_events(chunks), "content.done")] == ["Let me look."]
    mine = our_events(chunks)
    assert [e.content for e in ours(mine, ssestream.ContentDone)] == ["Let me look. Done."]
