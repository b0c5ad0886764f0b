"""Responses API stream records: typed, lossless views of events and of the ``Response``.

Shapes follow the OpenAI API reference: "Streaming events" for the events (each named by
its own ``type``: ``response.created``, ``response.output_text.delta``...), "The response
object" for :class:`Response` and its output items and parts. Like :mod:`ssestream._types`
each record is a read-only view over the decoded JSON ``dict``: one small allocation,
nothing the server sent is lost (``obfuscation``, ``logprobs``, Azure's
``content_filters``, OpenRouter's ``cost``... stay reachable through ``get``, ``extra`` and
``to_dict``), and a field the server omitted reads as ``None`` (lists as ``[]``).

Events get a class per family of ``type`` (:data:`_VIEWS`); a type not listed there, a
built-in tool's progress event or a provider's own, is a :class:`ResponseStreamEvent`.
This module also holds the per-type rules the parser rebuilds with, and
:func:`looks_like_responses_event` for chat readers that receive a Responses stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._decoder import ServerSentEvent
from ._types import _Field, _Nested, _NestedList, _Record

__all__ = [
    "Response",
    "ResponseAnnotationEvent",
    "ResponseContentPart",
    "ResponseContentPartEvent",
    "ResponseErrorEvent",
    "ResponseLifecycleEvent",
    "ResponseOutputItem",
    "ResponseOutputItemEvent",
    "ResponseStreamEvent",
    "ResponseSummaryPartEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseUsage",
    "looks_like_responses_event",
]

# --------------------------------------------------------------------------- views


class ResponseUsage(_Record):
    """Token counts of a response (API reference: ``response.usage``).

    Providers add their own fields (OpenRouter's ``cost``, GitHub Copilot's
    ``copilot_usage`` sits beside it): see :meth:`get` and :attr:`extra`.

    Attributes:
        input_tokens (int | None): tokens in the input.
        output_tokens (int | None): tokens generated, reasoning included.
        total_tokens (int | None): their sum, as the provider counts it.
        input_tokens_details (dict | None): e.g. ``{"cached_tokens": 0}``.
        output_tokens_details (dict | None): e.g. ``{"reasoning_tokens": 64}``.
    """

    __slots__ = ()
    _fields = frozenset(
        {
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "input_tokens_details",
            "output_tokens_details",
        }
    )
    input_tokens: _Field[int | None] = _Field("input_tokens")
    output_tokens: _Field[int | None] = _Field("output_tokens")
    total_tokens: _Field[int | None] = _Field("total_tokens")
    input_tokens_details: _Field[dict[str, Any] | None] = _Field("input_tokens_details")
    output_tokens_details: _Field[dict[str, Any] | None] = _Field("output_tokens_details")


class ResponseContentPart(_Record):
    """One part of an output item's ``content`` or of a reasoning item's ``summary``.

    Types from the API reference: ``output_text`` (``text``, ``annotations``,
    ``logprobs``), ``refusal`` (``refusal``), ``reasoning_text`` and ``summary_text``
    (``text``). Other types are kept as sent.

    Attributes:
        type (str): the part's type.
        text (str | None): its text (``output_text``, ``reasoning_text``, ``summary_text``).
        refusal (str | None): the refusal's text (``refusal`` parts).
        annotations (list[dict]): citations (``url_citation``, ``file_citation``...) of
            an ``output_text`` part, as sent; ``[]`` if none.
        logprobs (list[dict] | None): token log probabilities, when requested.
    """

    __slots__ = ()
    _fields = frozenset({"type", "text", "refusal", "annotations", "logprobs"})
    type: _Field[str] = _Field("type")
    text: _Field[str | None] = _Field("text")
    refusal: _Field[str | None] = _Field("refusal")
    logprobs: _Field[list[dict[str, Any]] | None] = _Field("logprobs")

    @property
    def annotations(self) -> list[dict[str, Any]]:
        value = self._data.get("annotations")
        return value if isinstance(value, list) else []


class ResponseOutputItem(_Record):
    """One item of ``response.output`` (API reference: "Output items").

    ``type`` says which fields it has: ``message`` (``role``, ``content``),
    ``function_call`` (``name``, ``call_id``, ``arguments``), ``custom_tool_call``
    (``name``, ``call_id``, ``input``), ``reasoning`` (``summary``, ``content``,
    ``encrypted_content``), and the built-in tools' items (``web_search_call``,
    ``file_search_call``, ``code_interpreter_call``, ``image_generation_call``,
    ``mcp_call``, ``shell_call``, ...), whose fields are kept as sent: reach them with
    :meth:`get`.

    Attributes:
        type (str): the item's type.
        id (str | None): the item's id.
        status (str | None): ``in_progress``, ``completed`` or ``incomplete``.
        role (str | None): ``"assistant"`` for a message.
        content: the :class:`ResponseContentPart` list of a message or reasoning item.
        summary: the reasoning summary parts (:class:`ResponseContentPart`).
        name (str | None), call_id (str | None): a call's function or tool name and id.
        arguments (str | None): a function or MCP call's arguments, JSON text as the
            model wrote it (not validated: an interrupted stream leaves it cut).
        input (str | None): a custom tool call's free-form input.
    """

    __slots__ = ()
    _fields = frozenset(
        {"type", "id", "status", "role", "content", "summary", "name", "call_id", "arguments"}
        | {"input"}
    )
    type: _Field[str] = _Field("type")
    id: _Field[str | None] = _Field("id")
    status: _Field[str | None] = _Field("status")
    role: _Field[str | None] = _Field("role")
    content = _NestedList("content", ResponseContentPart, none_if_absent=False)
    summary = _NestedList("summary", ResponseContentPart, none_if_absent=False)
    name: _Field[str | None] = _Field("name")
    call_id: _Field[str | None] = _Field("call_id")
    arguments: _Field[str | None] = _Field("arguments")
    input: _Field[str | None] = _Field("input")

    @property
    def text(self) -> str:
        """The text of the item's ``output_text`` parts, joined (``""`` if none)."""
        return "".join(
            part["text"]
            for part in self._data.get("content") or ()
            if isinstance(part, dict)
            and part.get("type") == "output_text"
            and isinstance(part.get("text"), str)
        )


