"""Layer 2 records: typed, lossless views of chat-completion payloads.

Shapes follow the OpenAI API reference: "The chat completion chunk object" for
:class:`ChatCompletionChunk` and its parts, "The chat completion object" for
:class:`ChatCompletion` and its parts. Attribute names are the API's, as in the openai SDK
(``chunk.choices[0].delta.content``).

Strategy: each record is a read-only view over the decoded JSON ``dict`` it came from.
Building one costs a single small allocation, whatever the payload holds, and nothing the
server sent is lost: fields a provider adds (``x_groq``, ``citations``, ``obfuscation``,
``content_filter_results``...) stay in the ``dict``, reachable through :meth:`get`,
:attr:`extra` and :meth:`to_dict`. Attributes are looked up when read; a field the
provider omitted reads as ``None`` (lists as ``[]`` where the API always sends one).
Nothing is validated up front: that would cost every user the price of the strictest one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

if TYPE_CHECKING:  # pragma: no cover
    import openai.types.chat

__all__ = [
    "REASONING_POLICIES",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaFunctionCall",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallCustom",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "CompletionUsage",
    "Custom",
    "Function",
    "FunctionCall",
    "ReasoningPolicy",
    "TokenLogprob",
]

T = TypeVar("T")
R = TypeVar("R", bound="_Record")


class _Record:
    """Base of the views: holds the payload ``dict`` and compares by it."""

    __slots__ = ("_data",)
    _fields: frozenset[str] = frozenset()

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def to_dict(self) -> dict[str, Any]:
        """Return the payload as received (the same ``dict``, not a copy: don't mutate it)."""
        return self._data

    def get(self, key: str, default: Any = None) -> Any:
        """Return the raw value of field ``key``, or ``default`` if the payload lacks it.

        The way to reach provider-specific fields, e.g. ``chunk.get("x_groq")``.
        """
        return self._data.get(key, default)

    @property
    def extra(self) -> dict[str, Any]:
        """The fields that are not part of the OpenAI shape of this record, as a new ``dict``."""
        fields = self._fields
        return {k: v for k, v in self._data.items() if k not in fields}

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._data == other._data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


# object.__new__ makes a view without running __init__; the caller sets ``_data``. For
# the hot properties only: a record made this way skips a Python frame (about 60 ns).
_view = object.__new__


class _Field(Generic[T]):
    """Descriptor: the raw value of one payload field, ``None`` when absent."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> _Field[T]: ...
    @overload
    def __get__(self, obj: _Record, owner: type) -> T: ...
    def __get__(self, obj: _Record | None, owner: type) -> Any:
        if obj is None:
            return self
        return obj._data.get(self.name)


class _Nested(Generic[R]):
    """Descriptor: one payload field wrapped in a record type, ``None`` when absent/null."""

    __slots__ = ("factory", "name")

    def __init__(self, name: str, factory: Callable[[dict[str, Any]], R]) -> None:
        self.name = name
        self.factory = factory

    @overload
    def __get__(self, obj: None, owner: type) -> _Nested[R]: ...
    @overload
    def __get__(self, obj: _Record, owner: type) -> R | None: ...
    def __get__(self, obj: _Record | None, owner: type) -> Any:
        if obj is None:
            return self
        value = obj._data.get(self.name)
        return self.factory(value) if isinstance(value, dict) else None


class _NestedList(Generic[R]):
    """Descriptor: a list field wrapped item by item; ``none_if_absent`` picks None or []."""

    __slots__ = ("factory", "name", "none_if_absent")

    def __init__(
        self, name: str, factory: Callable[[dict[str, Any]], R], *, none_if_absent: bool
    ) -> None:
        self.name = name
        self.factory = factory
        self.none_if_absent = none_if_absent

    @overload
    def __get__(self, obj: None, owner: type) -> _NestedList[R]: ...
    @overload
    def __get__(self, obj: _Record, owner: type) -> list[R]: ...
    def __get__(self, obj: _Record | None, owner: type) -> Any:
        if obj is None:
            return self
        value = obj._data.get(self.name)
        if not isinstance(value, list):
            return None if self.none_if_absent else []
        factory = self.factory
        return [factory(item) for item in value if isinstance(item, dict)]


def _text_of_parts(content: Any, kind: str) -> str | None:
    """Join the text of Mistral-style typed content parts of one kind.

    Mistral's magistral models stream ``delta.content`` as a list such as
    ``[{"type": "thinking", "thinking": [{"type": "text", "text": ...}]}]`` or
    ``[{"type": "text", "text": ...}]``. ``kind`` is ``"text"`` or ``"thinking"``.
    Returns ``None`` when no part of that kind is present.
    """
    pieces: list[str] = []
    found = False
    for part in content:
        if not isinstance(part, dict) or part.get("type") != kind:
            continue
        found = True
        if kind == "text":
            text = part.get("text")
            if isinstance(text, str):
                pieces.append(text)
        else:
            inner = part.get(kind)
            if isinstance(inner, dict):
                inner = [inner]
            if isinstance(inner, str):
                pieces.append(inner)
            elif isinstance(inner, list):
                pieces.extend(
                    p["text"]
                    for p in inner
                    if isinstance(p, dict) and isinstance(p.get("text"), str)
                )
    return "".join(pieces) if found else None


def _text_of_details(details: list[Any]) -> str | None:
    """Join the ``text`` and ``summary`` strings of ``reasoning_details`` entries.

    MiniMax (``reasoning.text`` entries) and OpenRouter (``reasoning.text`` and
    ``reasoning.summary``). Returns ``None`` when no entry holds such text (signatures
    and ``reasoning.encrypted`` data are not text to read).
    """
    pieces = [
        value
        for entry in details
        if isinstance(entry, dict)
        for value in (entry.get("text"), entry.get("summary"))
        if isinstance(value, str)
    ]
    return "".join(pieces) if pieces else None


# --------------------------------------------------------------------------- chunks


class TokenLogprob(_Record):
    """One token's log probability (API reference: ``logprobs.content[]``).

    Attributes:
        token (str): the token.
        logprob (float): its natural-log probability.
        bytes (list[int] | None): its UTF-8 bytes.
        top_logprobs (list[dict]): the most likely alternatives, each a dict with
            ``token``, ``logprob`` and ``bytes``.
    """

    __slots__ = ()
    _fields = frozenset({"token", "logprob", "bytes", "top_logprobs"})
    token: _Field[str] = _Field("token")
    logprob: _Field[float] = _Field("logprob")
    bytes: _Field[list[int] | None] = _Field("bytes")
    top_logprobs: _Field[list[dict[str, Any]]] = _Field("top_logprobs")


class ChoiceLogprobs(_Record):
    """Log probabilities of a choice's tokens (API reference: ``choices[].logprobs``).

    Attributes:
        content: one :class:`TokenLogprob` per content token, or ``None``.
        refusal: one :class:`TokenLogprob` per refusal token, or ``None``.
    """

    __slots__ = ()
    _fields = frozenset({"content", "refusal"})
    content = _NestedList("content", TokenLogprob, none_if_absent=True)
    refusal = _NestedList("refusal", TokenLogprob, none_if_absent=True)


class CompletionUsage(_Record):
    """Token counts of a request (API reference: ``usage``).

    Providers add their own fields (``prompt_cache_hit_tokens``, ``cost``, ``queue_time``
    ...): they are kept, see :meth:`get` and :attr:`extra`.

    Attributes:
        prompt_tokens (int | None): tokens in the prompt.
        completion_tokens (int | None): tokens generated.
        total_tokens (int | None): as the provider counts it (xAI's excludes reasoning).
        prompt_tokens_details (dict | None): e.g. ``{"cached_tokens": 0}``.
        completion_tokens_details (dict | None): e.g. ``{"reasoning_tokens": 0}``.
    """

    __slots__ = ()
    _fields = frozenset(
        {
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "prompt_tokens_details",
            "completion_tokens_details",
        }
    )
    prompt_tokens: _Field[int | None] = _Field("prompt_tokens")
    completion_tokens: _Field[int | None] = _Field("completion_tokens")
    total_tokens: _Field[int | None] = _Field("total_tokens")
    prompt_tokens_details: _Field[dict[str, Any] | None] = _Field("prompt_tokens_details")
    completion_tokens_details: _Field[dict[str, Any] | None] = _Field("completion_tokens_details")


class ChoiceDeltaToolCallFunction(_Record):
    """The function part of a tool-call delta.

    Attributes:
        name (str | None): the function name; usually only in the call's first delta
            (some providers repeat it, or send ``""``, in later ones).
        arguments (str | None): the next fragment of the JSON arguments.
    """

    __slots__ = ()
    _fields = frozenset({"name", "arguments"})
    name: _Field[str | None] = _Field("name")
    arguments: _Field[str | None] = _Field("arguments")


class ChoiceDeltaToolCallCustom(_Record):
    """The ``custom`` part of a custom tool-call delta (OpenAI's ``type: "custom"`` tools).

    Attributes:
        name (str | None): the tool's name; in the call's first fragment.
        input (str | None): the next fragment of the free-form input text.
    """

    __slots__ = ()
    _fields = frozenset({"name", "input"})
    name: _Field[str | None] = _Field("name")
    input: _Field[str | None] = _Field("input")


class ChoiceDeltaToolCall(_Record):
    """One entry of ``delta.tool_calls``: a fragment of a tool call.

    Attributes:
        index (int | None): which tool call of the choice this fragment belongs to.
            ``None`` where the provider omits it (Mistral, Gemini).
        id (str | None): the call id, normally only in the call's first fragment.
        type (str | None): ``"function"`` or ``"custom"``, normally only in the first
            fragment.
        function: a :class:`ChoiceDeltaToolCallFunction`, or ``None``.
        custom: a :class:`ChoiceDeltaToolCallCustom` (custom tools), or ``None``.
    """

    __slots__ = ()
    _fields = frozenset({"index", "id", "type", "function", "custom"})
    index: _Field[int | None] = _Field("index")
    id: _Field[str | None] = _Field("id")
    type: _Field[str | None] = _Field("type")
    function = _Nested("function", ChoiceDeltaToolCallFunction)
    custom = _Nested("custom", ChoiceDeltaToolCallCustom)


class ChoiceDeltaFunctionCall(_Record):
    """The deprecated ``delta.function_call`` (before tool calls existed).

    Attributes:
        name (str | None): the function name.
        arguments (str | None): the next fragment of the JSON arguments.
    """

    __slots__ = ()
    _fields = frozenset({"name", "arguments"})
    name: _Field[str | None] = _Field("name")
    arguments: _Field[str | None] = _Field("arguments")


class ChoiceDelta(_Record):
    """What one chunk adds to one choice (API reference: ``choices[].delta``).

    Attributes:
        role (str | None): ``"assistant"``, normally in the first delta only.
        tool_calls: the tool-call fragments (:class:`ChoiceDeltaToolCall`), or ``None``.
        function_call: a :class:`ChoiceDeltaFunctionCall` (deprecated API), or ``None``.
        refusal (str | None): the next fragment of a refusal.
    """

    __slots__ = ()
    _fields = frozenset(
        {
            "role",
            "content",
            "refusal",
            "tool_calls",
            "function_call",
            "reasoning_content",
            "reasoning",
        }
    )
    role: _Field[str | None] = _Field("role")
    refusal: _Field[str | None] = _Field("refusal")
    tool_calls = _NestedList("tool_calls", ChoiceDeltaToolCall, none_if_absent=True)
    function_call = _Nested("function_call", ChoiceDeltaFunctionCall)

    @property
    def content(self) -> str | None:
        """The next fragment of the answer's text, or ``None``.

        Where the provider sends a list of typed parts (Mistral's magistral models), the
        text of the ``"text"`` parts; their ``"thinking"`` parts are in
        :attr:`reasoning_content`. The raw value stays in :meth:`to_dict`.
        """
        content = self._data.get("content")
        if content is None or isinstance(content, str):
            return content
        if isinstance(content, list):
            return _text_of_parts(content, "text")
        return None

    @property
    def reasoning_content(self) -> str | None:
        """The next fragment of the model's reasoning, or ``None``.

        Read from whichever field the provider uses: ``reasoning_content`` (DeepSeek,
        xAI, llama.cpp, Avian, Z.ai), ``reasoning`` (OpenRouter, Groq, Cerebras, newer
        vLLM), the ``"thinking"`` parts of a list ``content`` (Mistral), or, in a delta
        with none of those, the ``text`` and ``summary`` of its ``reasoning_details``
        entries (MiniMax can send its reasoning only there). Where ``reasoning_details``
        comes beside one of the text fields (OpenRouter, Avian, MiniMax), it repeats the
        same text and is not read.
        """
        data = self._data
        value = data.get("reasoning_content")
        if value is None:
            value = data.get("reasoning")
        if value is None:
            content = data.get("content")
            if isinstance(content, list):
                return _text_of_parts(content, "thinking")
            details = data.get("reasoning_details")
            if isinstance(details, list):
                return _text_of_details(details)
        return value if isinstance(value, str) else None


class ChunkChoice(_Record):
    """One choice of a chunk (API reference: ``chat.completion.chunk`` ``choices[]``).

    Attributes:
        index (int): which choice (``n`` > 1 streams interleave several).
        delta: the :class:`ChoiceDelta` (an empty one if the provider omitted it).
        finish_reason (str | None): ``"stop"``, ``"length"``, ``"tool_calls"``,
            ``"content_filter"``, ``"function_call"``, or a provider's own value; set
            on the choice's last chunk only.
        logprobs: a :class:`ChoiceLogprobs`, or ``None``.
    """

    __slots__ = ()
    _fields = frozenset({"index", "delta", "finish_reason", "logprobs"})
    index: _Field[int] = _Field("index")
    finish_reason: _Field[str | None] = _Field("finish_reason")
    logprobs = _Nested("logprobs", ChoiceLogprobs)

    @property
    def delta(self) -> ChoiceDelta:
        delta = self._data.get("delta")
        # _view, not ChoiceDelta(...): no Python __init__ frame, 60 of a view's 110 ns
        # (measured); this is the second step of every chunk.choices[0].delta.content.
        view = _view(ChoiceDelta)
        view._data = delta if isinstance(delta, dict) else {}
        return view


class ChatCompletionChunk(_Record):
    """One ``chat.completion.chunk`` of a streamed response (OpenAI API reference).

    Attributes:
        id (str): the completion's id; the same on every chunk (Avian changes it after
            the first; Azure's first chunk has ``""``).
        object (str): ``"chat.completion.chunk"`` (some providers omit or vary it).
        created (int): Unix time in seconds.
        model (str): the model that answered.
        system_fingerprint (str | None): the backend configuration.
        service_tier (str | None): the tier that served the request.
        choices: the :class:`ChunkChoice` list (``[]`` on usage-only chunks and on
            Azure's prompt-filter first chunk). Made on first read and then kept: every
            read returns the same list, as an openai SDK chunk's attribute does
            (changing that list changes what later reads see, never the payload).
        usage: a :class:`CompletionUsage` (with ``stream_options.include_usage``, on
            the last chunk; some providers send it on every chunk), or ``None``.
    """

    __slots__ = ("_choices",)

    _fields = frozenset(
        {
            "id",
            "object",
            "created",
            "model",
            "system_fingerprint",
            "service_tier",
            "choices",
            "usage",
        }
    )
    id: _Field[str] = _Field("id")
    object: _Field[str] = _Field("object")
    created: _Field[int] = _Field("created")
    model: _Field[str] = _Field("model")
    system_fingerprint: _Field[str | None] = _Field("system_fingerprint")
    service_tier: _Field[str | None] = _Field("service_tier")
    usage = _Nested("usage", CompletionUsage)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self._choices: list[ChunkChoice] | None = None

    @property
    def choices(self) -> list[ChunkChoice]:
        """The :class:`ChunkChoice` views, the same list on every read (see above)."""
        # Kept after the first read: the usual `if chunk.choices: chunk.choices[0]...`
        # reads it twice, and building the list each time made that 1.29 us against
        # 0.82 unguarded (docs/performance.md, views). Built with _view (no __init__
        # frame per choice).
        views = self._choices
        if views is None:
            value = self._data.get("choices")
            views = []
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        view = _view(ChunkChoice)
                        view._data = item
                        views.append(view)
            self._choices = views
        return views


# --------------------------------------------------------------------------- completion


class Function(_Record):
    """The function a tool call invokes.

    Attributes:
        name (str | None): the function name.
        arguments (str): its arguments as JSON text, as the model wrote it (not
            validated: a cut stream leaves it incomplete).
    """

    __slots__ = ()
    _fields = frozenset({"name", "arguments"})
    name: _Field[str | None] = _Field("name")
    arguments: _Field[str] = _Field("arguments")


class FunctionCall(Function):
    """The deprecated ``message.function_call``: same fields as :class:`Function`."""

    __slots__ = ()


class Custom(_Record):
    """The custom tool a ``type: "custom"`` tool call invokes (OpenAI custom tools).

    Attributes:
        name (str | None): the custom tool's name.
        input (str): the free-form input the model wrote for it (not JSON).
    """

    __slots__ = ()
    _fields = frozenset({"name", "input"})
    name: _Field[str | None] = _Field("name")
    input: _Field[str] = _Field("input")


class ChatCompletionMessageToolCall(_Record):
    """One complete tool call of a message.

    Attributes:
        id (str | None): the call id to answer with a ``tool`` message.
        type (str): ``"function"`` or ``"custom"`` (or a provider's own type).
        function: the :class:`Function` (empty for a call of another type).
        custom: the :class:`Custom` of a ``type: "custom"`` call, else ``None``.
    """

    __slots__ = ()
    _fields = frozenset({"id", "type", "function", "custom"})
    id: _Field[str | None] = _Field("id")
    type: _Field[str] = _Field("type")
    custom = _Nested("custom", Custom)

    @property
    def function(self) -> Function:
        function = self._data.get("function")
        return Function(function if isinstance(function, dict) else {})


# The reasoning policies of ChatCompletionMessage.to_param, in the order documented there.
ReasoningPolicy = Literal["omit", "reasoning_content", "reasoning", "reasoning_details"]
REASONING_POLICIES: tuple[ReasoningPolicy, ...] = (
    "omit",
    "reasoning_content",
    "reasoning",
    "reasoning_details",
)
"""The values of ``to_param(reasoning=...)``: see :meth:`ChatCompletionMessage.to_param`."""


def _tool_call_param(call: Any) -> dict[str, Any] | None:
    """The request form of one rebuilt tool call, or ``None`` if it is not an object.

    ``function`` calls keep ``name`` and ``arguments``, ``custom`` calls ``name`` and
    ``input`` (OpenAI API reference, assistant message ``tool_calls``); a call of another
    type keeps the object named by its type. ``extra_content`` (Gemini's thought
    signature) goes back as received; everything else (``index``, provider extras) stays
    out.
    """
    if not isinstance(call, dict):
        return None
    kind = call.get("type") or "function"
    param: dict[str, Any] = {"id": call.get("id"), "type": kind}
    if kind == "function":
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        param["function"] = {
            "name": function.get("name"),
            "arguments": function.get("arguments") or "",
        }
    elif kind == "custom":
        custom = call.get("custom")
        custom = custom if isinstance(custom, dict) else {}
        param["custom"] = {"name": custom.get("name"), "input": custom.get("input") or ""}
    elif isinstance(kind, str) and kind in call:
        param[kind] = copy.deepcopy(call[kind])
    if call.get("extra_content") is not None:
        param["extra_content"] = copy.deepcopy(call["extra_content"])
    return param


class ChatCompletionMessage(_Record):
    """The assistant message of a choice (API reference: ``choices[].message``).

    Attributes:
        role (str): ``"assistant"``.
        content (str | None): the answer's text; ``None`` if none was sent, ``""`` if
            only empty fragments were.
        refusal (str | None): the refusal's text, likewise.
        tool_calls: the :class:`ChatCompletionMessageToolCall` list, or ``None``.
        function_call: the deprecated :class:`FunctionCall`, or ``None``.
    """

    __slots__ = ()
    _fields = frozenset(
        {
            "role",
            "content",
            "refusal",
            "tool_calls",
            "function_call",
            "reasoning_content",
            "reasoning",
        }
    )
    role: _Field[str] = _Field("role")
    content: _Field[str | None] = _Field("content")
    refusal: _Field[str | None] = _Field("refusal")
    tool_calls = _NestedList("tool_calls", ChatCompletionMessageToolCall, none_if_absent=True)
    function_call = _Nested("function_call", FunctionCall)

    @property
    def reasoning_content(self) -> str | None:
        """The model's reasoning text, or ``None``.

        Rebuilt from whichever delta field carried it (see
        :attr:`ChoiceDelta.reasoning_content`); :meth:`to_dict` keeps that field's name.
        Where both names were used with different text, the one that came first.
        """
        for key, value in self._data.items():
            if (key == "reasoning_content" or key == "reasoning") and isinstance(value, str):
                return value
        return None

    def to_param(self, *, reasoning: ReasoningPolicy = "omit") -> dict[str, Any]:
        """The assistant message to send back in the next request's ``messages``.

        A new ``dict`` with the keys of the openai SDK's
        ``ChatCompletionAssistantMessageParam`` (OpenAI API reference, "assistant
        message"), plus what a provider needs back:

        * ``role``: ``"assistant"``; ``content``: the text (``""`` when the message has
          neither text nor calls, since the request schema requires it then);
        * ``tool_calls``: ``id``, ``type`` and ``function`` (``name``, ``arguments``) or
          ``custom`` (``name``, ``input``); Gemini's ``extra_content`` (its thought
          signature: Gemini 3 answers HTTP 400 on a tool-call turn sent back without it,
          per Google's "Thought signatures" guide) is kept on each call, and on the
          message if the stream sent one there;
        * ``refusal`` if there was a non-empty one (OpenAI), ``function_call`` (the deprecated API)
          and ``audio: {"id": ...}`` (OpenAI audio output) if present;
        * never ``refusal: null``, ``index``, ``obfuscation``, annotations, logprobs or
          any other response-only field.

        Args:
            reasoning: what to do with the model's reasoning, since providers disagree:

                * ``"omit"`` (default): leave it out. OpenAI ignores it, Mistral answers
                  HTTP 422 (``extra_forbidden``) and Cerebras HTTP 400 ("property
                  'reasoning_content' is unsupported") when it is sent.
                * ``"reasoning_content"``: the text under ``reasoning_content`` (``""``
                  when the model sent none). DeepSeek's thinking mode answers HTTP 400
                  on a tool-call turn sent back without it (its "Thinking mode" guide,
                  "tool calls"); Moonshot's Kimi thinking models likewise; Z.ai GLM
                  accepts it (preserved thinking).
                * ``"reasoning"``: the same under ``reasoning``, for servers that read
                  that name (OpenRouter's message schema).
                * ``"reasoning_details"``: the structured ``reasoning_details`` entries as
                  received (omitted if none): OpenRouter's way to keep reasoning blocks,
                  including their signatures, across a tool-call turn.

        Raises:
            ValueError: ``reasoning`` is not one of :data:`REASONING_POLICIES`.
        """
        if reasoning not in REASONING_POLICIES:
            raise ValueError(
                f"reasoning={reasoning!r} is not a policy; use one of {REASONING_POLICIES}"
            )
        data = self._data
        param: dict[str, Any] = {"role": "assistant"}
        content = self.content
        calls = [
            call for call in map(_tool_call_param, data.get("tool_calls") or ()) if call is not None
        ]
        function_call = data.get("function_call")
        if content is None and not calls and not isinstance(function_call, dict):
            content = ""
        param["content"] = content
        refusal = data.get("refusal")
        if isinstance(refusal, str) and refusal:
            param["refusal"] = refusal
        if calls:
            param["tool_calls"] = calls
        if isinstance(function_call, dict):
            param["function_call"] = {
                "name": function_call.get("name"),
                "arguments": function_call.get("arguments") or "",
            }
        audio = data.get("audio")
        if isinstance(audio, dict) and audio.get("id") is not None:
            param["audio"] = {"id": audio["id"]}
        if data.get("extra_content") is not None:
            param["extra_content"] = copy.deepcopy(data["extra_content"])
        if reasoning == "reasoning_content" or reasoning == "reasoning":
            param[reasoning] = self.reasoning_content or ""
        elif reasoning == "reasoning_details":
            details = data.get("reasoning_details")
            if isinstance(details, list) and details:
                param["reasoning_details"] = copy.deepcopy(details)
        return param


class Choice(_Record):
    """One choice of a rebuilt completion (API reference: ``chat.completion`` ``choices[]``).

    Attributes:
        index (int): which choice.
        message: the :class:`ChatCompletionMessage`.
        finish_reason (str | None): why generation stopped, as the server sent it;
            ``None`` if the stream ended before the choice finished. See
            :attr:`effective_finish_reason`.
        logprobs: a :class:`ChoiceLogprobs`, or ``None``.
    """

    __slots__ = ()
    _fields = frozenset({"index", "message", "finish_reason", "logprobs"})
    index: _Field[int] = _Field("index")
    finish_reason: _Field[str | None] = _Field("finish_reason")
    logprobs = _Nested("logprobs", ChoiceLogprobs)

    @property
    def message(self) -> ChatCompletionMessage:
        message = self._data.get("message")
        return ChatCompletionMessage(message if isinstance(message, dict) else {})

    @property
    def effective_finish_reason(self) -> str | None:
        """:attr:`finish_reason`, corrected to ``"tool_calls"`` on a turn that made tool calls.

        Gemini's OpenAI compatibility layer (streaming) and Ollama send ``"stop"`` on a
        turn whose message has tool calls, where OpenAI sends ``"tool_calls"``; a loop
        that runs the tools when ``finish_reason == "tool_calls"`` would stop there.
        LiteLLM applies the same correction. ``"stop"`` with a deprecated
        ``function_call`` reads ``"function_call"``. Every other value, including
        ``None`` (an unfinished choice), is returned as sent.
        """
        raw = self.finish_reason
        if raw == "stop":
            message = self._data.get("message")
            if isinstance(message, dict):
                if message.get("tool_calls"):
                    return "tool_calls"
                if message.get("function_call"):
                    return "function_call"
        return raw


class ChatCompletion(_Record):
    """A complete ``chat.completion`` (OpenAI API reference), e.g. rebuilt from chunks.

    :meth:`to_dict` gives the shape of OpenAI's non-streaming response;
    :meth:`to_openai` the openai SDK's own object.

    Attributes:
        id (str | None): the completion's id.
        object (str): ``"chat.completion"``.
        created (int | None): Unix time in seconds.
        model (str | None): the model that answered.
        system_fingerprint (str | None), service_tier (str | None): as sent.
        choices: the :class:`Choice` list, ordered by index.
        usage: the :class:`CompletionUsage`, or ``None`` if the server sent none.
    """

    __slots__ = ()
    _fields = frozenset(
        {
            "id",
            "object",
            "created",
            "model",
            "system_fingerprint",
            "service_tier",
            "choices",
            "usage",
        }
    )
    id: _Field[str | None] = _Field("id")
    object: _Field[str] = _Field("object")
    created: _Field[int | None] = _Field("created")
    model: _Field[str | None] = _Field("model")
    system_fingerprint: _Field[str | None] = _Field("system_fingerprint")
    service_tier: _Field[str | None] = _Field("service_tier")
    choices = _NestedList("choices", Choice, none_if_absent=False)
    usage = _Nested("usage", CompletionUsage)

    def to_openai(self) -> openai.types.chat.ChatCompletion:
        """This completion as the openai SDK's ``openai.types.chat.ChatCompletion``.

        ``openai`` is imported only when this is called. The SDK validates the result
        (``model_validate``); values it does not accept are replaced, and what was sent
        is kept beside them under ``native_<field>`` (the SDK keeps unknown fields,
        readable as attributes or in ``model_extra``), as OpenRouter names its
        ``native_finish_reason``:

        * ``finish_reason``: :attr:`Choice.effective_finish_reason`; a provider's own
          value mapped to the SDK's (``"end_turn"`` to ``"stop"``, ``"max_tokens"`` to
          ``"length"``, ``"tool_use"`` to ``"tool_calls"``, others to ``"stop"``), and
          ``None`` (the stream ended before the choice finished: the message is cut
          short) to ``"length"``;
        * ``service_tier`` outside the SDK's values (Groq's ``"on_demand"``): ``None``;
        * ``created`` missing (Bedrock, watsonx, vLLM through llama-stack): ``0``;
          ``id`` or ``model`` missing: ``""``;
        * ``usage`` without ``total_tokens``: the sum of the two counts; without one of
          those counts: ``None`` (moved aside);
        * tool calls: a missing ``id`` or name reads ``""``; a call of a type the SDK does
          not know is moved aside to the message's ``native_tool_calls``.

        Everything else, provider fields included, is passed on as sent. ``to_dict()``
        is never changed.

        Raises:
            ImportError: the ``openai`` package is not installed.
            pydantic.ValidationError: (a ``ValueError``) a field the rules above do not
                cover has a value the SDK rejects.
        """
        from ._openai import completion_to_openai

        completion: openai.types.chat.ChatCompletion = completion_to_openai(self._data)
        return completion
