"""Layer 1: a sans-IO, incremental decoder of ``text/event-stream`` bytes.

It follows the WHATWG HTML Living Standard, section 9.2.6 "Interpreting an event stream",
to the letter, and performs no I/O: bytes go in through :meth:`SSEDecoder.feed`, complete
events come out as a list.

Strategy and invariants:

* Lines are split at the byte level on CR, LF and CRLF. Only the bytes of the current
  read are scanned for line ends; the unterminated remainder waits in ``_tail`` (a
  ``bytearray``, so growing it is amortised O(1)) and is joined once, when its line ends.
  The work is therefore linear in the input whatever the read sizes.
* A read that ends with CR ends the line at once (the event is dispatched without waiting
  for the next read); ``_skip_lf`` then drops an LF that opens the next read, so a CRLF
  split across two reads is one line end.
* Each block of complete lines is decoded from UTF-8 in one call, with U+FFFD for invalid
  bytes. CR and LF are ASCII and never occur inside a multi-byte sequence, so this equals
  decoding the stream as a whole, as the spec asks.
* The hot path is the small read: most reads hold no line end and cost two memchr and an
  append; the usual block, one ``data:`` line and the blank line after it, becomes its
  event without the line loop. Both are measured in ``benchmarks/`` (docs/performance.md).
* One leading BOM (EF BB BF) is stripped, even when it arrives split over several reads.
* Memory is bounded: ``max_line_bytes`` caps a line (an unterminated one as it grows)
  and ``max_event_bytes`` the data of one event; past them :class:`LimitExceededError`
  is raised. Limits are checked line by line in stream order, so the error, like the
  events, does not depend on how the stream was split; the common path pays for them
  with a length comparison per block.
"""

from __future__ import annotations

import json
import re
from itertools import repeat as _repeat
from typing import Any

from ._exceptions import LimitExceededError

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MAX_LINE_BYTES",
    "MAX_RETRY",
    "SSEDecoder",
    "ServerSentEvent",
]

DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024
"""Default ``max_line_bytes`` of :class:`SSEDecoder`: 32 MiB."""

DEFAULT_MAX_EVENT_BYTES = 64 * 1024 * 1024
"""Default ``max_event_bytes`` of :class:`SSEDecoder`: 64 MiB."""

_BOM = b"\xef\xbb\xbf"
_CR = 0x0D
_LF = 0x0A


class ServerSentEvent(tuple):  # type: ignore[type-arg]
    """One dispatched server-sent event (WHATWG HTML 9.2.6, "dispatch the event").

    An immutable record. It is a ``tuple`` subclass so that creating one on the hot path
    costs one tuple allocation, but treat it as a record: use the attributes. (It
    compares equal to a plain tuple ``(event, data, id, retry)``.)

    Attributes:
        event: the event type: the last ``event:`` field of the block, or ``"message"``.
        data: the ``data:`` lines of the block joined with LF (``""`` is possible: a
            block with an empty ``data:`` line is still an event).
        id: the last event ID in force when the event was dispatched, ``""`` if none
            (the ID persists across events until the server sets another).
        retry: the reconnection time in milliseconds if a valid ``retry:`` field (ASCII
            digits only) appeared in this event's own block, else ``None``.
    """

    __slots__ = ()

    def __new__(
        cls, *, data: str = "", event: str = "message", id: str = "", retry: int | None = None
    ) -> ServerSentEvent:
        return tuple.__new__(cls, (event, data, id, retry))

    @property
    def event(self) -> str:
        return self[0]  # type: ignore[no-any-return]

    @property
    def data(self) -> str:
        return self[1]  # type: ignore[no-any-return]

    @property
    def id(self) -> str:
        return self[2]  # type: ignore[no-any-return]

    @property
    def retry(self) -> int | None:
        return self[3]  # type: ignore[no-any-return]

    def json(self) -> Any:
        """Return ``json.loads(self.data)``.

        Raises:
            json.JSONDecodeError: the data is not JSON.
        """
        return json.loads(self[1])

    def encode(self) -> bytes:
        """Return the event as ``text/event-stream`` bytes that decode back to it.

        :func:`ssestream.encode_event` with this event's fields: no ``event:`` line for
        the default type ``"message"``, no ``id:`` line for an empty ID (a fresh
        reader's last event ID is already ``""``).

        Raises:
            ValueError: a field would inject another (see :func:`ssestream.encode_event`).
        """
        from ._encoder import encode_event  # the writer side, loaded when first used

        return encode_event(
            self[1],
            event=None if self[0] == "message" else self[0],
            id=self[2] or None,
            retry=self[3],
        )

    def __repr__(self) -> str:
        retry = "" if self[3] is None else f", retry={self[3]!r}"
        return f"ServerSentEvent(event={self[0]!r}, data={self[1]!r}, id={self[2]!r}{retry})"

    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]:  # pickle, copy
        return (), {"event": self[0], "data": self[1], "id": self[2], "retry": self[3]}