class Response(_Record):
    """A Responses API ``response`` object (API reference: "The response object").

    Attributes:
        id (str | None): the response id.
        object (str | None): ``"response"``.
        created_at (int | None): Unix time in seconds.
        status (str | None): ``queued``, ``in_progress``, ``completed``,
            ``incomplete``, ``failed`` or ``cancelled``.
        model (str | None): the model that answered.
        output: the :class:`ResponseOutputItem` list, in ``output_index`` order.
        usage: a :class:`ResponseUsage`, or ``None`` before the terminal event.
        incomplete_details (dict | None): e.g. ``{"reason": "max_output_tokens"}``.
        error (dict | None): ``{"code", "message"}`` of a failed response.
    """

    __slots__ = ()
    _fields = frozenset(
        {
            "id",
            "object",
            "created_at",
            "status",
            "model",
            "output",
            "usage",
            "incomplete_details",
            "error",
        }
    )
    id: _Field[str | None] = _Field("id")
    object: _Field[str | None] = _Field("object")
    created_at: _Field[int | None] = _Field("created_at")
    status: _Field[str | None] = _Field("status")
    model: _Field[str | None] = _Field("model")
    output = _NestedList("output", ResponseOutputItem, none_if_absent=False)
    usage = _Nested("usage", ResponseUsage)
    incomplete_details: _Field[dict[str, Any] | None] = _Field("incomplete_details")
    error: _Field[dict[str, Any] | None] = _Field("error")

    @property
    def output_text(self) -> str:
        """The text of every ``message`` item's ``output_text`` parts, joined.

        Computed from :attr:`output`, like the openai SDK's ``Response.output_text``.
        A provider's own ``output_text`` field (OpenRouter sends ``""``) stays in
        ``get("output_text")``.
        """
        return "".join(item.text for item in self.output if item.get("type") == "message")


class ResponseStreamEvent(_Record):
    """One event of a Responses stream: the base view, and the class of unknown types.

    ``type`` is the event's own name (``response.output_text.delta``...). Every field is
    kept: a type this module does not know (``response.web_search_call.searching``, a
    provider's own events) is handed out as this class, its fields reachable with
    :meth:`get`.

    Attributes:
        type (str): the event type.
        sequence_number (int | None): the event's position in the stream (OpenAI since
            mid 2025; ``None`` in older recordings).
        output_index (int | None): the output item the event is about, if any.
        item_id (str | None): that item's id, if sent (do not key by it: see the module
            docstring).
    """

    __slots__ = ()
    _fields = frozenset({"type", "sequence_number", "output_index", "item_id"})
    type: _Field[str] = _Field("type")
    sequence_number: _Field[int | None] = _Field("sequence_number")
    output_index: _Field[int | None] = _Field("output_index")
    item_id: _Field[str | None] = _Field("item_id")


