"""What a replayed response does, decided before it is served: a pure core, no I/O.

:func:`make_plan` turns one recorded :class:`Exchange` and the replay options into a
:class:`Plan`: the status and headers, each read's bytes and the time (seconds since the
request) it is due, and how the body ends (clean EOF, a transport error, or a stall).
The transport's sync and async streams only wait until each due time and yield.

The steps, in order: replace the response (status presets), drop the content type,
drop ``data: [DONE]``, cut or stall, re-split, schedule (pacing), buffer. A body is kept
as a list of ``(t, bytes)`` pieces, ``t`` being the recorded arrival time; a re-split
piece takes the time of the read that brought its last byte, since no byte can be
delivered before it arrived. Events are found with :class:`ssestream.SSEDecoder` fed
one line at a time, so an event's end offset is exact; nothing here parses SSE itself.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from .._decoder import SSEDecoder
from .._responses_types import looks_like_responses_event
from ._recording import Exchange, Headers, RecordedError

__all__ = [
    "BAD_GATEWAY_502",
    "RANDOM_MAX_READ",
    "RATE_LIMIT_429",
    "SERVER_ERROR_500",
    "CutWith",
    "ErrorResponse",
    "Options",
    "Plan",
    "Split",
    "event_ends",
    "event_payload",
    "is_responses_exchange",
    "make_plan",
]

Split = Literal["recorded", "whole", "bytes", "random"] | int
"""How a replayed body is cut into reads (``ReplayTransport(split=...)``): ``"recorded"``
(the recorded reads), ``"whole"`` (one read), ``"bytes"`` (one byte a read), ``"random"``
(sizes drawn from 1 to :data:`RANDOM_MAX_READ`), or a read size in bytes."""

CutWith = Literal["eof", "reset", "incomplete"]
"""How a cut stream ends (``cut_with=``): ``"eof"`` (a clean end), ``"reset"`` (the
connection reset: ``ReadError``) or ``"incomplete"`` (a chunked body without its last
chunk: ``RemoteProtocolError``)."""

RANDOM_MAX_READ = 64
"""``split="random"`` draws each read's size uniformly from 1 to this many bytes."""

_CUT_ERRORS: dict[str, RecordedError | None] = {
    "eof": None,
    # What httpx/httpx2 raise when the socket is reset (errno 104 on Linux) ...
    "reset": RecordedError(type="ReadError", message="[Errno 104] Connection reset by peer"),
    # ... and when a chunked body ends without its last chunk (h11's message).
    "incomplete": RecordedError(
        type="RemoteProtocolError",
        message="peer closed connection without sending complete message body "
        "(incomplete chunked read)",
    ),
}


Piece = tuple[float, bytes]


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorResponse:
    """A response that replaces the recorded one (``replace_response=``): an API error.

    Ready-made: :data:`RATE_LIMIT_429`, :data:`SERVER_ERROR_500` (OpenAI error JSON)
    and :data:`BAD_GATEWAY_502` (a proxy's HTML page). Build others with
    :meth:`openai` or :meth:`html`, or directly.

    Attributes:
        status_code: the HTTP status.
        headers: ``(name, value)`` pairs, names lower case.
        body: the whole body, delivered as one read (re-split by ``split=``).
    """

    status_code: int
    headers: Headers
    body: bytes

    @classmethod
    def openai(
        cls,
        status_code: int,
        message: str,
        *,
        error_type: str,
        param: str | None = None,
        code: str | None = None,
    ) -> ErrorResponse:
        """An OpenAI-style error: ``{"error": {"message", "type", "param", "code"}}``.

        The shape is the OpenAI API reference's ("Error codes"), sent as
        ``application/json``.
        """
        body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
        return cls(
            status_code=status_code,
            headers=(("content-type", "application/json"),),
            body=json.dumps(body, indent=4).encode() + b"\n",
        )

    @classmethod
    def html(cls, status_code: int, page: str) -> ErrorResponse:
        """An HTML page (``text/html``), as a proxy or load balancer sends."""
        return cls(
            status_code=status_code,
            headers=(("content-type", "text/html"),),
            body=page.encode("utf-8"),
        )


