"""The server side of an event stream: events and chat chunks to ``text/event-stream`` bytes.

The inverse of :class:`~ssestream.SSEDecoder`: whatever :func:`encode_event` writes, the
WHATWG rules (HTML Living Standard, section 9.2.6 "Interpreting an event stream") read
back as the same event, so the decoder is the oracle of the tests.

Strategy and invariants:

* Every field is written ``name: value`` with the space: the reader strips exactly one
  space after the colon, so a value that begins with a space keeps it.
* ``data`` is split on CR, LF and CRLF into one ``data:`` line per line; the reader joins
  them with LF. So every line end of ``data`` comes back as LF (the one loss, made by
  the spec, not by the encoder).
* A value that would end its line early and so inject a field of its own (a line end
  in ``event`` or ``id``, or U+0000 in ``id``, which the reader ignores) is refused with
  ``ValueError``, never escaped or dropped. A comment is split into comment lines.
* Lines end with LF; the event ends with a blank line, which dispatches it.
* Chat chunks are written as OpenAI writes them: ``data: <compact JSON>`` and a blank
  line, and the stream ends with ``data: [DONE]`` (OpenAI API reference, "Streaming").
  Responses API events likewise, each named by an ``event:`` line of its ``type``
  (API reference, "Streaming events"); that stream has no end marker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["DONE", "encode_chunk", "encode_event", "encode_response_event"]

DONE = b"data: [DONE]\n\n"
"""The event that ends an OpenAI chat-completion stream: ``data: [DONE]``, blank line."""

_LINE_END = re.compile(r"\r\n|\r|\n")
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def encode_event(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """Encode one server-sent event as UTF-8 ``text/event-stream`` bytes.

    Written in the order comment, ``event``, ``id``, ``retry``, ``data``, then the blank
    line that dispatches the event (WHATWG HTML 9.2.6). :class:`~ssestream.SSEDecoder`
    reads the result back as ``ServerSentEvent(data=data, event=event or "message",
    id=id, retry=retry)``, with every line end of ``data`` as LF.

    Args:
        data: the event's data; each of its lines (split on CR, LF and CRLF) becomes a
            ``data:`` line. ``""`` is an event with empty data; ``None`` writes no data
            field, and then the reader dispatches no event (the other fields still take
            effect: ``id`` sets the last event ID, ``retry`` the reconnection time).
        event: the event type (``None``: none, which the reader takes as ``"message"``).
        id: the event ID, which the reader keeps as its last event ID (and sends back as
            ``Last-Event-ID`` when it reconnects); ``""`` resets it.
        retry: the reconnection time, in milliseconds: an ``int`` >= 0.
        comment: a comment (a line that starts with ``:``), which the reader ignores: a
            keep-alive, say. Each of its lines becomes a comment line.

    Raises:
        ValueError: ``event`` or ``id`` holds a line end, ``id`` holds U+0000 (the
            reader would ignore the field), or ``retry`` is negative. A string that
            cannot be encoded in UTF-8 (a lone surrogate) raises ``UnicodeEncodeError``,
            a ``ValueError`` too.
        TypeError: a value of the wrong type (``retry`` a ``bool`` or a ``float``).
    """
    lines: list[str] = []
    if comment is not None:
        lines.extend(f": {line}" if line else ":" for line in _LINE_END.split(comment))
    if event is not None:
        if _LINE_END.search(event):
            raise ValueError(f"event type {event!r} holds a line end: it would inject a field")
        lines.append(f"event: {event}")
    if id is not None:
        if _LINE_END.search(id):
            raise ValueError(f"event id {id!r} holds a line end: it would inject a field")
        if "\0" in id:
            raise ValueError(f"event id {id!r} holds U+0000: the reader would ignore the field")
        lines.append(f"id: {id}")
    if retry is not None:
        if type(retry) is not int:
            raise TypeError(f"retry must be an int of milliseconds, not {type(retry).__name__}")
        if retry < 0:
            raise ValueError(f"retry must be >= 0 milliseconds, not {retry}")
        lines.append(f"retry: {retry}")
    if data is not None:
        lines.extend(f"data: {line}" for line in _LINE_END.split(data))
    lines.append("\n")
    return "\n".join(lines).encode()


def _payload(record: Mapping[str, Any] | Any, name: str) -> Any:
    """The JSON payload of a view (its ``to_dict()``) or of a mapping."""
    if isinstance(record, Mapping):
        return record if type(record) is dict else dict(record)
    to_dict = getattr(record, "to_dict", None)
    if to_dict is None:
        raise TypeError(f"{name}() takes a view or a dict, not {type(record).__name__}")
    return to_dict()


def encode_chunk(chunk: Mapping[str, Any] | Any) -> bytes:
    """Encode a chat-completion chunk as OpenAI does: ``data: <compact JSON>``, blank line.

    ``chunk`` is a :class:`~ssestream.ChatCompletionChunk` (or anything with a
    ``to_dict()`` that returns the payload) or the payload as a mapping. The JSON is compact
    (``separators=(",", ":")``) with non-ASCII characters as UTF-8, as OpenAI sends it;
    JSON escapes every line end, so the event is one ``data:`` line.

    Raises:
        TypeError: ``chunk`` is neither a mapping nor has ``to_dict()``, or holds a value
            JSON cannot encode.
        ValueError: a float that is NaN or infinite (not JSON, RFC 8259 section 6).
    """
    return b"data: " + _DUMPS(_payload(chunk, "encode_chunk")).encode() + b"\n\n"


def encode_response_event(event: Mapping[str, Any] | Any) -> bytes:
    """Encode a Responses API event as OpenAI does: ``event: <type>``, ``data: <compact
    JSON>``, blank line (API reference, "Streaming events").

    ``event`` is a :class:`~ssestream.ResponseStreamEvent` (or anything with a
    ``to_dict()``) or the payload as a mapping; its ``type`` names the event. The JSON
    is written as :func:`encode_chunk` writes it. :class:`~ssestream.ResponseStream`
    reads the result back as the same event.

    Raises:
        ValueError: the payload's ``type`` is not a non-empty string, or holds a line
            end (it would inject a field); a float that is NaN or infinite.
        TypeError: ``event`` is neither a mapping nor has ``to_dict()``, or holds a
            value JSON cannot encode.
    """
    payload = _payload(event, "encode_response_event")
    kind = payload.get("type")
    if type(kind) is not str or not kind:
        raise ValueError(f"a Responses event needs a non-empty string type, not {kind!r}")
    if _LINE_END.search(kind):
        raise ValueError(f"event type {kind!r} holds a line end: it would inject a field")
    return b"event: " + kind.encode() + b"\ndata: " + _DUMPS(payload).encode() + b"\n\n"