class ResponseLifecycleEvent(ResponseStreamEvent):
    """``response.created``, ``.queued``, ``.in_progress``, ``.completed``,
    ``.incomplete`` and ``.failed``: the response as the server sees it at that point.

    Attributes:
        response: the :class:`Response` as sent in the event (its ``output`` is ``[]``
            in the early events; the terminal one carries the full output).
    """

    __slots__ = ()
    _fields = ResponseStreamEvent._fields | {"response"}

    @property
    def response(self) -> Response:
        value = self._data.get("response")
        return Response(value if isinstance(value, dict) else {})


class ResponseOutputItemEvent(ResponseStreamEvent):
    """``response.output_item.added`` / ``.done``: an output item begins or is finished.

    Attributes:
        item: the :class:`ResponseOutputItem` as sent (``.done`` carries it complete).
    """

    __slots__ = ()
    _fields = ResponseStreamEvent._fields | {"item"}

    @property
    def item(self) -> ResponseOutputItem:
        value = self._data.get("item")
        return ResponseOutputItem(value if isinstance(value, dict) else {})


class ResponseContentPartEvent(ResponseStreamEvent):
    """``response.content_part.added`` / ``.done``: a part of an item's ``content``.

    Attributes:
        content_index (int | None): the part's position in the item's ``content``.
        part: the :class:`ResponseContentPart` as sent.
    """

    __slots__ = ()
    _fields = ResponseStreamEvent._fields | {"content_index", "part"}
    content_index: _Field[int | None] = _Field("content_index")

    @property
    def part(self) -> ResponseContentPart:
        value = self._data.get("part")
        return ResponseContentPart(value if isinstance(value, dict) else {})


class ResponseSummaryPartEvent(ResponseStreamEvent):
    """``response.reasoning_summary_part.added`` / ``.done``: a reasoning summary part.

    Attributes:
        summary_index (int | None): the part's position in the item's ``summary``.
        part: the :class:`ResponseContentPart` (``summary_text``) as sent.
    """

    __slots__ = ()
    _fields = ResponseStreamEvent._fields | {"summary_index", "part"}
    summary_index: _Field[int | None] = _Field("summary_index")

    @property
    def part(self) -> ResponseContentPart:
        value = self._data.get("part")
        return ResponseContentPart(value if isinstance(value, dict) else {})


class ResponseTextDeltaEvent(ResponseStreamEvent):
    """A fragment of a streamed text: every ``*.delta`` type whose ``delta`` is text.

    The types and the field each one extends (OpenAI API reference):
    ``response.output_text.delta`` and ``response.refusal.delta`` (a ``content`` part's
    ``text`` / ``refusal``), ``response.reasoning_text.delta`` (a reasoning item's
    ``content`` part), ``response.reasoning_summary_text.delta`` (its ``summary`` part),
    ``response.function_call_arguments.delta`` and ``response.mcp_call_arguments.delta``
    (the item's ``arguments``), ``response.custom_tool_call_input.delta`` (``input``),
    ``response.code_interpreter_call_code.delta`` (``code``); and, kept as events only,
    ``response.audio.transcript.delta``, ``response.apply_patch_call_operation_diff.delta``
    and ``response.shell_call_command.delta``.

    Attributes:
        delta (str): the fragment.
        content_index (int | None): for content parts.
        summary_index (int | None): for summary parts.
        logprobs (list[dict] | None): token log probabilities of an ``output_text``
            fragment, when requested.
    """

    __slots__ = ("_partial",)
    _partial: Any  # set by ResponseStreamParser on call-argument deltas
    _fields = ResponseStreamEvent._fields | {"delta", "content_index", "summary_index"}
    delta: _Field[str] = _Field("delta")
    content_index: _Field[int | None] = _Field("content_index")
    summary_index: _Field[int | None] = _Field("summary_index")
    logprobs: _Field[list[dict[str, Any]] | None] = _Field("logprobs")

    @property
    def partial(self) -> Any:
        """A call's arguments as parsed so far, at this event: for
        ``response.function_call_arguments.delta`` and ``response.mcp_call_arguments.delta``
        handed out by a :class:`ResponseStreamParser`, the value of a
        :class:`PartialJSONParser` fed every fragment of the call until this one (an
        unfinished string shown as far as it goes, an unfinished number not at all).
        ``None`` for other types, before anything can be shown, and once the arguments
        can never become JSON (the raw text stays in the item's ``arguments``). Treat it
        as read-only."""
        try:
            return self._partial
        except AttributeError:
            return None


