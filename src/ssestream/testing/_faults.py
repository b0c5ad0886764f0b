"""The fault catalogue of ``ssestream serve``, and the pure planning of every response.

Strategy: everything a response will do is decided before anything is served, as a
:class:`~ssestream.testing._plan.Plan` per recorded exchange and per kind of request
(streaming or not), by :class:`Catalog`. The plans come from
:func:`ssestream.testing._plan.make_plan` (pacing, cuts, resets, stalls, buffering, error
presets, ``[DONE]`` and ``Content-Type`` removal); the faults it does not know are pure
transformations here, of the exchange before planning (malformed chunks, usage removal, an
error event, a JSON answer) or of the plan after it (gzip, bursts, a late first token).
The faults that write into the stream have a chat form and a Responses API form (the
``error`` event and ``response.failed`` of the OpenAI API reference, the terminal event
for ``[DONE]``...), chosen by :func:`is_responses_exchange`.

Invariants: a plan's times are seconds since the request arrived and never decrease; an
exchange whose body had a ``Content-Encoding`` is decoded first, read by read; a ``.sse``
recording, which has no timing, gets one read per event, ``event_gap`` seconds apart.
No I/O and no web framework here: the app that serves the plans is ``_server``.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import json
import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._encoder import encode_chunk, encode_event
from .._exceptions import SSEStreamError, StreamAPIError
from .._http import body_decoder, media_type
from .._responses_parser import OUTPUT_DELTAS
from .._responses_streams import ResponseStream
from .._responses_types import Response
from .._streams import ChatStream
from .._timings import chunk_output
from .._types import ChatCompletion
from ._plan import (
    BAD_GATEWAY_502,
    RATE_LIMIT_429,
    SERVER_ERROR_500,
    ErrorResponse,
    Options,
    Plan,
    event_ends,
    event_payload,
    is_responses_exchange,
    make_plan,
)
from ._recording import Exchange, Read, Recording

__all__ = [
    "AUTH_401",
    "DEFAULT_EVENT_GAP",
    "DEFAULT_FIRST_TOKEN_DELAY",
    "FAULTS",
    "HTML_PAGE_200",
    "PARTIAL_BUFFER_BURSTS",
    "Catalog",
    "Pace",
    "decoded_exchange",
    "longest_silence",
    "no_events_reason",
    "timed_reads",
]

Pace = Literal["recorded", "none"] | float
"""``"recorded"``: the recorded timing; ``"none"``: as fast as possible; a number: the
recorded timing divided by it (``2.0`` = twice as fast)."""

DEFAULT_EVENT_GAP = 0.02
"""Seconds between two events of a recording without timing (a ``.sse`` body)."""

DEFAULT_FIRST_TOKEN_DELAY = 2.0
"""Seconds by which ``--fault slow-first-token`` delays the first chunk with text."""

PARTIAL_BUFFER_BURSTS = 4
"""``--fault partial-buffer`` releases the body in this many bursts, one per equal slice
of the stream's duration."""

FAULTS: dict[str, str] = {
    "none": "healthy streaming (the default)",
    "buffer": "a buffering proxy: the whole body in one piece at the end, after the "
    "total recorded time",
    "partial-buffer": f"a proxy that buffers in bursts: the reads held back and released "
    f"in {PARTIAL_BUFFER_BURSTS} bursts, one at the end of each "
    f"1/{PARTIAL_BUFFER_BURSTS} of the stream's duration",
    "gzip": "Content-Encoding: gzip with one gzip stream and no flush, so the compressor "
    "holds the body back: a 10-byte gzip header, then everything at the end (or in large "
    "blocks for a large body)",
    "not-streamed": 'the server ignores "stream": true and answers the plain JSON chat.completion',
    "malformed": "one chunk loses its 'choices' (a Responses stream: one delta event its "
    "'delta'), a later one has its data cut in half (not JSON); the rest is unchanged",
    "no-done": "no 'data: [DONE]' at the end (a Responses stream: no terminal event, "
    "response.completed or response.incomplete, nor [DONE])",
    "no-usage": "every 'usage' field removed, usage-only chunks dropped (a Responses "
    "stream: the 'usage' of every event's response)",
    "slow-first-token": "the first chunk with text (content, reasoning, refusal) or a tool "
    "call comes --first-token-delay seconds late",
    "error-in-stream": "after a few chunks, a 'data: {\"error\": ...}' event "
    "(type server_error), then the end without [DONE] (a Responses stream: after a few "
    "output deltas, an 'error' event and 'response.failed')",
    "html": "200 text/html: a web page (a web UI or a proxy's sign-in page)",
    "429": "429 with OpenAI's rate-limit error JSON",
    "500": "500 with OpenAI's server-error JSON",
    "502": "502 with a proxy's HTML page (Cloudflare)",
    "auth": "401 with OpenAI's invalid-API-key error JSON, for every request (/v1/models included)",
    "cut": "the body ends cleanly after half of its events",
    "reset": "the connection is closed after half of the events, without the chunked "
    "body's last chunk",
    "stall": "after half of the events, nothing more is sent until the client gives up",
    "no-content-type": "no Content-Type header",
}
"""The fault names of ``--fault`` (a contract with ``ssestream check``), with what each does."""