_new_event = tuple.__new__

MAX_RETRY = (1 << 63) - 1
"""The largest ``retry`` value, in milliseconds: a longer run of digits is read as this."""


def _retry(digits: str) -> int:
    """The value of a ``retry:`` field of ASCII digits (WHATWG 9.2.6: "interpret the
    field value as an integer in base ten"), saturated at :data:`MAX_RETRY`.

    Linear in the digits, and free of Python's int-string limit (4,300 digits), which
    a server could otherwise trip: a value past 19 significant digits is past the limit.
    """
    significant = digits.lstrip("0")
    if len(significant) > 19:
        return MAX_RETRY
    return min(int(significant or "0"), MAX_RETRY)


_LINE_END = re.compile(rb"\r\n|\r|\n")


def _line_sizes(block: bytes | bytearray) -> list[int]:
    """The length in bytes of each line of a block (which ends with a line end)."""
    sizes = []
    position = 0
    for match in _LINE_END.finditer(block):
        sizes.append(match.start() - position)
        position = match.end()
    return sizes


def _line_offset(block: bytes | bytearray, number: int) -> int:
    """The offset in ``block`` of the start of line ``number`` (0-based)."""
    if number == 0:
        return 0
    for count, match in enumerate(_LINE_END.finditer(block), 1):
        if count == number:
            return match.end()
    raise AssertionError("line number past the end of the block")  # pragma: no cover


