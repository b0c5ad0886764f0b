"""ssestream.testing: test your streaming client against real recorded streams.

Replay recordings (``.sse`` bodies or ``.jsonl`` recordings with every network read
and its timing) through :class:`ReplayTransport`, the ``transport=`` of httpx and
httpx2 clients, sync and async, optionally re-split, paced or broken (cuts, resets,
stalls, a buffering proxy, error statuses). Record new ones with
:class:`RecordingTransport`. The pytest plugin (``ssestream.testing._plugin``,
registered automatically) adds the ``sse_recording`` marker and the ``sse_transport``,
``sse_client`` and ``sse_async_client`` fixtures. :func:`create_app` and
:func:`running_server` (or :func:`serve_forever`, in the foreground) serve recordings over
real sockets, with the faults of :data:`FAULTS` (they need the ``cli`` extra). This
package does not import pytest.

Its rooms: ``_recording`` (the format and the loader), ``_record`` (the recorder),
``_plan`` and ``_replay`` (the transport), ``_faults`` (the fault catalogue and the pure
planning of every served response), ``_server`` (the app and its limits), ``_plugin``.
Everything public is exported here, with the types the signatures use (:data:`Split`,
:data:`CutWith`, :data:`Match`, :data:`Pace`).

See ``docs/testing.md``.
"""

# The server of `ssestream serve`, for tests over real sockets. It imports Starlette and
# uvicorn (the cli extra) only when an app is built or run, so this package imports
# without them.
from ._faults import (
    AUTH_401,
    DEFAULT_EVENT_GAP,
    DEFAULT_FIRST_TOKEN_DELAY,
    FAULTS,
    HTML_PAGE_200,
    PARTIAL_BUFFER_BURSTS,
    Pace,
    decoded_exchange,
    no_events_reason,
)
from ._plan import (
    BAD_GATEWAY_502,
    RATE_LIMIT_429,
    SERVER_ERROR_500,
    CutWith,
    ErrorResponse,
    Split,
    is_responses_exchange,
)
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
from ._replay import Match, ReplayTransport, UnmatchedRequestError
from ._server import (
    DEFAULT_KEEP_ALIVE,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    INSTALL_CLI_EXTRA,
    MAX_REQUEST_HEAD_BYTES,
    create_app,
    running_server,
    serve_forever,
)

__all__ = [
    "AUTH_401",
    "BAD_GATEWAY_502",
    "DEFAULT_EVENT_GAP",
    "DEFAULT_FIRST_TOKEN_DELAY",
    "DEFAULT_KEEP_ALIVE",
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
    "FAULTS",
    "FORMAT_VERSION",
    "HTML_PAGE_200",
    "INSTALL_CLI_EXTRA",
    "MAX_REQUEST_HEAD_BYTES",
    "PARTIAL_BUFFER_BURSTS",
    "RATE_LIMIT_429",
    "REDACTED",
    "SERVER_ERROR_500",
    "CutWith",
    "ErrorResponse",
    "Exchange",
    "Match",
    "Pace",
    "Read",
    "RecordedError",
    "RecordedRequest",
    "Recording",
    "RecordingFormatError",
    "RecordingTransport",
    "RecordingWarning",
    "ReplayTransport",
    "Split",
    "UnmatchedRequestError",
    "create_app",
    "decoded_exchange",
    "is_responses_exchange",
    "load_recording",
    "no_events_reason",
    "running_server",
    "serve_forever",
]