AUTH_401 = ErrorResponse.openai(
    401,
    "Incorrect API key provided: sk-****. You can find your API key at "
    "https://platform.openai.com/account/api-keys.",
    error_type="invalid_request_error",
    code="invalid_api_key",
)
"""401 with OpenAI's error JSON for a wrong key (type ``invalid_request_error``, code
``invalid_api_key``), as ``--fault auth`` sends."""

HTML_PAGE_200 = ErrorResponse.html(
    200,
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    "<title>Sign in</title>\n</head>\n<body>\n<h1>Sign in to continue</h1>\n"
    '<form method="post" action="/login"><input name="password" type="password">'
    "<button>Sign in</button></form>\n</body>\n</html>\n",
)
"""200 ``text/html``: the sign-in page of a web UI or proxy, as ``--fault html`` sends."""

_REPLACEMENTS: dict[str, ErrorResponse] = {
    "html": HTML_PAGE_200,
    "429": RATE_LIMIT_429,
    "500": SERVER_ERROR_500,
    "502": BAD_GATEWAY_502,
    "auth": AUTH_401,
}
_EVENT_FAULTS = frozenset({"cut", "reset", "stall"})

# The shape OpenAI sends mid-stream (see the bundled openai-gpt-4.1-midstream-error.sse).
_STREAM_ERROR = {
    "error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
    }
}
_STREAM_ERROR_AFTER = 3  # chunks (Responses: output deltas) before the error, at most
_TERMINAL_OK = frozenset({"response.completed", "response.incomplete"})

# Response headers that describe the recorded connection, not the body: never replayed.
_CONNECTION_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "date",
        "keep-alive",
        "server",
        "transfer-encoding",
        "upgrade",
    }
)
_BOM = b"\xef\xbb\xbf"


# --- Preparing an exchange -------------------------------------------------------------


def decoded_exchange(exchange: Exchange) -> Exchange:
    """Return ``exchange`` with its body's ``Content-Encoding`` undone, read by read.

    Each read keeps its time; a read that decodes to nothing is dropped. The
    ``content-encoding`` and ``content-length`` headers are removed. An exchange without
    an encoding (or with ``identity``) is returned as is. ``gzip``, ``x-gzip`` and
    ``deflate`` (zlib-wrapped or raw) are undone by :func:`ssestream._http.body_decoder`,
    the decoder the probe of ``ssestream check`` uses: the encodings httpx asks for
    without extra packages.

    Raises:
        ValueError: another encoding (``br``, ``zstd``...), several, or a corrupt body.
    """
    encodings = [
        part.strip().lower()
        for name, value in exchange.headers
        if name.lower() == "content-encoding"
        for part in value.split(",")
        if part.strip().lower() not in ("", "identity")
    ]
    if not encodings:
        return exchange
    decompressor = body_decoder(encodings[0]) if len(encodings) == 1 else None
    if decompressor is None:
        raise ValueError(f"cannot undo the content-encoding {', '.join(encodings)}")
    reads: list[Read] = []
    try:
        for read in exchange.reads:
            data = decompressor.decompress(read.data)
            if data:
                reads.append(Read(t=read.t, data=data))
        rest = decompressor.flush()
    except zlib.error as exc:
        raise ValueError(f"the {encodings[0]} body is corrupt: {exc}") from None
    if rest:
        reads.append(Read(t=exchange.reads[-1].t if exchange.reads else 0.0, data=rest))
    headers = tuple(
        (name, value)
        for name, value in exchange.headers
        if name.lower() not in ("content-encoding", "content-length")
    )
    return dataclasses.replace(exchange, headers=headers, reads=tuple(reads))


