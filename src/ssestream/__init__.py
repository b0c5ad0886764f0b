"""ssestream: read the server-sent-event streams of OpenAI-compatible chat-completion APIs.

Four layers, each usable on its own:

* :class:`SSEDecoder` - sans-IO WHATWG event-stream decoder (bytes in, events out);
* :class:`ChatStream` / :class:`AsyncChatStream` - typed :class:`ChatCompletionChunk`
  iterators over an ``httpx``/``httpx2`` response or any byte source, with typed errors;
* :class:`ChatCompletionAccumulator` - folds chunks back into a :class:`ChatCompletion`;
* typed events (:class:`ContentDelta`, :class:`ToolCallDone`...) - ``stream.events()``
  or :class:`ChatEventBuilder`, routed by the accumulator;
* :class:`ResponseStream` / :class:`AsyncResponseStream` (over a
  :class:`ResponseStreamParser`) - the same for OpenAI Responses API streams: typed
  :class:`ResponseStreamEvent` s and the rebuilt :class:`Response`;
* :mod:`ssestream.testing` - record and replay streams to test clients.
"""

from .__about__ import __version__
from ._accumulator import ChatCompletionAccumulator
from ._decoder import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_LINE_BYTES, ServerSentEvent, SSEDecoder
from ._encoder import DONE, encode_chunk, encode_event, encode_response_event
from ._events import (
    ChatEventBuilder,
    ChatStreamEvent,
    ChoiceFinished,
    ChunkEvent,
    ContentDelta,
    ContentDone,
    LogprobsDelta,
    ReasoningDelta,
    ReasoningDone,
    RefusalDelta,
    RefusalDone,
    StreamEnded,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
    UsageReceived,
)
from ._exceptions import (
    APIStatusError,
    ChunkParseError,
    LimitExceededError,
    PartialJSONError,
    SSEStreamError,
    StreamAPIError,
    StreamInterruptedError,
    UnexpectedContentTypeError,
)
from ._parser import END, ERROR_BODY_BYTES, NEED_DATA, ChatStreamParser
from ._partial_json import PartialJSONParser
from ._relay import Relay, relay_headers
from ._responses_events import ResponseEventBuilder, StreamEvent
from ._responses_parser import ResponseMismatch, ResponseStreamParser
from ._responses_streams import (
    AsyncResponseStream,
    ResponseStream,
    aconnect_responses,
    connect_responses,
)
from ._responses_types import (
    Response,
    ResponseAnnotationEvent,
    ResponseContentPart,
    ResponseContentPartEvent,
    ResponseErrorEvent,
    ResponseLifecycleEvent,
    ResponseOutputItem,
    ResponseOutputItemEvent,
    ResponseStreamEvent,
    ResponseSummaryPartEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
    looks_like_responses_event,
)
from ._streams import (
    AsyncChatStream,
    ChatStream,
    aconnect_chat,
    aiter_events,
    connect_chat,
    iter_events,
)
from ._think import ThinkTags, ThinkTagSplitter
from ._timings import StreamTimings
from ._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDelta,
    ChoiceDeltaFunctionCall,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallCustom,
    ChoiceDeltaToolCallFunction,
    ChoiceLogprobs,
    ChunkChoice,
    CompletionUsage,
    Custom,
    Function,
    FunctionCall,
    TokenLogprob,
)

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MAX_LINE_BYTES",
    "DONE",
    "END",
    "ERROR_BODY_BYTES",
    "NEED_DATA",
    "APIStatusError",
    "AsyncChatStream",
    "AsyncResponseStream",
    "ChatCompletion",
    "ChatCompletionAccumulator",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "ChatEventBuilder",
    "ChatStream",
    "ChatStreamEvent",
    "ChatStreamParser",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaFunctionCall",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallCustom",
    "ChoiceDeltaToolCallFunction",
    "ChoiceFinished",
    "ChoiceLogprobs",
    "ChunkChoice",
    "ChunkEvent",
    "ChunkParseError",
    "CompletionUsage",
    "ContentDelta",
    "ContentDone",
    "Custom",
    "Function",
    "FunctionCall",
    "LimitExceededError",
    "LogprobsDelta",
    "PartialJSONError",
    "PartialJSONParser",
    "ReasoningDelta",
    "ReasoningDone",
    "RefusalDelta",
    "RefusalDone",
    "Relay",
    "Response",
    "ResponseAnnotationEvent",
    "ResponseContentPart",
    "ResponseContentPartEvent",
    "ResponseErrorEvent",
    "ResponseEventBuilder",
    "ResponseLifecycleEvent",
    "ResponseMismatch",
    "ResponseOutputItem",
    "ResponseOutputItemEvent",
    "ResponseStream",
    "ResponseStreamEvent",
    "ResponseStreamParser",
    "ResponseSummaryPartEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseUsage",
    "SSEDecoder",
    "SSEStreamError",
    "ServerSentEvent",
    "StreamAPIError",
    "StreamEnded",
    "StreamEvent",
    "StreamInterruptedError",
    "StreamTimings",
    "ThinkTagSplitter",
    "ThinkTags",
    "TokenLogprob",
    "ToolCallArgumentsDelta",
    "ToolCallDone",
    "ToolCallStarted",
    "UnexpectedContentTypeError",
    "UsageReceived",
    "__version__",
    "aconnect_chat",
    "aconnect_responses",
    "aiter_events",
    "connect_chat",
    "connect_responses",
    "encode_chunk",
    "encode_event",
    "encode_response_event",
    "iter_events",
    "looks_like_responses_event",
    "relay_headers",
]