RATE_LIMIT_429 = ErrorResponse.openai(
    429,
    "Rate limit reached for gpt-4o in organization org-test on tokens per min (TPM): "
    "Limit 30000, Used 30000, Requested 1200. Please try again in 2.4s. Visit "
    "https://platform.openai.com/account/rate-limits to learn more.",
    error_type="tokens",
    code="rate_limit_exceeded",
)
"""429 with OpenAI's rate-limit error JSON (type ``tokens``, code ``rate_limit_exceeded``)."""

SERVER_ERROR_500 = ErrorResponse.openai(
    500,
    "The server had an error while processing your request. Sorry about that!",
    error_type="server_error",
)
"""500 with OpenAI's server-error JSON (type ``server_error``, code ``null``)."""

BAD_GATEWAY_502 = ErrorResponse.html(
    502,
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n",
)
"""502 with the HTML page a proxy (here Cloudflare's) sends when the upstream fails."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """The replay options of :class:`ReplayTransport`, checked once (see its docstring)."""

    split: Split = "recorded"
    seed: int = 0
    speed: float | None = None
    first_byte: float | None = None
    gap: float | None = None
    cut_after_bytes: int | None = None
    cut_after_events: int | None = None
    cut_with: CutWith = "eof"
    stall_after_bytes: int | None = None
    stall_after_events: int | None = None
    buffered: bool = False
    replace_response: ErrorResponse | None = None
    drop_done: bool = False
    drop_content_type: bool = False
    faults_on: Collection[int] | None = None

    def __post_init__(self) -> None:
        split = self.split
        if isinstance(split, bool) or not (
            (isinstance(split, int) and split > 0)
            or split in ("recorded", "whole", "bytes", "random")
        ):
            raise ValueError(
                f"split={split!r}: expected 'recorded', 'whole', 'bytes', 'random' or a "
                "read size in bytes > 0"
            )
        if self.speed is not None:
            if not (math.isfinite(self.speed) and self.speed > 0):
                raise ValueError(f"speed={self.speed!r}: expected a factor > 0")
            if self.first_byte is not None or self.gap is not None:
                raise ValueError("give speed= (recorded timing) or first_byte=/gap=, not both")
        for name in ("first_byte", "gap"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}={value!r}: expected seconds >= 0")
        counts = {
            name: getattr(self, name)
            for name in (
                "cut_after_bytes",
                "cut_after_events",
                "stall_after_bytes",
                "stall_after_events",
            )
            if getattr(self, name) is not None
        }
        if len(counts) > 1:
            raise ValueError(f"give one of {', '.join(counts)}, not several")
        for name, value in counts.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}={value!r}: expected an integer >= 0")
        if self.cut_with not in _CUT_ERRORS:
            raise ValueError(f"cut_with={self.cut_with!r}: expected 'eof', 'reset' or 'incomplete'")
        if self.replace_response is not None and not isinstance(
            self.replace_response, ErrorResponse
        ):
            raise TypeError("replace_response must be an ErrorResponse (e.g. RATE_LIMIT_429)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """How one response is served.

    Attributes:
        status_code, headers: the response's status and headers.
        headers_at: when the headers are due, in seconds since the request.
        reads: each read's bytes, in order.
        due: when each read is due, in seconds since the request (never decreasing),
            or ``None`` when nothing is paced (every read is due at once).
        end_at: when the end (EOF, error or stall) is due, seconds since the request.
        error: the transport error to raise at the end, or ``None``.
        stall: ``True`` when, after the reads, the next read never comes.
    """

    status_code: int
    headers: Headers
    headers_at: float
    reads: tuple[bytes, ...]
    due: tuple[float, ...] | None
    end_at: float
    error: RecordedError | None
    stall: bool


def event_ends(body: bytes) -> list[tuple[int, str]]:
    """Return ``(end, data)`` for each event of ``body``, ``end`` being the byte offset
    just past the blank line that dispatched it (CRLF included): the decoder's own
    :meth:`~ssestream.SSEDecoder.feed_positions`, not a second line splitter."""
    decoder = SSEDecoder(max_line_bytes=None, max_event_bytes=None)
    return [(end, event.data) for end, event in decoder.feed_positions(body)]


def event_payload(data: str | None) -> dict[str, Any] | None:
    """An event's data as a JSON object, or ``None`` (not JSON, not an object, ``[DONE]``)."""
    if data is None or not data.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