def no_events_reason(exchange: Exchange) -> str | None:
    """Why ``exchange`` cannot be an event stream to replay, or ``None`` if it can.

    A 200 response labelled ``text/event-stream`` (a ``.sse`` file is) must hold at least
    one event, or be a JSON body (a provider that ignored ``stream: true``); anything else
    (a README, an HTML page saved as ``.sse``) is "no server-sent events found". Other
    statuses and content types are replayed as recorded.
    """
    media = next(
        (media_type(value) for name, value in exchange.headers if name.lower() == "content-type"),
        "",
    )
    if exchange.status_code != 200 or media not in ("", "text/event-stream"):
        return None
    body = exchange.body
    if body.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"{") or event_ends(body):
        return None
    return "no server-sent events found (expected `data:` lines, each event ending in a blank line)"


def _untimed(exchange: Exchange) -> bool:
    """Whether the exchange carries no timing at all (a ``.sse`` body: everything at 0)."""
    return (
        exchange.response_t == 0
        and exchange.end_t == 0
        and all(read.t == 0 for read in exchange.reads)
    )


@dataclass(frozen=True, slots=True)
class _Segment:
    """A slice of the body: one event (through its blank line) or the bytes after the
    last event (``data`` is then ``None``). ``t``: the arrival of its last byte."""

    t: float
    raw: bytes
    data: str | None


def _segments(exchange: Exchange) -> list[_Segment]:
    body = exchange.body
    read_ends: list[int] = []
    times: list[float] = []
    pos = 0
    for read in exchange.reads:
        pos += len(read.data)
        read_ends.append(pos)
        times.append(read.t)

    def time_of(offset: int) -> float:  # the arrival of byte ``offset``
        return times[bisect.bisect_right(read_ends, offset)]

    segments: list[_Segment] = []
    start = 0
    for end, data in event_ends(body):
        segments.append(_Segment(time_of(end - 1), body[start:end], data))
        start = end
    if start < len(body):
        segments.append(_Segment(time_of(len(body) - 1), body[start:], None))
    return segments


def _from_segments(
    exchange: Exchange, segments: Sequence[_Segment], *, end_t: float | None = None
) -> Exchange:
    """The exchange with one read per segment (the body re-split at event ends)."""
    reads = tuple(Read(t=s.t, data=s.raw) for s in segments if s.raw)
    end = exchange.end_t if end_t is None else end_t
    if reads:
        end = max(end, reads[-1].t)
    return dataclasses.replace(exchange, reads=reads, end_t=end)


def _retimed(exchange: Exchange, gap: float) -> Exchange:
    """One read per event, ``gap`` seconds apart from t=0: timing for a ``.sse`` body."""
    segments = [
        dataclasses.replace(segment, t=number * gap)
        for number, segment in enumerate(_segments(exchange))
    ]
    return _from_segments(exchange, segments, end_t=0.0)


def _is_chunk(data: str | None) -> bool:
    payload = event_payload(data)
    return payload is not None and isinstance(payload.get("choices"), list)


def _dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _with_data(segment: _Segment, data: str) -> _Segment:
    """The segment with its ``data:`` lines replaced by ``data``; other lines kept."""
    lines: list[bytes] = []
    placed = False
    for line in segment.raw.splitlines(keepends=True):
        field = line.rstrip(b"\r\n").removeprefix(_BOM)
        if field == b"data" or field.startswith(b"data:"):
            if not placed:
                # the event's data lines, as the public encoder writes them: all of its
                # bytes but the blank line that would end the event here
                lines.append(encode_event(data)[:-1])
                placed = True
            continue
        lines.append(line)
    return _Segment(segment.t, b"".join(lines), data)


# --- Faults on the exchange (pure) ----------------------------------------------------


