"""Interop with the openai SDK, both ways; ``openai`` is imported only when asked.

* :func:`completion_to_openai`: a rebuilt ``chat.completion`` dict as the SDK's
  validated ``openai.types.chat.ChatCompletion``. The values the SDK's literals reject
  are replaced by ones it accepts, the value sent kept beside them under
  ``native_<field>`` (the SDK's models keep unknown fields). The caller's dict is
  never changed: every level that changes is a new dict.
* :func:`chunk_payload`: the JSON ``dict`` of one openai SDK chunk (a pydantic model),
  as the server sent it, for :class:`~ssestream.ChatCompletionAccumulator`.
* :func:`sdk_stream_response`: the HTTP response under an unread ``openai.Stream``,
  ``openai.AsyncStream`` or streaming ``APIResponse``, for the streams to read directly.

Nothing here runs on the hot path; the SDK's accepted values are read from its own
annotations, so a new SDK value (a new ``service_tier``) is accepted as soon as the
installed SDK knows it.
"""

from __future__ import annotations

import functools
import sys
import typing
from collections.abc import Mapping
from typing import Any

__all__ = ["chunk_payload", "completion_to_openai", "sdk_stream_response"]

# A provider's own finish_reason values and the OpenAI value they mean. Anthropic's
# (through its OpenAI-compatible gateways and Bedrock): end_turn, stop_sequence,
# max_tokens, tool_use; Mistral: model_length; vLLM/TGI: eos, eos_token; Gemini's
# upper-case ones through gateways that pass them on.
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "eos_token": "stop",
    "max_tokens": "length",
    "model_length": "length",
    "tool_use": "tool_calls",
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "content_filtered": "content_filter",
}
_UNFINISHED = "length"  # finish_reason None: the stream ended, the message is cut short
_UNKNOWN_FINISH = "stop"


def _literals(annotation: Any) -> frozenset[Any]:
    """The values of the ``Literal`` types inside an annotation (``Optional[Literal[..]]``)."""
    if typing.get_origin(annotation) is typing.Literal:
        return frozenset(typing.get_args(annotation))
    values: set[Any] = set()
    for arg in typing.get_args(annotation):
        values |= _literals(arg)
    return frozenset(values)


@functools.lru_cache(maxsize=1)
def _sdk_values() -> tuple[frozenset[Any], frozenset[Any], frozenset[Any]]:
    """The finish reasons, service tiers and tool-call types the installed SDK accepts."""
    from openai.types.chat import chat_completion, chat_completion_message_tool_call

    finish = _literals(chat_completion.Choice.model_fields["finish_reason"].annotation)
    tiers = _literals(chat_completion.ChatCompletion.model_fields["service_tier"].annotation)
    kinds: set[Any] = set()
    union = chat_completion_message_tool_call.ChatCompletionMessageToolCallUnion
    for member in typing.get_args(typing.get_args(union)[0]):
        kinds |= _literals(member.model_fields["type"].annotation)
    return finish, tiers, frozenset(kinds)


def _aside(target: dict[str, Any], key: str, replacement: Any) -> None:
    """Replace ``target[key]``, keeping the value sent under ``native_<key>``.

    A ``native_<key>`` the provider sent itself (OpenRouter's ``native_finish_reason``)
    is the more native value and stays.
    """
    target.setdefault(f"native_{key}", target.get(key))
    target[key] = replacement


def _finish_reason(choice: Mapping[str, Any], accepted: frozenset[Any]) -> Any:
    """The effective finish reason of a rebuilt choice, mapped to a value the SDK accepts."""
    from ._types import Choice

    reason = Choice(dict(choice)).effective_finish_reason
    if reason in accepted:
        return reason
    if reason is None:
        return _UNFINISHED
    mapped = _FINISH_REASONS.get(reason) if isinstance(reason, str) else None
    return mapped if mapped in accepted else _UNKNOWN_FINISH


def _tool_call(sent: Any, kinds: frozenset[Any]) -> dict[str, Any] | None:
    """A rebuilt tool call the SDK accepts, or ``None`` if its type is unknown to it."""
    if not isinstance(sent, dict) or sent.get("type") not in kinds:
        return None
    call: dict[str, Any] = dict(sent)
    if not isinstance(call.get("id"), str):
        call["id"] = ""
    kind = call["type"]
    inner = call.get(kind)
    inner = dict(inner) if isinstance(inner, dict) else {}
    text_field = "arguments" if kind == "function" else "input"
    for key in ("name", text_field):
        if not isinstance(inner.get(key), str):
            inner[key] = ""
    call[kind] = inner
    return call