class ResponseTextDoneEvent(ResponseStreamEvent):
    """The full value of a streamed text: the ``*.done`` twin of each delta type.

    The full value is in the field the type names: ``text`` (output text, reasoning
    text, reasoning summary text), ``refusal``, ``arguments`` (function and MCP calls;
    ``name`` too on some), ``input`` (custom tool calls), ``code`` (code interpreter),
    ``transcript``, ``diff`` (apply patch), ``command`` (shell): :attr:`value` reads it
    whatever it is called.

    Attributes:
        content_index: as in the delta (``int`` or ``None``); ``summary_index`` too.
        text: the field as sent (``str`` or ``None``); so are ``refusal``,
            ``arguments``, ``input``, ``code`` and ``name``.
    """

    __slots__ = ()
    _fields = ResponseStreamEvent._fields | {
        "content_index",
        "summary_index",
        "text",
        "refusal",
        "arguments",
        "input",
        "code",
        "name",
    }
    content_index: _Field[int | None] = _Field("content_index")
    summary_index: _Field[int | None] = _Field("summary_index")
    text: _Field[str | None] = _Field("text")
    refusal: _Field[str | None] = _Field("refusal")
    arguments: _Field[str | None] = _Field("arguments")
    input: _Field[str | None] = _Field("input")
    code: _Field[str | None] = _Field("code")
    name: _Field[str | None] = _Field("name")

    @property
    def value(self) -> str | None:
        """The full text, read from the field this event type carries it in."""
        kind = self._data.get("type")
        if not isinstance(kind, str):
            return None
        rule = _TEXT_DONE.get(kind)
        field = rule[2] if rule is not None else _DONE_FIELD.get(kind)
        value = self._data.get(field) if field is not None else None
        return value if isinstance(value, str) else None


class ResponseAnnotationEvent(ResponseStreamEvent):
    """``response.output_text.annotation.added``: a citation added to an output text part.

    Attributes:
        content_index (int | None): the part's position in the item's ``content``.
        annotation_index (int | None): the annotation's position in the part's
            ``annotations``.
        annotation (dict | None): the annotation as sent (``url_citation``,
            ``file_citation``, ...).
    """

    __slots__ = ()
    _fields = ResponseStreamEvent._fields | {"content_index", "annotation_index", "annotation"}
    content_index: _Field[int | None] = _Field("content_index")
    annotation_index: _Field[int | None] = _Field("annotation_index")
    annotation: _Field[dict[str, Any] | None] = _Field("annotation")


class ResponseErrorEvent(ResponseStreamEvent):
    """The ``error`` event: read its fields from the flat shape of the API reference
    (``code``, ``message``, ``param`` beside ``type``) or from a nested ``error`` object
    (what OpenAI sent in the ``insufficient_quota`` recording).

    Never handed out by :class:`ResponseStreamParser`, which raises
    :class:`StreamAPIError` instead; ``error.body`` is this event's payload.
    """

    __slots__ = ()
    _fields = ResponseStreamEvent._fields | {"code", "message", "param", "error"}

    def _error(self) -> Mapping[str, Any]:
        nested = self._data.get("error")
        return nested if isinstance(nested, dict) else self._data

    @property
    def code(self) -> str | int | None:
        """The error code (``"insufficient_quota"``...), or ``None``."""
        value = self._error().get("code")
        return value if isinstance(value, (str, int)) else None

    @property
    def message(self) -> str | None:
        """The error message, or ``None``."""
        value = self._error().get("message")
        return value if isinstance(value, str) else None

    @property
    def param(self) -> str | None:
        """The request parameter at fault, or ``None``."""
        value = self._error().get("param")
        return value if isinstance(value, str) else None


