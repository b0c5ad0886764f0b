"""ssestream: read the server-sent-event streams of OpenAI-compatible chat-completion APIs.

Four layers, each usable on its own:

* :class:`SSEDecoder` - sans-IO WHATWG event-stream decoder (bytes in, events out);
* :class:`ChatStream` / :class:`AsyncChatStream` - typed :class:`ChatCompletionChunk`
  iterators over an ``httpx``/``httpx2`` response or any byte source, with typed errors;
* :class:`ChatCompletionAccumulator` - folds chunks back into a :class:`ChatCompletion`;
* :mod:`ssestream.testing` - record and replay streams to test clients.
"""

from .__about__ import __version__
from ._accumulator import ChatCompletionAccumulator
from ._decoder import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_LINE_BYTES, ServerSentEvent, SSEDecoder
from ._encoder import DONE, encode_chunk, encode_event
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
from ._streams import (
    AsyncChatStream,
    ChatStream,
    aconnect_chat,
    aiter_events,
    connect_chat,
    iter_events,
)
from ._think import ThinkTags, ThinkTagSplitter
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
    "ChatCompletion",
    "ChatCompletionAccumulator",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "ChatStream",
    "ChatStreamParser",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaFunctionCall",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallCustom",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "ChunkParseError",
    "CompletionUsage",
    "Custom",
    "Function",
    "FunctionCall",
    "LimitExceededError",
    "PartialJSONError",
    "PartialJSONParser",
    "Relay",
    "SSEDecoder",
    "SSEStreamError",
    "ServerSentEvent",
    "StreamAPIError",
    "StreamInterruptedError",
    "ThinkTagSplitter",
    "ThinkTags",
    "TokenLogprob",
    "UnexpectedContentTypeError",
    "__version__",
    "aconnect_chat",
    "aiter_events",
    "connect_chat",
    "encode_chunk",
    "encode_event",
    "iter_events",
    "relay_headers",
]