def _message(sent: Any, kinds: frozenset[Any]) -> dict[str, Any]:
    """A rebuilt message the SDK accepts (see :func:`openai_completion_dict`)."""
    message: dict[str, Any] = dict(sent) if isinstance(sent, dict) else {}
    if message.get("role") != "assistant":
        _aside(message, "role", "assistant")
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        kept, other = [], []
        for call in calls:
            shaped = _tool_call(call, kinds)
            if shaped is None:
                other.append(call)
            else:
                kept.append(shaped)
        message["tool_calls"] = kept or None
        if other:
            message["native_tool_calls"] = other
    function_call = message.get("function_call")
    if isinstance(function_call, dict):
        message["function_call"] = {
            **function_call,
            "name": function_call.get("name") or "",
            "arguments": function_call.get("arguments") or "",
        }
    return message


def _usage(usage: Any) -> tuple[Any, bool]:
    """The usage the SDK accepts, and whether the one sent had to be moved aside."""
    if not isinstance(usage, dict):
        return None, usage is not None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if type(prompt) is not int or type(completion) is not int:
        return None, True
    if type(usage.get("total_tokens")) is not int:
        usage = {**usage, "total_tokens": prompt + completion}
    return usage, False


def openai_completion_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """The rules of :meth:`ChatCompletion.to_openai`, as a new ``dict`` (``data`` unchanged)."""
    finish, tiers, kinds = _sdk_values()
    out = dict(data)
    out["object"] = "chat.completion"
    for key, default in (("id", ""), ("model", "")):
        if not isinstance(out.get(key), str):
            _aside(out, key, default)
    if type(out.get("created")) is not int:
        _aside(out, "created", 0)
    if out.get("service_tier") is not None and out["service_tier"] not in tiers:
        _aside(out, "service_tier", None)
    usage, moved = _usage(out.get("usage"))
    if moved:
        _aside(out, "usage", None)
    else:
        out["usage"] = usage
    choices = []
    for choice in out.get("choices") or ():
        choice = dict(choice) if isinstance(choice, dict) else {}
        reason = _finish_reason(choice, finish)
        if reason != choice.get("finish_reason"):
            _aside(choice, "finish_reason", reason)
        choice["message"] = _message(choice.get("message"), kinds)
        choices.append(choice)
    out["choices"] = choices
    return out


def completion_to_openai(data: Mapping[str, Any]) -> Any:
    """:meth:`ChatCompletion.to_openai`: validate :func:`openai_completion_dict` by the SDK."""
    try:
        from openai.types.chat import ChatCompletion
    except ImportError as exc:  # pragma: no cover - the test environment has openai
        raise ImportError(
            "ChatCompletion.to_openai() needs the openai package: pip install openai"
        ) from exc
    return ChatCompletion.model_validate(openai_completion_dict(data))


def _is_sdk_model(obj: Any) -> bool:
    """Whether ``obj`` is a pydantic model of the openai SDK (without importing it)."""
    if "openai" not in sys.modules:
        return False
    from openai import BaseModel

    return isinstance(obj, BaseModel)


def chunk_payload(obj: Any) -> dict[str, Any] | None:
    """The JSON ``dict`` of an openai SDK chunk (``ChatCompletionChunk`` model), else ``None``.

    The fields the server sent, as it sent them (``model_dump(exclude_unset=True)``,
    which also keeps the provider fields the SDK stored as extras): the SDK fills the
    fields a server omitted with ``None``, and those must not read as sent.
    """
    if not _is_sdk_model(obj):
        return None
    # warnings=False: a provider's value of another type than the SDK's annotation
    # (Mistral's list content) is what was sent, not a mistake to warn about.
    payload = obj.model_dump(mode="json", exclude_unset=True, by_alias=True, warnings=False)
    return payload if isinstance(payload, dict) else None


def sdk_stream_response(obj: Any) -> Any:
    """The HTTP response under an unread openai SDK stream, or ``None`` for other objects.

    Takes an ``openai.Stream`` / ``openai.AsyncStream`` (``create(..., stream=True)``)
    or an ``openai.APIResponse`` / ``AsyncAPIResponse`` (from
    ``client.chat.completions.with_streaming_response.create(..., stream=True)``) and
    returns its ``httpx``/``httpx2`` response, whose body the caller then reads itself.
    Returns ``None`` for anything else (``openai`` is not imported for that).

    Raises:
        TypeError: the SDK already started reading the body (the stream was iterated,
            or the response read or closed): its bytes are gone. Pass a fresh stream.
    """
    if "openai" not in sys.modules:
        return None
    import openai

    if isinstance(obj, (openai.Stream, openai.AsyncStream)):
        response = obj.response
    elif isinstance(obj, (openai.APIResponse, openai.AsyncAPIResponse)):
        response = obj.http_response
    else:
        return None
    if getattr(response, "is_stream_consumed", False) or getattr(response, "is_closed", False):
        raise TypeError(
            f"this {type(obj).__name__} was already read (iterated, read or closed), so "
            "its bytes are gone: pass a fresh, unread stream"
        )
    return response
