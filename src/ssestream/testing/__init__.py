"""ssestream.testing: test your streaming client against real recorded streams.

Replay recordings (``.sse`` bodies or ``.jsonl`` recordings with every network read
and its timing) through :class:`ReplayTransport`, the ``transport=`` of httpx and
httpx2 clients, sync and async, optionally re-split, paced or broken (cuts, resets,
stalls, a buffering proxy, error statuses). Record new ones with
:class:`RecordingTransport`. The pytest plugin (``ssestream.testing._plugin``,
registered automatically) adds the ``sse_recording`` marker and the ``sse_transport``,
``sse_client`` and ``sse_async_client`` fixtures. :func:`create_app` and
:func:`running_server` serve recordings over real loopback sockets, with the faults of
``ssestream serve`` (they need the ``cli`` extra). This package does not import pytest.

See ``docs/testing.md``.
"""

# The server of `ssestream serve`, for tests over real sockets. It imports Starlette and
# uvicorn (the cli extra) only when an app is built or run, so this package imports
# without them.
from ._plan import BAD_GATEWAY_502, RATE_LIMIT_429, SERVER_ERROR_500, ErrorResponse
from ._record import RecordingTransport, RecordingWarning
from ._recording import (
    FORMAT_VERSION,
    REDACTED,
    Exchange,
    Read,
    RecordedError,
    RecordedRequest,
    Recording,
    RecordingFormatError,
    load_recording,
)
from ._replay import ReplayTransport, UnmatchedRequestError
from ._server import create_app, running_server

__all__ = [
    "BAD_GATEWAY_502",
    "FORMAT_VERSION",
    "RATE_LIMIT_429",
    "REDACTED",
    "SERVER_ERROR_500",
    "ErrorResponse",
    "Exchange",
    "Read",
    "RecordedError",
    "RecordedRequest",
    "Recording",
    "RecordingFormatError",
    "RecordingTransport",
    "RecordingWarning",
    "ReplayTransport",
    "UnmatchedRequestError",
    "create_app",
    "load_recording",
    "running_server",
]