_SNIFF_BYTES = 65536  # how much of a body is_responses_exchange reads


def is_responses_exchange(exchange: Exchange) -> bool:
    """Whether ``exchange`` is an OpenAI Responses API exchange, not a chat completion.

    By the request's path when it was recorded (``.../responses``), else (a ``.sse``
    file) by the first event of the body that carries a JSON object, as
    :func:`ssestream.looks_like_responses_event` reads it: an ``event:`` name starting
    with ``response.`` (OpenAI, Azure), or a data-only event whose ``type`` does
    (OpenRouter). Reads at most the first 64 KiB of the body.
    """
    request = exchange.request
    if request is not None:
        path = request.path.split("?", 1)[0].rstrip("/")
        if path.endswith("/responses"):
            return True
        if path.endswith("/chat/completions"):
            return False
    decoder = SSEDecoder(max_line_bytes=None, max_event_bytes=None)
    for event in decoder.feed(exchange.body[:_SNIFF_BYTES]):
        payload = event_payload(event.data)
        if looks_like_responses_event(event, payload):
            return True
        if payload is not None:
            return False
    return False


def _remove(pieces: list[Piece], start: int, stop: int) -> list[Piece]:
    """Remove the bytes ``[start, stop)``, keeping every other byte in its own read."""
    kept: list[Piece] = []
    pos = 0
    for t, data in pieces:
        end = pos + len(data)
        if end > start and pos < stop:
            data = data[: max(0, start - pos)] + data[max(0, stop - pos) :]
        if data:
            kept.append((t, data))
        pos = end
    return kept


def _time_at(pieces: list[Piece], offset: int) -> float | None:
    """The arrival time of the read holding byte ``offset``, ``None`` past the end."""
    pos = 0
    for t, data in pieces:
        pos += len(data)
        if offset < pos:
            return t
    return None


