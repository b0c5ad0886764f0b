"""Layer 3b for Responses API streams: the chat stream events, made from Responses events.

``ResponseStream.events()`` gives the same event records as ``ChatStream.events()``
(:class:`ContentDelta`, :class:`ReasoningDelta`, :class:`ToolCallStarted`,
:class:`ToolCallArgumentsDelta` with its ``partial`` JSON, :class:`ToolCallDone`,
:class:`ChoiceFinished`, :class:`UsageReceived`, :class:`StreamEnded`...), so that one
handler serves both APIs. In place of a chat stream's :class:`ChunkEvent`, each Responses
event itself (a :class:`ResponseStreamEvent`) comes first, before the events it gives.

Strategy: :class:`ResponseEventBuilder` translates each Responses event that carries
output into the chat-completion chunk it amounts to (one choice, ``index`` 0) and gives
that chunk to a :class:`ChatEventBuilder` and its accumulator. The events therefore
follow the chat order rules (see :mod:`ssestream._events`), their deltas add up to
``StreamEnded.completion`` (a :class:`ChatCompletion`), and every fix to the chat events
serves both APIs. What the Responses events say more precisely than chat chunks is used:
``response.output_item.done`` ends a tool call (:class:`ToolCallDone` at once, not when
the next call starts) and the texts of its message or reasoning item.

The translation, event by event, is in :class:`ResponseEventBuilder`. Built-in tools'
items (web search, file search, code interpreter, MCP, image generation, shell...) give
no chat event: they are in their Responses events and in ``StreamEnded.response``.

A server that states a text without streaming it (an item sent whole in
``response.output_item.done``, a non-streamed JSON body read as one terminal event)
still gives its deltas: when an item is done, and at the terminal event for every item
of the final output, whatever the stated text adds after the streamed one is given as one
more delta. A stated text that contradicts the streamed one changes nothing here (the
deltas were handed out): the :class:`Response` takes the stated text and the parser lists
the difference in ``mismatches``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Union

from ._accumulator import ChatCompletionAccumulator
from ._events import (
    ChatEventBuilder,
    ChatStreamEvent,
    StreamEnded,
    ToolCallArgumentsDelta,
    ToolCallStarted,
)
from ._responses_types import _LIFECYCLE, Response, ResponseStreamEvent

__all__ = ["ResponseEventBuilder", "StreamEvent"]

StreamEvent = Union[ChatStreamEvent, ResponseStreamEvent]  # noqa: UP007 (runtime alias, 3.10)
"""What ``events()`` gives on either kind of stream: the chat event records, and on a
Responses stream each :class:`ResponseStreamEvent` in place of :class:`ChunkEvent`."""

# Text deltas -> the chat delta field they extend.
_TEXTS = {
    "response.output_text.delta": "content",
    "response.refusal.delta": "refusal",
    "response.reasoning_summary_text.delta": "reasoning_content",
    "response.reasoning_text.delta": "reasoning_content",
}
_PART_INDEX = {
    "response.output_text.delta": "content_index",
    "response.refusal.delta": "content_index",
    "response.reasoning_summary_text.delta": "summary_index",
    "response.reasoning_text.delta": "content_index",
}
# Call items -> (chat tool call type, the item's text field, its delta event).
_CALLS = {
    "function_call": ("function", "arguments"),
    "custom_tool_call": ("custom", "input"),
}
_CALL_DELTAS = {
    "response.function_call_arguments.delta": "function_call",
    "response.custom_tool_call_input.delta": "custom_tool_call",
}
# The parts of a finished item whose text may have been stated, not streamed:
# item type -> [(list key, part type, part text field, the delta event it stands for)].
_PARTS = {
    "message": [
        ("content", "output_text", "text", "response.output_text.delta"),
        ("content", "refusal", "refusal", "response.refusal.delta"),
    ],
    "reasoning": [
        ("content", "reasoning_text", "text", "response.reasoning_text.delta"),
        ("summary", "summary_text", "text", "response.reasoning_summary_text.delta"),
    ],
}
# response.incomplete's incomplete_details.reason -> finish_reason.
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}
_SEPARATOR = "\n\n"  # between two reasoning parts (summary paragraphs)


class _Call:
    """One function or custom tool call: its tool-call index ``k``, its type, the
    ``call_index`` the chat builder gave it, and the text streamed so far."""

    __slots__ = ("call_index", "k", "kind", "parts")

    def __init__(self, k: int, kind: str) -> None:
        self.k = k
        self.kind = kind  # "function" or "custom"
        self.call_index: int | None = None
        self.parts: list[str] = []


class ResponseEventBuilder:
    """Turn the events of one Responses stream into :data:`StreamEvent` records (sans-IO).

    ``ResponseStream.events()`` / ``AsyncResponseStream.events()`` and
    ``ResponseStreamParser.next_unified_event()`` use it; use it directly for events from
    elsewhere (the translation and its rules are in :mod:`ssestream._responses_events`).
    Give it each event handed out by the parser, in order, with :meth:`add`, then call
    :meth:`end` once. ``error`` and ``response.failed`` never reach it: the parser
    raises them.

    The translation (OpenAI API reference, "Streaming events" and "The response
    object"; Chat Completions for the target fields), into choice 0:

    | Responses event | chat chunk field |
    |---|---|
    | the first of ``response.created`` / ``.queued`` / ``.in_progress`` | ``id``, ``model``, ``created`` (its ``created_at``) |
    | ``response.output_text.delta`` | ``delta.content`` (its ``logprobs`` as ``logprobs.content``) |
    | ``response.refusal.delta`` | ``delta.refusal`` |
    | ``response.reasoning_summary_text.delta``, ``response.reasoning_text.delta`` | ``delta.reasoning_content``: one text, a ``"\\n\\n"`` delta of its own between two parts |
    | ``response.output_item.added`` of a ``function_call`` / ``custom_tool_call`` | ``delta.tool_calls[k]``: ``id`` (the ``call_id``), ``type`` (``"function"`` / ``"custom"``), the name |
    | ``response.function_call_arguments.delta`` | ``tool_calls[k].function.arguments`` |
    | ``response.custom_tool_call_input.delta`` | ``tool_calls[k].custom.input`` |
    | ``response.output_item.done`` | the item's stated text past the streamed one, as a delta; then the :class:`ToolCallDone` of its call, or the ``*Done`` of its texts |
    | ``response.completed`` | ``finish_reason`` ``"tool_calls"`` if the output has a call, else ``"stop"`` |
    | ``response.incomplete`` | ``finish_reason`` ``"length"`` (``max_output_tokens``), ``"content_filter"``, else the reason as sent |
    | the terminal ``usage`` | ``usage``: ``prompt_tokens`` (input), ``completion_tokens`` (output), ``total_tokens``, cached and reasoning token details |

    ``k`` numbers the calls in the order they appear: ``call_index`` is the call's
    position in ``completion.choices[0].message.tool_calls``.

    Attributes:
        accumulator: the :class:`ChatCompletionAccumulator` of the translated chunks: its
            ``completion`` is what the events so far add up to.
        ended: :meth:`end` was called, or the stream raised.
    """  # noqa: E501 (a table: one row per line)

    __slots__ = ("_calls", "_chat", "_reasoning_at", "_texts", "_with_envelope")

    def __init__(self) -> None:
        self._chat = ChatEventBuilder()
        self._with_envelope = False
        # Streamed text by (delta event, output_index, part index): what was handed out.
        self._texts: dict[tuple[str, int, int], list[str]] = {}
        self._calls: dict[int, _Call] = {}  # by output_index
        self._reasoning_at: tuple[str, int, int] | None = None  # the last reasoning part

    @property
    def accumulator(self) -> ChatCompletionAccumulator:
        """The accumulator of the translated chunks (see the class)."""
        return self._chat.accumulator

    @property
    def ended(self) -> bool:
        """:meth:`end` was called, or the stream raised."""
        return self._chat.ended

    @ended.setter
    def ended(self, value: bool) -> None:
        self._chat.ended = value

    def add(self, event: ResponseStreamEvent) -> list[StreamEvent]:
        """Return ``event`` followed by the chat events it gives.

        Raises:
            ChunkParseError: never for an event the parser handed out (it checked the
                fields read here); the accumulator's error if a caller feeds events the
                parser would have refused.
        """
        out: list[StreamEvent] = [event]
        data = event.to_dict()
        kind = data.get("type")
        field = _TEXTS.get(kind)  # type: ignore[arg-type]
        if field is not None:
            part = data.get(_PART_INDEX[kind])  # type: ignore[index]
            key = (kind, data.get("output_index"), part if type(part) is int else 0)
            self._text(out, field, key, data["delta"], data.get("logprobs"))  # type: ignore[arg-type]
        elif kind in _CALL_DELTAS:
            call = self._call(out, data["output_index"], _CALL_DELTAS[kind], {})
            self._arguments(out, call, data["delta"])
        elif kind == "response.output_item.added" or kind == "response.output_item.done":
            item = data.get("item")
            if isinstance(item, dict):
                self._item(out, data["output_index"], item, done=kind.endswith(".done"))
        elif kind in _LIFECYCLE:
            response = data.get("response")
            if isinstance(response, dict):
                self._envelope(out, response)
                if kind == "response.completed" or kind == "response.incomplete":
                    self._finish(out, kind, response)
        return out

    def end(self, *, done: bool, interrupted: bool, response: Response | None) -> list[StreamEvent]:
        """The events of the end of the stream: the ``*Done`` of whatever is still open,
        then :class:`StreamEnded` (with ``response``). Empty if called again.

        Args:
            done: the terminal event (``response.completed`` / ``.incomplete``) came.
            interrupted: the answer is incomplete (open tool calls are then cut).
            response: the :class:`Response` for ``StreamEnded.response``.
        """
        events: list[StreamEvent] = list(self._chat.end(done=done, interrupted=interrupted))
        if events and isinstance(events[-1], StreamEnded):
            events[-1] = dataclasses.replace(events[-1], response=response)
        return events

    # -- internals

    def _chunk(self, out: list[StreamEvent], chunk: dict[str, Any]) -> None:
        """Merge a translated chunk into the chat builder's accumulator and append the
        events its fragments give. No :class:`ChunkEvent` (the Responses event stands in
        for it), so no chunk view is made either: 0.6 us less per delta, measured."""
        chat = self._chat
        chat.accumulator.add(chunk)
        chat._route(out)  # type: ignore[arg-type]

    def _delta(self, out: list[StreamEvent], delta: dict[str, Any], **choice: Any) -> None:
        self._chunk(out, {"choices": [{"index": 0, "delta": delta, **choice}]})

    def _envelope(self, out: list[StreamEvent], response: dict[str, Any]) -> None:
        """The first lifecycle event's identity fields, as a chat chunk's envelope."""
        if self._with_envelope:
            return
        self._with_envelope = True
        chunk: dict[str, Any] = {"object": "chat.completion.chunk", "choices": []}
        for source, target in (("id", "id"), ("model", "model"), ("created_at", "created")):
            value = response.get(source)
            if type(value) is (int if target == "created" else str):
                chunk[target] = value
        self._chunk(out, chunk)

    def _text(
        self,
        out: list[StreamEvent],
        field: str,
        key: tuple[str, int, int],
        delta: str,
        logprobs: Any = None,
    ) -> None:
        if field == "reasoning_content":
            if self._reasoning_at is not None and self._reasoning_at != key and delta:
                self._delta(out, {field: _SEPARATOR})  # a new part: a paragraph apart
            if delta:
                self._reasoning_at = key
        parts = self._texts.get(key)
        if parts is None:
            parts = self._texts[key] = []
        parts.append(delta)
        if isinstance(logprobs, list) and logprobs and all(type(t) is dict for t in logprobs):
            self._delta(out, {field: delta}, logprobs={"content": logprobs})
        else:
            self._delta(out, {field: delta})

    def _call(
        self, out: list[StreamEvent], output_index: int, item_type: str, item: dict[str, Any]
    ) -> _Call:
        """The call at ``output_index``, started (its :class:`ToolCallStarted`) if new."""
        call = self._calls.get(output_index)
        if call is not None:
            return call
        kind = _CALLS[item_type][0]
        call = self._calls[output_index] = _Call(len(self._calls), kind)
        entry: dict[str, Any] = {"index": call.k, "type": kind}
        call_id = item.get("call_id")
        if type(call_id) is str:
            entry["id"] = call_id
        name = item.get("name")
        body: dict[str, Any] = {"name": name} if type(name) is str else {}
        if kind == "function":
            body["arguments"] = ""
        else:
            body["input"] = ""
        entry[kind] = body
        self._call_delta(out, call, entry)
        return call

    def _arguments(self, out: list[StreamEvent], call: _Call, text: str) -> None:
        call.parts.append(text)
        field = "arguments" if call.kind == "function" else "input"
        self._call_delta(out, call, {"index": call.k, call.kind: {field: text}})

    def _call_delta(self, out: list[StreamEvent], call: _Call, entry: dict[str, Any]) -> None:
        """Send one tool-call entry; learn the call's ``call_index`` from the events it
        gives (the accumulator's position for it, whatever ``k`` is)."""
        start = len(out)
        self._delta(out, {"tool_calls": [entry]})
        if call.call_index is None:
            for event in out[start:]:
                if type(event) is ToolCallStarted or type(event) is ToolCallArgumentsDelta:
                    call.call_index = event.call_index
                    break

    def _item(
        self, out: list[StreamEvent], output_index: int, item: dict[str, Any], *, done: bool
    ) -> None:
        """An output item added or done: start a call; give what a stated item adds to
        what was streamed; when done, the ``*Done`` events of its call or texts."""
        item_type = item.get("type")
        if item_type in _CALLS:
            call = self._call(out, output_index, item_type, item)
            stated = item.get(_CALLS[item_type][1])
            rest = _rest(call.parts, stated)
            if rest:
                self._arguments(out, call, rest)
            if done and call.call_index is not None:
                out.extend(self._chat._settle_call(0, call.call_index))
            return
        rules = _PARTS.get(item_type)  # type: ignore[arg-type]
        if rules is None:
            return
        for key, part_type, text_field, delta_kind in rules:
            parts = item.get(key)
            if not isinstance(parts, list):
                continue
            for number, part in enumerate(parts):
                if type(part) is dict and part.get("type") == part_type:
                    where = (delta_kind, output_index, number)
                    rest = _rest(self._texts.get(where, []), part.get(text_field))
                    if rest:
                        self._text(out, _TEXTS[delta_kind], where, rest)
        if done:
            out.extend(self._chat._settle_texts(0, reasoning=item_type == "reasoning"))

    def _finish(self, out: list[StreamEvent], kind: str, response: dict[str, Any]) -> None:
        """The terminal event: the final output's stated texts, the finish reason, the
        usage."""
        output = response.get("output")
        if isinstance(output, list):
            for position, item in enumerate(output):
                if type(item) is dict:
                    self._item(out, position, item, done=False)
        # The event names the status (a server may leave the response's own out).
        status = "completed" if kind == "response.completed" else "incomplete"
        finish = response_finish_reason({**response, "status": status}, has_call=bool(self._calls))
        chunk: dict[str, Any] = {
            "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
        }
        usage = _usage(response.get("usage"))
        if usage is not None:
            chunk["usage"] = usage
        self._chunk(out, chunk)


def response_finish_reason(response: Mapping[str, Any], *, has_call: bool = False) -> str | None:
    """The chat ``finish_reason`` a Responses ``response`` (a dict) amounts to: for
    ``status`` ``"completed"``, ``"tool_calls"`` if its output has a function or custom
    tool call (or ``has_call``: one was streamed), else ``"stop"``; for
    ``"incomplete"``, ``"length"`` (``max_output_tokens``, or no reason given),
    ``"content_filter"``, or the reason as sent; ``None`` for any other status (not
    finished, or failed). The one definition behind ``events()`` and the tracer."""
    status = response.get("status")
    if status == "completed":
        output = response.get("output")
        if not has_call and isinstance(output, list):
            has_call = any(type(item) is dict and item.get("type") in _CALLS for item in output)
        return "tool_calls" if has_call else "stop"
    if status == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return _INCOMPLETE.get(reason, reason) if type(reason) is str else "length"
    return None


def _rest(streamed: list[str], stated: Any) -> str | None:
    """What a ``stated`` text adds after the ``streamed`` fragments, if it extends them
    (the fragments are joined in place: each text is joined once per statement)."""
    if type(stated) is not str:
        return None
    if len(streamed) > 1:
        streamed[:] = ["".join(streamed)]
    text = streamed[0] if streamed else ""
    if len(stated) > len(text) and stated.startswith(text):
        return stated[len(text) :]
    return None


def _usage(usage: Any) -> dict[str, Any] | None:
    """A Responses ``usage`` in chat terms (input -> prompt, output -> completion)."""
    if not isinstance(usage, dict):
        return None
    out: dict[str, Any] = {}
    for source, target in (
        ("input_tokens", "prompt_tokens"),
        ("output_tokens", "completion_tokens"),
        ("total_tokens", "total_tokens"),
    ):
        value = usage.get(source)
        if type(value) is int:
            out[target] = value
    for source, target, count in (
        ("input_tokens_details", "prompt_tokens_details", "cached_tokens"),
        ("output_tokens_details", "completion_tokens_details", "reasoning_tokens"),
    ):
        details = usage.get(source)
        if isinstance(details, dict) and type(details.get(count)) is int:
            out[target] = {count: details[count]}
    return out or None