class SSEDecoder:
    """Incremental decoder from ``text/event-stream`` bytes to :class:`ServerSentEvent`.

    Sans-IO: call :meth:`feed` with each read as it arrives and :meth:`close` at the end
    of input. It keeps no reference to the bytes it was given beyond the unterminated
    last line.

    Args:
        max_line_bytes: the longest line, in bytes as received, line end excluded;
            an unterminated line is refused as soon as it grows past it (``None``: no
            limit). Default 32 MiB.
        max_event_bytes: the most ``data`` one event may gather: the UTF-8 length of
            its ``data`` string (``None``: no limit). Default 64 MiB.

    Attributes:
        last_event_id: the spec's "last event ID string": set from the ``id:`` field
            each time a blank line ends a block (even one that dispatches no event),
            never by an unterminated block. Send it as ``Last-Event-ID`` on reconnection.
        retry: the reconnection time in milliseconds last set by the stream, or
            ``None`` if the stream never set one (a value past :data:`MAX_RETRY` is
            read as it).
    """

    __slots__ = (
        "_bom_done",
        "_data",
        "_ends",
        "_event_size",
        "_event_type",
        "_exact",
        "_id_buffer",
        "_max_event",
        "_max_line",
        "_measured",
        "_offset",
        "_prelude",
        "_retry_block",
        "_short_block",
        "_skip_lf",
        "_tail",
        "last_event_id",
        "retry",
    )

    def __init__(
        self,
        *,
        max_line_bytes: int | None = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int | None = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        # A limit of None is stored as a size no stream reaches, so the hot path
        # compares integers without a None test.
        self._max_line = max_line_bytes if max_line_bytes is not None else 1 << 62
        self._max_event = max_event_bytes if max_event_bytes is not None else 1 << 62
        # A block no longer than this cannot hold a line, or begin and end an event,
        # past the limits (decoded and encoded again, a byte of the block is at most
        # three bytes of UTF-8: an invalid byte becomes U+FFFD).
        self._short_block = min(self._max_line, self._max_event // 3)
        self.last_event_id = ""
        self.retry: int | None = None
        self._ends: list[int] | None = None  # a list only inside feed_positions()
        self._id_buffer = ""
        self._reset_stream()

    def _reset_stream(self) -> None:
        # _prelude is True while a read needs a look at its first bytes before the
        # line scan: at stream start (BOM) and after a read that ended with CR (an LF
        # opening the next read belongs to that CR). Testing one flag keeps the
        # common path short.
        self._prelude = True
        self._bom_done = False
        self._skip_lf = False
        self._tail = bytearray()
        self._offset = 0  # the stream offset of the first byte of _tail
        self._data: list[str] = []
        self._event_type = ""
        self._event_size = 0
        self._measured = 0  # how many of the pending data lines _exact counts
        self._exact = 0  # their UTF-8 size in bytes, joining LFs included
        self._retry_block: int | None = None

    def _run_prelude(self, data: bytes) -> bytes:
        if not self._bom_done:
            data = bytes(self._tail) + data
            self._tail = bytearray()
            if len(data) < 3 and _BOM.startswith(data):
                self._tail += data  # might still become a BOM: wait for more
                return b""
            self._bom_done = True
            if data.startswith(_BOM):
                data = data[3:]
                self._offset += 3
        elif self._skip_lf:
            self._skip_lf = False
            if data[0] == _LF:
                data = data[1:]
                self._offset += 1
        self._prelude = False
        return data

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Decode one read of the stream and return the events it completed, in order.

        ``data`` may be any number of bytes, cut anywhere (inside a UTF-8 sequence,
        between CR and LF): the result, errors included, does not depend on how the
        stream is split.

        Raises:
            LimitExceededError: a line or an event passed ``max_line_bytes`` or
                ``max_event_bytes``; the events the read completed before it are in
                the error's ``events``. The decoder's state is then undefined: do not
                feed it again.
            TypeError: ``data`` is not bytes-like (e.g. a ``str``).
        """
        if self._prelude:
            if not data:
                return []
            data = self._run_prelude(data)
            if not data:
                return []  # a BOM, or the start of one: not part of any line
        # An int operand makes `in` a plain memchr: with a bytes operand, bytes.__contains__
        # first fails to read it as an int, which costs seven times as much (measured).
        if _LF not in data and _CR not in data:
            # No line end, the common case of small reads: the read only extends the
            # unterminated line.
            tail = self._tail
            tail += data
            if len(tail) > self._max_line:
                raise LimitExceededError("max_line_bytes", self._max_line, len(tail), self._offset)
            return []
        # The last line end of the read, LF or CR: the block of complete lines ends there.
        cut = data.rfind(b"\n")
        has_cr = _CR in data
        if has_cr:
            cut = max(cut, data.rfind(b"\r"))
        start = self._offset
        tail = self._tail
        if cut + 1 == len(data):
            rest = b""
            if tail:
                tail += data
                block: bytes | bytearray = tail
                self._tail = bytearray()
            else:
                block = data
            if has_cr and data[cut] == _CR:
                self._skip_lf = self._prelude = True
        else:
            rest = data[cut + 1 :]  # the start of the next, unterminated line
            if tail:
                tail += data[: cut + 1]
                block = tail
            else:
                block = data[: cut + 1]
            self._tail = bytearray(rest)
        self._offset = start + len(block)

        text = block.decode("utf-8", "replace")
        if has_cr:  # the tail never holds a line end: the read's CRs are all there are
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        end = len(text) - 2
        if (
            text[:5] == "data:"
            and text.find("\n") == end
            and len(block) + len(rest) <= self._short_block
            and not (self._data or self._event_type or self._retry_block is not None)
        ):
            # The usual block of small reads: one "data:" line and the blank line that
            # ends it, with no event pending and no limit within reach (the block and
            # the rest are no longer than either). It becomes its event directly:
            # through the line loop it costs twice as much (measured).
            self.last_event_id = self._id_buffer
            value = text[6:end] if text[5:6] == " " else text[5:end]
            if self._ends is not None:
                self._ends.append(self._offset)
            return [_new_event(ServerSentEvent, ("message", value, self._id_buffer, None))]
        # The other blocks, in a method of their own: their code inline here made the
        # reads without a line end above 10% slower (160 against 177 ns, measured).
        return self._block(text, block, start, rest)

    def _block(
        self, text: str, block: bytes | bytearray, start: int, rest: bytes
    ) -> list[ServerSentEvent]:
        """The events of a block of complete lines (``text``, decoded from ``block``,
        which starts at stream offset ``start``); ``rest`` is the unterminated line
        after it, checked against ``max_line_bytes`` after the block's lines."""
        end = len(text) - 2
        short = len(block) + len(rest) <= self._short_block  # no limit within reach
        # The usual blocks of the Responses API, whose events have an "event:" line:
        # the line loop costs them up to twice as much (measured). The tests are
        # ordered so that a large block pays about 0.1 us for them.
        if text[end] == "\n" and short and not (self._data or self._retry_block is not None):
            # A block that ends with a blank line: one event, its "event:" line (in
            # this block or the one before), one "data:" line and the blank line?
            # 1.59 against 2.04 us per event at one event per read (Responses
            # recordings). (A "data:" block with no type pending was feed()'s to take:
            # not searched again here, which cost 3% on one 4 MB event.)
            kind = self._event_type
            start_of_data = -1  # where the data line starts
            if text[:6] == "event:":
                first = text.find("\n")
                kind = text[7:first] if text[6:7] == " " else text[6:first]
                start_of_data = first + 1
            elif kind and text[:5] == "data:":
                start_of_data = 0
            if (
                start_of_data >= 0
                and text.startswith("data:", start_of_data)
                and text.find("\n", start_of_data) == end
            ):
                self.last_event_id = self._id_buffer
                self._event_type = ""
                start_of_data += 5  # the value starts here, or after a space
                if text[start_of_data : start_of_data + 1] == " ":
                    start_of_data += 1
                if self._ends is not None:
                    self._ends.append(self._offset)
                event = (kind or "message", text[start_of_data:end], self._id_buffer, None)
                return [_new_event(ServerSentEvent, event)]
        elif text[:6] == "event:" and short and text.find("\n") == end + 1:
            # The block is one "event:" line (small reads): 0.74 against 1.06 us.
            self._event_type = text[7 : end + 1] if text[6:7] == " " else text[6 : end + 1]
            return []
        lines = text.split("\n")
        lines.pop()  # the block ends with a line end: the last piece is always ""
        if (
            not len(lines) & 1
            and not lines[1]  # a blank second line: other blocks leave at once
            and short
            and self._ends is None
            and not (self._data or self._event_type or self._retry_block is not None)
        ):
            # Several events of one "data: " line each, as large reads bring chat
            # chunks: every other line blank, every other a data line, checked by
            # C-level calls (any, all over map). 0.58 us per event against the line
            # loop's 0.78 (measured, 4096-byte reads). feed_positions() takes the loop.
            values = lines[::2]
            if not any(lines[1::2]) and all(map(str.startswith, values, _repeat("data: "))):
                self.last_event_id = ident = self._id_buffer
                return [
                    _new_event(ServerSentEvent, ("message", line[6:], ident, None))
                    for line in values
                ]
        # The line loop. On a limit error, the error carries the events dispatched
        # before it.
        events: list[ServerSentEvent] = []
        data = self._data
        size = self._event_size
        max_event = self._max_event
        # No line of a block can be longer than the block: only a long block has its
        # lines measured (in raw bytes, in stream order, before they are used).
        sizes = _line_sizes(block) if len(block) > self._max_line else None
        ends = self._ends
        # Where each line ends in the block, only for feed_positions().
        line_ends = [m.end() for m in _LINE_END.finditer(block)] if ends is not None else None
        for number, line in enumerate(lines):
            if sizes is not None and sizes[number] > self._max_line:
                self._data = data
                offset = start + _line_offset(block, number)
                error = LimitExceededError("max_line_bytes", self._max_line, sizes[number], offset)
                error.events = events
                raise error
            if not line:
                # Blank line: WHATWG 9.2.6 "dispatch the event".
                self.last_event_id = self._id_buffer
                if data:
                    events.append(
                        _new_event(
                            ServerSentEvent,
                            (
                                self._event_type or "message",
                                "\n".join(data),
                                self._id_buffer,
                                self._retry_block,
                            ),
                        )
                    )
                    data = []
                    size = 0
                    self._measured = self._exact = 0
                    if line_ends is not None:
                        ends.append(start + line_ends[number])  # type: ignore[union-attr]
                self._event_type = ""
                self._retry_block = None
                continue
            if line.startswith("data:"):  # the common case, first
                value = line[6:] if line[5:6] == " " else line[5:]
            else:
                colon = line.find(":")
                if colon == 0:
                    continue  # a comment
                if colon < 0:
                    field, value = line, ""
                else:
                    field = line[:colon]
                    value = (
                        line[colon + 2 :]
                        if line[colon + 1 : colon + 2] == " "
                        else line[colon + 1 :]
                    )
                if field != "data":  # "data" with no colon is an empty data line
                    if field == "event":
                        self._event_type = value
                    elif field == "id" and "\x00" not in value:
                        self._id_buffer = value
                    elif field == "retry" and value.isascii() and value.isdigit():
                        self.retry = self._retry_block = _retry(value)
                    # Any other field is ignored (9.2.6).
                    continue
            # The event's size is the UTF-8 length of its data (the LFs that join
            # lines included, the spec's final LF not). Characters are counted, a
            # lower bound; once the count could have passed the limit, each line is
            # measured in bytes, once: the check stays linear however many lines
            # follow.
            size += len(value) + 1 if data else len(value)
            data.append(value)
            if size * 4 > max_event:
                exact = self._measure(data)
                if exact > max_event:
                    self._data = data
                    offset = start + _line_offset(block, number)
                    error = LimitExceededError("max_event_bytes", max_event, exact, offset)
                    error.events = events
                    raise error
        self._data = data
        self._event_size = size
        # The unterminated rest is checked after the complete lines before it, so that
        # the first limit passed in the stream is the one reported.
        if len(rest) > self._max_line:
            error = LimitExceededError("max_line_bytes", self._max_line, len(rest), self._offset)
            error.events = events
            raise error
        return events

    def feed_positions(self, data: bytes) -> list[tuple[int, ServerSentEvent]]:
        """:meth:`feed`, with where each event ended: ``(end, event)`` pairs.

        ``end`` is the byte offset in the stream (counted from the first byte fed, BOM
        included, like :attr:`LimitExceededError.offset`) just past the line end of the
        blank line that dispatched the event; when that line end is a CRLF cut between
        two reads, just past its CR (the event is dispatched then, before the LF
        arrives). For tools that re-cut a stream at event
        boundaries (the testing toolkit's replay planner, ``ssestream check``); the
        usual :meth:`feed` pays nothing for it. Raises what :meth:`feed` raises (the
        error's ``events`` then come without their offsets).
        """
        ends: list[int] = []
        self._ends = ends
        try:
            events = self.feed(data)
        finally:
            self._ends = None
        return list(zip(ends, events, strict=True))

    def _measure(self, data: list[str]) -> int:
        """The exact UTF-8 size of the pending event's data, measuring only the lines
        added since the last call (``_measured`` lines come to ``_exact`` bytes)."""
        measured = self._measured
        exact = self._exact
        for value in data[measured:]:
            # An ASCII str knows it is one (a flag): its length is its UTF-8 size, with
            # no copy made to count it.
            size = len(value) if value.isascii() else len(value.encode("utf-8"))
            exact += size + (1 if measured else 0)
            measured += 1
        self._measured = measured
        self._exact = exact
        return exact

    def close(self) -> list[ServerSentEvent]:
        """Signal the end of input and return the events it completes.

        Per WHATWG 9.2.6, an event whose block was not ended by a blank line is
        discarded at end of input, so this always returns an empty list; call it anyway,
        so that code does not depend on that. The decoder is then ready for a new
        connection's bytes (a leading BOM is stripped again) and keeps
        ``last_event_id`` and ``retry``, which a reconnection needs; an ``id:`` of the
        discarded block, never confirmed by a blank line, is forgotten. (Browsers keep
        the last event ID across reconnections: web-platform-tests
        ``eventsource/format-field-id``.)
        """
        self._reset_stream()
        self._id_buffer = self.last_event_id
        return []