def _resplit(pieces: list[Piece], split: Split, rng: random.Random) -> list[Piece]:
    """Cut the body into reads of the sizes ``split`` asks; each read takes the
    arrival time of its last byte."""
    body = b"".join(data for _, data in pieces)
    total = len(body)
    if split == "whole":
        return [(pieces[-1][0], body)]
    if split == "random":
        sizes = range(1, RANDOM_MAX_READ + 1)
        starts = [0]
        while starts[-1] < total:  # draw in batches: choices() is cheaper than randint()
            batch = rng.choices(sizes, k=(total - starts[-1]) // RANDOM_MAX_READ + 1)
            starts.extend(itertools.accumulate(batch, initial=starts[-1]))
            starts.pop(-len(batch) - 1)  # accumulate() repeats its initial value
        while starts[-1] >= total:
            starts.pop()
    else:
        starts = list(range(0, total, 1 if split == "bytes" else int(split)))
    ends = [*starts[1:], total]
    chunks = [body[start:end] for start, end in zip(starts, ends, strict=True)]
    if all(t == pieces[0][0] for t, _ in pieces):  # one arrival time: nothing to look up
        return [(pieces[0][0], chunk) for chunk in chunks]
    times = []
    index, piece_end = 0, len(pieces[0][1])
    for end in ends:
        while piece_end < end:  # the piece that holds byte end - 1
            index += 1
            piece_end += len(pieces[index][1])
        times.append(pieces[index][0])
    return list(zip(times, chunks, strict=True))


def _cut_offset(body: bytes, after_bytes: int | None, after_events: int | None) -> int | None:
    if after_bytes is not None:
        if after_bytes > len(body):
            raise ValueError(f"the body has only {len(body)} bytes, not {after_bytes}")
        return after_bytes
    if after_events is not None:
        if after_events == 0:
            return 0
        ends = event_ends(body)
        if after_events > len(ends):
            raise ValueError(f"the body has only {len(ends)} events, not {after_events}")
        return ends[after_events - 1][0]
    return None


def _check_identity(headers: Headers, what: str) -> None:
    for name, value in headers:
        if name.lower() == "content-encoding" and value.strip().lower() not in ("", "identity"):
            raise ValueError(f"{what} needs events, but the body is {value}-encoded")


def make_plan(exchange: Exchange, options: Options, rng: random.Random, *, faults: bool) -> Plan:
    """Decide how ``exchange`` is served under ``options``.

    ``faults`` says whether the faults (everything but ``split`` and pacing) apply to
    this exchange (``faults_on``). ``rng`` draws the random splits.

    Raises:
        ValueError: a cut or stall asks for more bytes or events than the body has,
            events are needed but the body is compressed, or ``drop_done`` is asked of
            a Responses API stream that has no ``[DONE]``.
    """
    status, headers = exchange.status_code, exchange.headers
    response_t, end_t, error = exchange.response_t, exchange.end_t, exchange.error
    pieces: list[Piece] = [(read.t, read.data) for read in exchange.reads if read.data]
    stall = False
    o = options
    if faults:
        if o.replace_response is not None:
            status, headers = o.replace_response.status_code, o.replace_response.headers
            body = o.replace_response.body
            pieces, end_t, error = ([(response_t, body)] if body else []), response_t, None
        if o.drop_content_type:
            headers = tuple((k, v) for k, v in headers if k.lower() != "content-type")
        if o.drop_done:
            _check_identity(headers, "drop_done")
            body = b"".join(data for _, data in pieces)
            start = 0
            dropped = 0
            for end, data in event_ends(body):
                if data == "[DONE]":
                    pieces = _remove(pieces, start - dropped, end - dropped)
                    dropped += end - start
                start = end
            if not dropped and o.replace_response is None and is_responses_exchange(exchange):
                raise ValueError(
                    "drop_done: this OpenAI Responses API stream has no `data: [DONE]` to "
                    "drop (the API ends its streams with response.completed, not [DONE]); "
                    "to end it without its terminal event, use cut_after_events"
                )
        if o.cut_after_events is not None or o.stall_after_events is not None:
            _check_identity(headers, "cut/stall_after_events")
        body = b"".join(data for _, data in pieces)
        for after_bytes, after_events, stalls in (
            (o.cut_after_bytes, o.cut_after_events, False),
            (o.stall_after_bytes, o.stall_after_events, True),
        ):
            offset = _cut_offset(body, after_bytes, after_events)
            if offset is None:
                continue
            cut_t = _time_at(pieces, offset)
            pieces = _remove(pieces, offset, len(body))
            if stalls:
                stall, error = True, None
            else:
                error = _CUT_ERRORS[o.cut_with]
                if cut_t is not None:
                    end_t = cut_t
    if o.split != "recorded" and pieces:
        pieces = _resplit(pieces, o.split, rng)

    # Pacing: map recorded times to due times.
    reads = [data for _, data in pieces]
    due: list[float] | None
    if o.speed is not None:
        headers_at = response_t / o.speed
        due = [t / o.speed for t, _ in pieces]
        end_at = max(end_t / o.speed, due[-1] if due else 0.0)
    elif o.first_byte is not None or o.gap is not None:
        headers_at = o.first_byte or 0.0
        due = [headers_at + i * (o.gap or 0.0) for i in range(len(pieces))]
        end_at = due[-1] if due else headers_at
    else:
        headers_at, end_at, due = 0.0, 0.0, None
    if faults and o.buffered and reads:
        # A buffering proxy: nothing until the upstream is done, then everything.
        reads = [b"".join(reads)]
        due = None if due is None else [end_at]
    return Plan(
        status_code=status,
        headers=headers,
        headers_at=headers_at,
        reads=tuple(reads),
        due=None if due is None else tuple(due),
        end_at=end_at,
        error=error,
        stall=stall,
    )
