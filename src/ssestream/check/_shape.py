"""Chunk-shape validation: how a ``data:`` payload deviates from the OpenAI
``chat.completion.chunk`` (API reference, "The chat completion chunk object").

Pure functions of decoded JSON. An *error* deviation breaks clients that follow the API
reference (not an object, ``choices`` not a list, a field of the wrong JSON type); a
*warning* is one tolerant clients accept (a missing ``created``, a tool call without
``index``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._records import FINISH_REASONS, ChunkArrival, ChunkDeviation

__all__ = [
    "chunk_deviations",
    "chunk_numbers",
    "deviation_evidence",
    "is_int",
    "validate_chunk",
]


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_chunk(payload: Any) -> list[tuple[str, str]]:
    """Check one decoded chunk against the OpenAI ``chat.completion.chunk`` object.

    Source: the OpenAI API reference, "The chat completion chunk object". Returns a list
    of ``(severity, message)``, empty when the chunk conforms. ``"error"``: a client
    that follows the reference fails on it (the wrong JSON type for a field it reads,
    ``choices`` missing). ``"warning"``: a required field missing or with an unexpected
    value that tolerant clients accept (``created`` missing, ``object`` other than
    ``"chat.completion.chunk"``, a tool call or choice without ``index``, typed content
    parts, a provider's own ``finish_reason``).
    """
    found: list[tuple[str, str]] = []

    def error(message: str) -> None:
        found.append(("error", message))

    def warn(message: str) -> None:
        found.append(("warning", message))

    if not isinstance(payload, Mapping):
        return [("error", f"the chunk is a JSON {_kind(payload)}, not an object")]
    if "id" not in payload:
        warn("id is missing")
    elif not isinstance(payload["id"], str):
        error(f"id is a {_kind(payload['id'])}, not a string")
    if payload.get("object") != "chat.completion.chunk":
        if "object" not in payload:
            warn("object is missing")
        else:
            warn(f"object is {payload['object']!r}, not 'chat.completion.chunk'")
    if "created" not in payload:
        warn("created is missing")
    elif not is_int(payload["created"]):
        error(f"created is a {_kind(payload['created'])}, not an integer")
    if "model" not in payload:
        warn("model is missing")
    elif not isinstance(payload["model"], str):
        error(f"model is a {_kind(payload['model'])}, not a string")
    usage = payload.get("usage")
    if usage is not None:
        if not isinstance(usage, Mapping):
            error(f"usage is a {_kind(usage)}, not an object")
        else:
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                if name not in usage:
                    warn(f"usage.{name} is missing")
                elif not is_int(usage[name]):
                    error(f"usage.{name} is a {_kind(usage[name])}, not an integer")
    if "choices" not in payload:
        error("choices is missing")
        return found
    choices = payload["choices"]
    if not isinstance(choices, list):
        error(f"choices is a {_kind(choices)}, not a list")
        return found
    for position, choice in enumerate(choices):
        where = f"choices[{position}]"
        if not isinstance(choice, Mapping):
            error(f"{where} is a {_kind(choice)}, not an object")
            continue
        if "index" not in choice:
            warn(f"{where}.index is missing")
        elif not is_int(choice["index"]):
            error(f"{where}.index is a {_kind(choice['index'])}, not an integer")
        reason = choice.get("finish_reason")
        if reason is not None:
            if not isinstance(reason, str):
                error(f"{where}.finish_reason is a {_kind(reason)}, not a string")
            elif reason not in FINISH_REASONS:
                warn(f"{where}.finish_reason {reason!r} is not one of the API's values")
        logprobs = choice.get("logprobs")
        if logprobs is not None and not isinstance(logprobs, Mapping):
            error(f"{where}.logprobs is a {_kind(logprobs)}, not an object")
        if "delta" not in choice:
            warn(f"{where}.delta is missing")
            continue
        delta = choice["delta"]
        if not isinstance(delta, Mapping):
            error(f"{where}.delta is a {_kind(delta)}, not an object")
            continue
        _validate_delta(delta, f"{where}.delta", error, warn)
    return found


def _validate_delta(
    delta: Mapping[str, Any],
    where: str,
    error: Callable[[str], None],
    warn: Callable[[str], None],
) -> None:
    for name in ("role", "refusal"):
        value = delta.get(name)
        if value is not None and not isinstance(value, str):
            error(f"{where}.{name} is a {_kind(value)}, not a string")
    content = delta.get("content")
    if isinstance(content, list):
        warn(f"{where}.content is a list of parts, not a string")
    elif content is not None and not isinstance(content, str):
        error(f"{where}.content is a {_kind(content)}, not a string")
    for name in ("reasoning_content", "reasoning"):
        value = delta.get(name)
        if value is not None and not isinstance(value, str):
            warn(f"{where}.{name} is a {_kind(value)}, not a string")
    function_call = delta.get("function_call")
    if function_call is not None and not isinstance(function_call, Mapping):
        error(f"{where}.function_call is a {_kind(function_call)}, not an object")
    calls = delta.get("tool_calls")
    if calls is None:
        return
    if not isinstance(calls, list):
        error(f"{where}.tool_calls is a {_kind(calls)}, not a list")
        return
    for number, call in enumerate(calls):
        at = f"{where}.tool_calls[{number}]"
        if not isinstance(call, Mapping):
            error(f"{at} is a {_kind(call)}, not an object")
            continue
        if "index" not in call:
            warn(f"{at}.index is missing")
        elif not is_int(call["index"]):
            error(f"{at}.index is a {_kind(call['index'])}, not an integer")
        if call.get("id") is not None and not isinstance(call["id"], str):
            error(f"{at}.id is a {_kind(call['id'])}, not a string")
        function = call.get("function")
        if function is None:
            continue
        if not isinstance(function, Mapping):
            error(f"{at}.function is a {_kind(function)}, not an object")
            continue
        for name in ("name", "arguments"):
            value = function.get(name)
            if value is not None and not isinstance(value, str):
                error(f"{at}.function.{name} is a {_kind(value)}, not a string")


def chunk_deviations(
    chunks: Sequence[ChunkArrival], *, shape: bool = True
) -> tuple[ChunkDeviation, ...]:
    """Every chunk's deviations, grouped by message, errors first, in order of appearance.

    A chunk the probe could not decode is an error; with ``shape`` (the chat API), each
    decoded one is also checked by :func:`validate_chunk`. A Responses API stream's
    events have no chunk shape: only the ones its parser could not read count.
    """
    grouped: dict[tuple[str, str], list[int]] = {}
    for number, chunk in enumerate(chunks, 1):
        if chunk.payload is None:
            found = [("error", chunk.error or "not a JSON object")]
        elif shape:
            found = validate_chunk(chunk.payload)
        else:
            continue
        for key in dict.fromkeys(found):
            grouped.setdefault(key, []).append(number)
    ordered = sorted(grouped.items(), key=lambda item: item[0][0] != "error")
    return tuple(
        ChunkDeviation(severity=severity, message=message, chunks=tuple(numbers))
        for (severity, message), numbers in ordered
    )


def chunk_numbers(numbers: Sequence[int], limit: int = 8) -> str:
    """``"1, 2, 3"``: the chunk numbers, the first ``limit`` of them and the count."""
    shown = ", ".join(str(number) for number in numbers[:limit])
    if len(numbers) > limit:
        shown += f", ... ({len(numbers)} chunks)"
    return shown


def deviation_evidence(
    deviations: Sequence[ChunkDeviation], limit: int = 5, noun: str = "chunk"
) -> tuple[str, ...]:
    """One evidence line per deviation, the first ``limit`` of them: ``"chunk 3, 7: ..."``
    (``noun``: ``"event"`` for a Responses API stream)."""
    return tuple(
        f"{noun} {chunk_numbers(deviation.chunks)}: {deviation.message}"
        for deviation in deviations[:limit]
    )
