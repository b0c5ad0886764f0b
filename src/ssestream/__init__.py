"""ssestream: read the server-sent-event streams of OpenAI-compatible chat-completion APIs."""

from .__about__ import __version__
from ._decoder import SSEDecoder, ServerSentEvent
from ._exceptions import (
    APIStatusError,
    ChunkParseError,
    LimitExceededError,
    SSEStreamError,
    StreamAPIError,
    StreamInterruptedError,
    UnexpectedContentTypeError,
)

__all__ = [
    "APIStatusError",
    "ChunkParseError",
    "LimitExceededError",
    "SSEDecoder",
    "SSEStreamError",
    "ServerSentEvent",
    "StreamAPIError",
    "StreamInterruptedError",
    "UnexpectedContentTypeError",
    "__version__",
]