def _malformed(exchange: Exchange) -> Exchange:
    """One chunk loses ``choices``; a later one has its data cut in half (not JSON)."""
    segments = _segments(exchange)
    chunks = [i for i, segment in enumerate(segments) if _is_chunk(segment.data)]
    if not chunks:
        return exchange
    if len(chunks) >= 2:
        index = chunks[len(chunks) // 3]
        payload = event_payload(segments[index].data)
        assert payload is not None
        del payload["choices"]
        segments[index] = _with_data(segments[index], _dumps(payload))
    index = chunks[2 * len(chunks) // 3]
    data = segments[index].data or ""
    segments[index] = _with_data(segments[index], data[: max(1, len(data) // 2)])
    return _from_segments(exchange, segments)


def _no_usage(exchange: Exchange) -> Exchange:
    """Remove every ``usage`` field; drop the chunks that carried only usage."""
    kept: list[_Segment] = []
    for segment in _segments(exchange):
        payload = event_payload(segment.data)
        if payload is None or "usage" not in payload:
            kept.append(segment)
            continue
        usage = payload.pop("usage")
        if usage is not None and not payload.get("choices"):
            continue  # a usage-only chunk
        kept.append(_with_data(segment, _dumps(payload)))
    return _from_segments(exchange, kept)


def _error_in_stream(exchange: Exchange) -> Exchange:
    """Keep a few chunks, then send OpenAI's mid-stream error event and end (no [DONE])."""
    segments = _segments(exchange)
    chunks = [i for i, segment in enumerate(segments) if _is_chunk(segment.data)]
    if not chunks:
        return exchange
    keep = min(_STREAM_ERROR_AFTER, max(1, len(chunks) // 2))
    last = chunks[keep - 1]
    t = segments[chunks[keep]].t if keep < len(chunks) else segments[last].t
    error = _Segment(t, encode_chunk(_STREAM_ERROR), None)  # OpenAI frames it as a chunk
    return _from_segments(exchange, [*segments[: last + 1], error], end_t=t)


def _event_type(data: str | None) -> str | None:
    """The ``type`` of a Responses API event's data, or ``None`` (not such an event)."""
    payload = event_payload(data)
    kind = payload.get("type") if payload is not None else None
    return kind if isinstance(kind, str) else None


def _malformed_events(exchange: Exchange) -> Exchange:
    """The Responses twin of :func:`_malformed`: one delta event (a third of the way
    through them) loses its ``delta``, which every ``*.delta`` event carries (OpenAI API
    reference, streaming events); a later event has its data cut in half (not JSON)."""
    segments = _segments(exchange)
    events = [i for i, segment in enumerate(segments) if _event_type(segment.data) is not None]
    if not events:
        return exchange
    deltas = [
        i
        for i in events
        if str(_event_type(segments[i].data)).endswith(".delta")
        and "delta" in (event_payload(segments[i].data) or {})
    ]
    first = deltas[len(deltas) // 3] if deltas and len(events) >= 2 else -1
    if first >= 0:
        payload = event_payload(segments[first].data)
        assert payload is not None
        del payload["delta"]
        segments[first] = _with_data(segments[first], _dumps(payload))
    later = [i for i in events if i > first]
    if later:
        index = later[len(later) // 2]
        data = segments[index].data or ""
        segments[index] = _with_data(segments[index], data[: max(1, len(data) // 2)])
    return _from_segments(exchange, segments)


def _no_usage_events(exchange: Exchange) -> Exchange:
    """The Responses twin of :func:`_no_usage`: remove the ``usage`` of the ``response``
    that the lifecycle events (``response.created``... ``response.completed``) carry."""
    kept: list[_Segment] = []
    for segment in _segments(exchange):
        payload = event_payload(segment.data)
        response = payload.get("response") if payload is not None else None
        if payload is None or not isinstance(response, dict) or "usage" not in response:
            kept.append(segment)
            continue
        del response["usage"]
        kept.append(_with_data(segment, _dumps(payload)))
    return _from_segments(exchange, kept)


def _no_terminal(exchange: Exchange) -> Exchange:
    """The Responses form of ``no-done``: the terminal event (``response.completed`` or
    ``response.incomplete``) and any ``data: [DONE]`` removed, so the stream ends without
    its end marker. (OpenAI sends no ``[DONE]`` here; OpenRouter does, after the
    terminal event.)"""
    kept = [
        segment
        for segment in _segments(exchange)
        if not (
            segment.data is not None
            and (segment.data.strip() == "[DONE]" or _event_type(segment.data) in _TERMINAL_OK)
        )
    ]
    return _from_segments(exchange, kept)


def _error_events(exchange: Exchange) -> Exchange:
    """The Responses twin of :func:`_error_in_stream`: keep the events up to a few output
    deltas, then send an ``error`` event and ``response.failed``, and end.

    The shapes are the OpenAI API reference's (streaming events ``error``: ``type``,
    ``code``, ``message``, ``param``, ``sequence_number``; ``response.failed``: the
    ``response`` with ``status`` ``"failed"`` and its ``error``), in the order OpenAI
    sends them (see the bundled ``openai-responses-error.sse``); named with ``event:``
    lines when the recording names its events, data-only otherwise (OpenRouter).
    """
    segments = _segments(exchange)
    events = [i for i, segment in enumerate(segments) if _event_type(segment.data) is not None]
    if not events:
        return exchange
    outputs = [i for i in events if _carries_token(segments[i].data)] or events
    keep = min(_STREAM_ERROR_AFTER, max(1, len(outputs) // 2))
    last = outputs[keep - 1]
    t = segments[outputs[keep]].t if keep < len(outputs) else segments[last].t
    kept = segments[: last + 1]
    sequence: int | None = None
    response: dict[str, Any] | None = None
    for segment in kept:
        payload = event_payload(segment.data) or {}
        number = payload.get("sequence_number")
        if type(number) is int:
            sequence = number + 1 if sequence is None else max(sequence, number + 1)
        if isinstance(payload.get("response"), dict):
            response = payload["response"]
    message = _STREAM_ERROR["error"]["message"]
    named = any(line.startswith(b"event:") for line in segments[last].raw.splitlines())
    sent: list[dict[str, Any]] = [
        {"type": "error", "code": "server_error", "message": message, "param": None}
    ]
    if response is not None:
        reason = {"code": "server_error", "message": message}
        failed = {**response, "status": "failed", "error": reason}
        sent.append({"type": "response.failed", "response": failed})
    added: list[_Segment] = []
    for event in sent:
        if sequence is not None:
            event["sequence_number"] = sequence
            sequence += 1
        raw = encode_event(_dumps(event), event=event["type"] if named else None)
        added.append(_Segment(t, raw, None))
    return _from_segments(exchange, [*kept, *added], end_t=t)


_OUTPUT_DELTAS = frozenset(OUTPUT_DELTAS)  # whose first one slow-first-token delays


def _carries_token(data: str | None) -> bool:
    """Whether the event carries output: a chunk with text or a tool call, or a
    Responses delta event with a non-empty ``delta``."""
    payload = event_payload(data)
    if payload is not None and payload.get("type") in _OUTPUT_DELTAS:
        return bool(payload.get("delta"))
    return payload is not None and any(chunk_output(payload))


def _first_token_offset(exchange: Exchange) -> int | None:
    """The byte offset of the first event with text or a tool call (else the first chunk)."""
    segments = _segments(exchange)
    offsets: list[int] = []
    pos = 0
    for segment in segments:
        offsets.append(pos)
        pos += len(segment.raw)
    for index, segment in enumerate(segments):
        if _carries_token(segment.data):
            return offsets[index]
    for index, segment in enumerate(segments):
        if _is_chunk(segment.data):
            return offsets[index]
    return None


def _split_at(exchange: Exchange, offset: int) -> Exchange:
    """Split the read holding byte ``offset`` so that a read starts there (same time)."""
    reads: list[Read] = []
    pos = 0
    for read in exchange.reads:
        end = pos + len(read.data)
        if pos < offset < end:
            cut = offset - pos
            reads += [Read(t=read.t, data=read.data[:cut]), Read(t=read.t, data=read.data[cut:])]
        else:
            reads.append(read)
        pos = end
    return dataclasses.replace(exchange, reads=tuple(reads))


def _json_exchange(exchange: Exchange, result: dict[str, Any], error: Exception | None) -> Exchange:
    """The non-streaming answer: the rebuilt ``chat.completion`` or Responses ``response``
    object (``result``, as JSON data), sent whole at the end.

    A recorded error status is answered as recorded; a stream that carried an error
    becomes a 500 with OpenAI's error JSON.
    """
    t = exchange.end_t
    if exchange.status_code != 200:
        status, headers, body = exchange.status_code, exchange.headers, exchange.body
    elif error is not None:
        fields: dict[str, str | int | None] = {
            "message": str(error),
            "type": "server_error",
            "param": None,
            "code": None,
        }
        if isinstance(error, StreamAPIError):
            fields["type"] = error.error_type or "server_error"
            fields["code"] = error.code
        status, headers = 500, (("content-type", "application/json"),)
        body = json.dumps({"error": fields}, indent=2).encode() + b"\n"
    else:
        status, headers = 200, (("content-type", "application/json"),)
        body = json.dumps(result, indent=2, ensure_ascii=False).encode() + b"\n"
    return Exchange(
        request=exchange.request,
        status_code=status,
        headers=headers,
        response_t=t,
        reads=(Read(t=t, data=body),) if body else (),
        end_t=t,
    )


# --- Faults on the plan (pure) --------------------------------------------------------


def longest_silence(plan: Plan) -> float:
    """The longest time, in seconds, a client waits for the next byte of this plan's
    response (the head included; a stall is not counted): what a read timeout must
    exceed for the planned response to arrive whole."""
    due = plan.due if plan.due is not None else (plan.headers_at,) * len(plan.reads)
    times = [0.0, plan.headers_at, *due]
    if not plan.stall:
        times.append(plan.end_at)
    return max(later - earlier for earlier, later in itertools.pairwise(times))


def timed_reads(plan: Plan) -> list[tuple[float, bytes]]:
    """The plan's reads as ``(due, data)`` pairs (due 0 when nothing is paced)."""
    due = plan.due if plan.due is not None else (0.0,) * len(plan.reads)
    return list(zip(due, plan.reads, strict=True))


def _with_reads(plan: Plan, reads: Sequence[tuple[float, bytes]], **changes: Any) -> Plan:
    """The plan with these ``(due, data)`` reads (and other fields changed)."""
    return dataclasses.replace(
        plan,
        reads=tuple(data for _, data in reads),
        due=tuple(due for due, _ in reads),
        **changes,
    )


def _gzipped(plan: Plan) -> Plan:
    """Compress the body as one gzip stream, never flushed before the end.

    zlib holds its input until it has a block to write, as a compressing server does
    (nginx ``gzip on``, a gzip middleware): a small body then arrives all at the end.
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    timed = timed_reads(plan)
    reads: list[tuple[float, bytes]] = []
    for due, data in timed:
        out = compressor.compress(data)
        if out:
            reads.append((due, out))
    last = timed[-1][0] if timed else plan.headers_at
    reads.append((max(last, plan.end_at), compressor.flush()))
    headers = tuple(
        (k, v) for k, v in plan.headers if k.lower() not in ("content-encoding", "content-length")
    )
    return _with_reads(plan, reads, headers=(*headers, ("content-encoding", "gzip")))


def _bursts(plan: Plan, bursts: int = PARTIAL_BUFFER_BURSTS) -> Plan:
    """Hold the reads back and release them at the end of each 1/``bursts`` of the
    stream's duration, each burst joined into one read."""
    timed = timed_reads(plan)
    if len(timed) < 2:
        return plan
    first = timed[0][0]
    width = (timed[-1][0] - first) / bursts
    groups: dict[float, list[bytes]] = {}
    for due, data in timed:
        number = 1 if width <= 0 else min(bursts, max(1, math.ceil((due - first) / width - 1e-9)))
        groups.setdefault(first + number * max(width, 0.0), []).append(data)
    reads = [(due, b"".join(parts)) for due, parts in groups.items()]
    return _with_reads(plan, reads, end_at=max(plan.end_at, reads[-1][0]))


def _delayed_from(plan: Plan, offset: int, delay: float) -> Plan:
    """Delay every read from byte ``offset`` on (a read starts there) by ``delay`` s."""
    reads: list[tuple[float, bytes]] = []
    pos = 0
    for due, data in timed_reads(plan):
        reads.append((due + delay if pos >= offset else due, data))
        pos += len(data)
    return _with_reads(plan, reads, end_at=plan.end_at + delay)


# --- The catalog: every plan, decided up front ----------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    """One servable exchange: its API (``"chat"`` or ``"responses"``), its model and its
    two plans."""

    kind: str
    model: str | None
    created: int | None
    stream: Plan
    json: Plan


def _rebuild(body: bytes) -> tuple[ChatCompletion, SSEStreamError | None]:
    """The completion a client rebuilds from ``body`` (ChatStream, hence the library's
    ChatCompletionAccumulator), and the error the stream raised, if any."""
    stream = ChatStream([body], max_line_bytes=None, max_event_bytes=None)
    try:
        for _ in stream:
            pass
    except SSEStreamError as exc:
        return stream.completion, exc
    return stream.completion, None


def _rebuild_response(body: bytes) -> tuple[Response, SSEStreamError | None]:
    """The response a client rebuilds from a Responses stream (:class:`ResponseStream`),
    and the error the stream raised, if any."""
    stream = ResponseStream([body], max_line_bytes=None, max_event_bytes=None)
    try:
        for _ in stream:
            pass
    except SSEStreamError as exc:
        return stream.snapshot, exc
    return stream.snapshot, None


def _check_pace(pace: Pace) -> float | None:
    """The ``speed=`` of :class:`Options` for ``pace``, or ``None`` for no pacing."""
    if pace == "recorded":
        return 1.0
    if pace == "none":
        return None
    if isinstance(pace, bool) or not isinstance(pace, (int, float)):
        raise ValueError(f"pace={pace!r}: expected 'recorded', 'none' or a speed factor > 0")
    if not (math.isfinite(pace) and pace > 0):
        raise ValueError(f"pace={pace!r}: expected a speed factor > 0")
    return float(pace)


class Catalog:
    """The plans of every chat exchange of the recordings, and which one answers next."""

    def __init__(
        self,
        recordings: Sequence[Recording],
        *,
        pace: Pace,
        fault: str,
        first_token_delay: float,
        event_gap: float,
    ) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
        if not (math.isfinite(first_token_delay) and first_token_delay >= 0):
            raise ValueError(f"first_token_delay={first_token_delay!r}: expected seconds >= 0")
        if not (math.isfinite(event_gap) and event_gap >= 0):
            raise ValueError(f"event_gap={event_gap!r}: expected seconds >= 0")
        self.fault = fault
        self._speed = _check_pace(pace)
        self._first_token_delay = first_token_delay
        self._event_gap = event_gap
        self.entries: list[_Entry] = []
        for recording in recordings:
            for number, exchange in enumerate(recording):
                request = exchange.request
                path = request.path.split("?", 1)[0].rstrip("/") if request is not None else ""
                if request is not None and not path.endswith(("/chat/completions", "/responses")):
                    continue
                try:
                    self.entries.append(self._entry(exchange))
                except ValueError as exc:
                    raise ValueError(f"{recording.source}, exchange {number}: {exc}") from None
        if not self.entries:
            raise ValueError("the recordings hold no chat-completion or Responses exchange")
        self._by_model: dict[tuple[str, str | None], list[int]] = {}
        self._by_kind: dict[str, list[int]] = {}
        for index, entry in enumerate(self.entries):
            self._by_kind.setdefault(entry.kind, []).append(index)
        for kind, indexes in self._by_kind.items():
            models = {self.entries[index].model for index in indexes}
            if len(models) > 1:  # match by model only when there is a choice to make
                for index in indexes:
                    self._by_model.setdefault((kind, self.entries[index].model), []).append(index)
        self._next: dict[tuple[str, str | None], int] = {}

    def _entry(self, exchange: Exchange) -> _Entry:
        exchange = decoded_exchange(exchange)
        reason = no_events_reason(exchange)
        if reason is not None:
            raise ValueError(reason)
        exchange = dataclasses.replace(
            exchange,
            headers=tuple(
                (k, v) for k, v in exchange.headers if k.lower() not in _CONNECTION_HEADERS
            ),
        )
        if _untimed(exchange):
            exchange = _retimed(exchange, self._event_gap)
        kind = "responses" if is_responses_exchange(exchange) else "chat"
        request = exchange.request
        model: str | None
        if kind == "responses":
            response, error = _rebuild_response(exchange.body)
            model, created, result = response.model, response.created_at, response.to_dict()
        else:
            completion, error = _rebuild(exchange.body)
            model, created, result = completion.model, completion.created, completion.to_dict()
        if request is not None and request.model:
            model = request.model
        as_json = _json_exchange(exchange, result, error)
        fault = self.fault
        responses = kind == "responses"
        rng = random.Random(0)
        replacement = _REPLACEMENTS.get(fault)

        # The non-streaming answer: only the faults that replace or strip the response.
        json_plan = make_plan(
            exchange if replacement is not None else as_json,
            Options(
                speed=self._speed,
                replace_response=replacement,
                drop_content_type=fault == "no-content-type",
            ),
            rng,
            faults=True,
        )
        if fault == "gzip":
            json_plan = _gzipped(json_plan)

        # The streaming answer.
        events = len(event_ends(exchange.body)) if exchange.status_code == 200 else 0
        options: dict[str, Any] = {}
        first_token: int | None = None
        if fault == "not-streamed":
            exchange = as_json
        elif fault == "malformed":
            exchange = _malformed_events(exchange) if responses else _malformed(exchange)
        elif fault == "no-usage":
            exchange = _no_usage_events(exchange) if responses else _no_usage(exchange)
        elif fault == "error-in-stream":
            exchange = _error_events(exchange) if responses else _error_in_stream(exchange)
        elif fault == "no-done" and responses:
            exchange = _no_terminal(exchange)
        elif fault == "slow-first-token":
            first_token = _first_token_offset(exchange)
            if first_token is not None:
                exchange = _split_at(exchange, first_token)
        elif fault == "buffer":
            options["buffered"] = True
        elif fault == "no-done":
            options["drop_done"] = True
        elif fault == "no-content-type":
            options["drop_content_type"] = True
        elif replacement is not None:
            options["replace_response"] = replacement
        elif fault in _EVENT_FAULTS and events:
            key = "stall_after_events" if fault == "stall" else "cut_after_events"
            options[key] = events // 2
            options["cut_with"] = "reset" if fault == "reset" else "eof"
        stream_plan = make_plan(exchange, Options(speed=self._speed, **options), rng, faults=True)
        if fault == "gzip":
            stream_plan = _gzipped(stream_plan)
        elif fault == "partial-buffer":
            stream_plan = _bursts(stream_plan)
        elif first_token is not None:
            stream_plan = _delayed_from(stream_plan, first_token, self._first_token_delay)
        return _Entry(kind=kind, model=model, created=created, stream=stream_plan, json=json_plan)

    def serves(self, kind: str) -> bool:
        """Whether the recordings hold exchanges of ``kind`` (``"chat"``, ``"responses"``)."""
        return kind in self._by_kind

    def pick(self, model: str | None, kind: str = "chat") -> _Entry:
        """The entry that answers a request for ``model`` on the API ``kind`` (``"chat"``
        or ``"responses"``): the next one (cycling) among that API's entries of that
        model when they hold several models and this is one of them, else the next
        among all of that API's entries.

        Raises:
            LookupError: no entry of that ``kind`` (see :meth:`serves`).
        """
        if kind not in self._by_kind:
            raise LookupError(f"the recordings hold no {kind} exchange")
        key = (kind, model)
        indexes = self._by_model.get(key)
        if indexes is None:
            key = (kind, None)
            indexes = self._by_kind[kind]
        number = self._next.get(key, 0)
        self._next[key] = number + 1
        return self.entries[indexes[number % len(indexes)]]

    def models(self) -> list[dict[str, Any]]:
        """The ``data`` of ``GET /v1/models``: each recorded model once, in order."""
        seen: dict[str, dict[str, Any]] = {}
        for entry in self.entries:
            if entry.model is not None and entry.model not in seen:
                seen[entry.model] = {
                    "id": entry.model,
                    "object": "model",
                    "created": entry.created or 0,
                    "owned_by": "ssestream",
                }
        return list(seen.values())
