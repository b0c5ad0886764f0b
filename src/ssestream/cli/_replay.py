"""``ssestream replay FILE``: decode a recorded body through the real stack.

A ``.sse`` file is one response body; a ``.jsonl`` recording has each chat-completion or
Responses exchange replayed in turn (its body decoded first if it was compressed). The
bytes go through :class:`ssestream.ChatStream` in small reads, or through
:class:`ssestream.ResponseStream` for a Responses API stream (recognised by
:func:`ssestream.testing.is_responses_exchange`: the recorded path, else the first
event's name or ``type``); the text and the tool calls are printed as they stream, then
the rebuilt completion or response is summarised (or, with ``--json``, one JSON line
per stream).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator

from .. import ChatStream, ResponseStream, SSEStreamError
from ..testing import (
    Exchange,
    Read,
    decoded_exchange,
    is_responses_exchange,
    load_recording,
    no_events_reason,
)
from ._output import Printer, json_record, summary

__all__ = ["replay_body", "run"]

_REPLAYED = ("/chat/completions", "/responses")  # the paths whose exchanges are replayed


def _pieces(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def replay_body(
    body: bytes,
    *,
    label: str,
    delay: float,
    read_size: int,
    as_json: bool,
    exchange: int | None = None,
    responses: bool | None = None,
) -> int:
    """Replay ``body`` through :class:`ChatStream` in reads of ``read_size`` bytes,
    printing its text and tool calls as they stream, from ``stream.events()`` (or one
    JSON line); returns the exit status. A Responses stream (``responses``, or when
    ``None`` recognised from the body) goes through :class:`ResponseStream` instead."""
    if responses is None:
        responses = is_responses_exchange(Exchange(reads=(Read(t=0.0, data=body),)))
    out = sys.stdout
    pieces = _pieces(body, read_size)
    stream = ResponseStream(pieces) if responses else ChatStream(pieces)
    printer = Printer(out)
    items = 0  # chunks, or Responses events

    def on_item() -> None:
        nonlocal items
        items += 1
        if delay:
            time.sleep(delay)

    error: SSEStreamError | None = None
    if not as_json:
        out.write(f"{label}\n\n")
    try:
        printer.play(stream, on_item, show=not as_json)
    except SSEStreamError as exc:
        error = exc
    if as_json:
        extra = {} if exchange is None else {"exchange": exchange}
        out.write(json_record(stream, items, error, **extra))
        out.flush()
    else:
        printer.end()
        summary(stream, items, out)
    if error is not None:
        sys.stderr.write(f"error: {type(error).__name__}: {error.message}\n")
        return 1
    return 1 if stream.interrupted else 0


def run(args: argparse.Namespace) -> int:
    """``ssestream replay FILE``: a ``.sse`` body or each chat exchange of a ``.jsonl``
    recording."""
    try:
        with open(args.file, "rb") as file:
            body = file.read()
    except OSError as exc:
        sys.stderr.write(f"error: cannot read {args.file}: {exc.strerror}\n")
        return 2
    if args.file.endswith(".jsonl") or body.lstrip().startswith(b'{"ssestream_recording"'):
        return _replay_recording(args)
    reason = no_events_reason(Exchange(reads=(Read(t=0.0, data=body),)))
    if reason is not None:
        sys.stderr.write(f"error: {args.file}: {reason}\n")
        return 2
    label = f"ssestream replay: {args.file} ({len(body)} bytes)"
    return replay_body(
        body, label=label, delay=args.delay, read_size=args.read_size, as_json=args.json
    )


def _replay_recording(args: argparse.Namespace) -> int:
    """Replay each chat-completion or Responses exchange of a ``.jsonl`` recording (its
    body decoded if compressed)."""
    try:
        exchanges = [
            decoded_exchange(exchange)
            for exchange in load_recording(args.file)
            if exchange.request is None
            or exchange.request.path.split("?", 1)[0].rstrip("/").endswith(_REPLAYED)
        ]
    except (OSError, ValueError) as exc:  # RecordingFormatError is a ValueError
        sys.stderr.write(f"error: cannot replay {args.file}: {exc}\n")
        return 2
    if not exchanges:
        sys.stderr.write(f"error: {args.file} holds no chat-completion or Responses exchange\n")
        return 2
    options = {"delay": args.delay, "read_size": args.read_size, "as_json": args.json}
    statuses = [0]
    for number, exchange in enumerate(exchanges):
        reason = no_events_reason(exchange)
        if reason is not None:
            sys.stderr.write(f"error: {args.file}, exchange {number}: {reason}\n")
            statuses.append(2)
            continue
        body = exchange.body
        label = f"ssestream replay: {args.file}, exchange {number} ({len(body)} bytes)"
        responses = is_responses_exchange(exchange)
        statuses.append(
            replay_body(body, label=label, exchange=number, responses=responses, **options)
        )
    return max(statuses)