# --------------------------------------------------------------------------- event rules

_LIFECYCLE = frozenset(
    {
        "response.created",
        "response.queued",
        "response.in_progress",
        "response.completed",
        "response.incomplete",
        "response.failed",
    }
)
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})

# Text deltas rebuilt into the Response: type -> (list key or None, index field, text
# field, default item type, default part). The .done twin carries the full text in the
# same field.
_Rule = tuple[str | None, str | None, str, str, dict[str, Any] | None]
_TEXT_DELTA: dict[str, _Rule] = {
    "response.output_text.delta": (
        "content",
        "content_index",
        "text",
        "message",
        {"type": "output_text", "text": "", "annotations": []},
    ),
    "response.refusal.delta": (
        "content",
        "content_index",
        "refusal",
        "message",
        {"type": "refusal", "refusal": ""},
    ),
    "response.reasoning_text.delta": (
        "content",
        "content_index",
        "text",
        "reasoning",
        {"type": "reasoning_text", "text": ""},
    ),
    "response.reasoning_summary_text.delta": (
        "summary",
        "summary_index",
        "text",
        "reasoning",
        {"type": "summary_text", "text": ""},
    ),
    "response.function_call_arguments.delta": (None, None, "arguments", "function_call", None),
    "response.mcp_call_arguments.delta": (None, None, "arguments", "mcp_call", None),
    "response.custom_tool_call_input.delta": (None, None, "input", "custom_tool_call", None),
    "response.code_interpreter_call_code.delta": (
        None,
        None,
        "code",
        "code_interpreter_call",
        None,
    ),
}
_TEXT_DONE: dict[str, _Rule] = {
    name.removesuffix(".delta") + ".done": rule for name, rule in _TEXT_DELTA.items()
}
# Text deltas kept as events only (their item is kept as the server sends it).
_DONE_FIELD: dict[str, str] = {
    "response.audio.transcript.done": "transcript",
    "response.apply_patch_call_operation_diff.done": "diff",
    "response.shell_call_command.done": "command",
}
_EVENT_ONLY_DELTAS = frozenset(
    {
        "response.audio.transcript.delta",
        "response.apply_patch_call_operation_diff.delta",
        "response.shell_call_command.delta",
    }
)

_VIEWS: dict[str, type[ResponseStreamEvent]] = {
    "response.output_item.added": ResponseOutputItemEvent,
    "response.output_item.done": ResponseOutputItemEvent,
    "response.content_part.added": ResponseContentPartEvent,
    "response.content_part.done": ResponseContentPartEvent,
    "response.reasoning_summary_part.added": ResponseSummaryPartEvent,
    "response.reasoning_summary_part.done": ResponseSummaryPartEvent,
    "response.output_text.annotation.added": ResponseAnnotationEvent,
    "error": ResponseErrorEvent,
}
_VIEWS.update(dict.fromkeys(_LIFECYCLE, ResponseLifecycleEvent))
_VIEWS.update(dict.fromkeys(_TEXT_DELTA, ResponseTextDeltaEvent))
_VIEWS.update(dict.fromkeys(_EVENT_ONLY_DELTAS, ResponseTextDeltaEvent))
_VIEWS.update(dict.fromkeys(_TEXT_DONE, ResponseTextDoneEvent))
_VIEWS.update(dict.fromkeys(_DONE_FIELD, ResponseTextDoneEvent))


def looks_like_responses_event(event: ServerSentEvent, payload: Any = None) -> bool:
    """Whether an event belongs to a Responses API stream, not a chat-completion stream.

    True when the SSE event type starts with ``response.`` (OpenAI, Azure, xAI, LM
    Studio name every event so), or when ``payload`` (the event's decoded data, if the
    caller has it) is an object without ``choices`` whose ``type`` starts with
    ``response.`` (OpenRouter sends data-only events). For a chat parser that wants to
    say "this is a Responses stream: read it with ResponseStream" instead of skipping
    events it does not know. Pure and cheap: no JSON is decoded here.
    """
    if event[0].startswith("response."):
        return True
    if type(payload) is dict and "choices" not in payload:
        kind = payload.get("type")
        return type(kind) is str and kind.startswith("response.")
    return False
