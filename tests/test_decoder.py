"""Tests of the SSE decoder, with WHATWG HTML 9.2.6 "Interpreting an event stream" as oracle.

Every example runs through :func:`decode_every_way`: fed whole, byte by byte (with empty
reads in between), at every split point into two reads and, for short streams, at every
pair of split points into three reads. Every way must give the same events and the same
final ``last_event_id`` and ``retry``, and ``close()`` must return ``[]`` and keep both.
The expected values are written from the spec's text, quoted where a rule is subtle.

Limits are tested the same way through :func:`errors_every_way`: every way of feeding
must raise :class:`LimitExceededError`.

The properties at the end (Hypothesis) state that any split gives the same events as one
read, that only ssestream's own errors escape on garbage, and that the decoder agrees with
:func:`reference_decode`, a direct transcription of the spec that decodes the stream as a
whole.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import json
import pickle
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ssestream
from ssestream import LimitExceededError, ServerSentEvent, SSEDecoder, SSEStreamError

MiB = 1024 * 1024
BOM = b"\xef\xbb\xbf"
FIXTURES = Path(__file__).parent / "fixtures"

# Streams up to this many bytes are also fed at every pair of split points (three reads).
THREE_READS_MAX_LEN = 40


# --------------------------------------------------------------------------------------
# The helper every example goes through


@dataclass(frozen=True)
class Outcome:
    """What a whole stream produced: its events and the decoder's state at the end."""

    events: list[ServerSentEvent]
    last_event_id: str = ""
    retry: int | None = None


def ev(
    data: str, event: str = "message", id: str = "", retry: int | None = None
) -> ServerSentEvent:
    """Shorthand for an expected event."""
    return ServerSentEvent(data=data, event=event, id=id, retry=retry)


def feed_reads(reads: Sequence[bytes], **limits: int | None) -> Outcome:
    """Feed ``reads`` to a new decoder, then close it; check what close() must do."""
    decoder = SSEDecoder(**limits)
    events: list[ServerSentEvent] = []
    for read in reads:
        got = decoder.feed(read)
        assert type(got) is list
        events += got
    assert all(type(event) is ServerSentEvent for event in events)
    outcome = Outcome(events, decoder.last_event_id, decoder.retry)
    # The spec discards an unterminated event, so close() never completes one, and it
    # keeps what a reconnection needs.
    assert decoder.close() == []
    assert (decoder.last_event_id, decoder.retry) == (outcome.last_event_id, outcome.retry)
    return outcome


def ways_to_feed(stream: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """Yield (description, reads) for every way of cutting ``stream`` that we test."""
    n = len(stream)
    yield "whole", [stream]
    yield "byte by byte", [stream[i : i + 1] for i in range(n)]
    yield (
        "byte by byte with empty reads",
        [b""] + [x for i in range(n) for x in (stream[i : i + 1], b"")],
    )
    for i in range(n + 1):
        yield f"in two reads cut at {i}", [stream[:i], stream[i:]]
    if n <= THREE_READS_MAX_LEN:
        for i in range(1, n):
            for j in range(i + 1, n):
                yield f"in three reads cut at {i} and {j}", [stream[:i], stream[i:j], stream[j:]]


def decode_every_way(stream: bytes, **limits: int | None) -> Outcome:
    """Decode ``stream`` fed every way of :func:`ways_to_feed`; all must agree.

    Returns the common outcome, for the caller to compare with the spec's.
    """
    expected = feed_reads([stream], **limits)
    for way, reads in ways_to_feed(stream):
        assert feed_reads(reads, **limits) == expected, f"fed {way}"
    return expected


def feed_reads_or_error(
    reads: Sequence[bytes], **limits: int | None
) -> Outcome | LimitExceededError:
    """Like :func:`feed_reads`, but return the LimitExceededError if one is raised."""
    try:
        return feed_reads(reads, **limits)
    except LimitExceededError as error:
        return error


def errors_every_way(stream: bytes, **limits: int | None) -> dict[str, LimitExceededError]:
    """Feed ``stream`` every way; each must raise LimitExceededError. Return them by way."""
    results = {way: feed_reads_or_error(reads, **limits) for way, reads in ways_to_feed(stream)}
    not_raised = [way for way, result in results.items() if isinstance(result, Outcome)]
    assert not not_raised, f"no LimitExceededError when fed {', '.join(not_raised[:5])}, ..."
    return {way: e for way, e in results.items() if isinstance(e, LimitExceededError)}


def test_the_helper_cuts_every_way() -> None:
    # The helper is what makes every other test split-proof: check that it really feeds
    # all the cuts it claims, each reassembling the stream.
    ways = dict(ways_to_feed(b"abcd"))
    assert all(b"".join(reads) == b"abcd" for reads in ways.values())
    assert ways["byte by byte"] == [b"a", b"b", b"c", b"d"]
    assert {w for w in ways if w.startswith("in two reads")} == {
        f"in two reads cut at {i}" for i in range(5)
    }
    assert ways["in three reads cut at 1 and 3"] == [b"a", b"bc", b"d"]
    assert len([w for w in ways if w.startswith("in three reads")]) == 3


# --------------------------------------------------------------------------------------
# Examples: each table is (stream, expected Outcome), decoded every way


def check(stream: bytes, expected: Outcome) -> None:
    assert decode_every_way(stream) == expected


# "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a single U+000A LINE
# FEED (LF) character not preceded by a U+000D CARRIAGE RETURN (CR) character, and a
# single U+000D CARRIAGE RETURN (CR) character not followed by a U+000A LINE FEED (LF)
# character being the ways in which a line can end."
LINE_ENDS = [
    pytest.param(b"data: a\n\n", Outcome([ev("a")]), id="lf"),
    pytest.param(b"data: a\r\r", Outcome([ev("a")]), id="cr"),
    pytest.param(b"data: a\r\n\r\n", Outcome([ev("a")]), id="crlf"),
    pytest.param(b"data: a\r\ndata: b\rdata: c\n\r", Outcome([ev("a\nb\nc")]), id="mixed"),
    pytest.param(b"data: a\n\rdata: b\r\n\n", Outcome([ev("a"), ev("b")]), id="lf-then-cr-is-two"),
    pytest.param(b"data: a\r\r\ndata: b\r\n\r", Outcome([ev("a"), ev("b")]), id="cr-then-crlf"),
    pytest.param(b"data: a\r\ndata: b\r\n\r\n", Outcome([ev("a\nb")]), id="crlf-is-one-end"),
    pytest.param(b"\n\r\r\n\n\r\ndata: a\n\n", Outcome([ev("a")]), id="leading-blank-lines"),
    pytest.param(
        "data: a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i\n\n".encode(),
        Outcome([ev("a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i")]),
        id="no-other-unicode-line-breaks",
    ),
]


@pytest.mark.parametrize(("stream", "expected"), LINE_ENDS)
def test_line_ends(stream: bytes, expected: Outcome) -> None:
    check(stream, expected)


# "Event streams in this format must always be encoded as UTF-8" and are decoded with
# the UTF-8 decode algorithm, which yields U+FFFD for each maximal invalid subsequence.
UTF8 = [
    pytest.param("data: é€😀\n\n".encode(), Outcome([ev("é€😀")]), id="multibyte-split-anywhere"),
    pytest.param(b"data: \xff\n\n", Outcome([ev("\ufffd")]), id="invalid-byte"),
    pytest.param(b"data: a\x80b\n\n", Outcome([ev("a\ufffdb")]), id="lone-continuation"),
    pytest.param(b"data: \xe2\x82\n\n", Outcome([ev("\ufffd")]), id="truncated-at-line-end"),
    pytest.param(b"data: \xf0\x9f\x98x\n\n", Outcome([ev("\ufffdx")]), id="truncated-before-ascii"),
    pytest.param(
        b"data: \xe2\x82\xe2\x82\xac\n\n", Outcome([ev("\ufffd€")]), id="truncated-then-valid"
    ),
    pytest.param(b"data: \xed\xa0\x80\n\n", Outcome([ev("\ufffd" * 3)]), id="surrogate"),
    pytest.param(b"data: \xc0\xaf\n\n", Outcome([ev("\ufffd" * 2)]), id="overlong"),
    pytest.param(b"data: \xf4\x90\x80\x80\n\n", Outcome([ev("\ufffd" * 4)]), id="above-u10ffff"),
    pytest.param(
        b"data: \xe2\ndata: \x82\xac\n\n",
        Outcome([ev("\ufffd\n\ufffd\ufffd")]),
        id="lf-inside-sequence",
    ),
    pytest.param(b"dat\xff: x\n\ndata: y\n\n", Outcome([ev("y")]), id="invalid-in-field-name"),
    pytest.param(b"data: \x00\n\n", Outcome([ev("\x00")]), id="nul-in-data"),
]


@pytest.mark.parametrize(("stream", "expected"), UTF8)
def test_utf8_decoding(stream: bytes, expected: Outcome) -> None:
    check(stream, expected)


# "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
BOMS = [
    pytest.param(BOM + b"data: a\n\n", Outcome([ev("a")]), id="stripped-even-when-split"),
    pytest.param(BOM, Outcome([]), id="bom-alone"),
    pytest.param(BOM + b"\n" + BOM + b"data: a\n\n", Outcome([]), id="only-at-stream-start"),
    pytest.param(
        BOM + BOM + b"data: a\n\ndata: b\n\n",
        Outcome([ev("b")]),
        id="second-bom-kept-in-field-name",
    ),
    pytest.param(b"data: a\n\n" + BOM + b"data: b\n\n", Outcome([ev("a")]), id="bom-later-is-data"),
    pytest.param(b"data: " + BOM + b"a\n\n", Outcome([ev("\ufeffa")]), id="bom-in-value-kept"),
    pytest.param(b"data:" + BOM + b"\n\n", Outcome([ev("\ufeff")]), id="bom-is-not-a-space"),
    pytest.param(b"\xef\xbbdata: a\n\ndata: b\n\n", Outcome([ev("b")]), id="bom-prefix-is-not-bom"),
    pytest.param(b"\xefdata: a\n\ndata: b\n\n", Outcome([ev("b")]), id="bom-first-byte-only"),
    pytest.param(b"\xef\xbb\n\ndata: b\n\n", Outcome([ev("b")]), id="bom-prefix-then-line-end"),
    # WPT eventsource/format-bom-utf-16: always UTF-8, so a UTF-16 BOM is two U+FFFD.
    pytest.param(b"\xff\xfedata:1\n\ndata:2\n\n", Outcome([ev("2")]), id="utf16le-bom-not-used"),
    pytest.param(b"\xfe\xffdata:1\n\ndata:2\n\n", Outcome([ev("2")]), id="utf16be-bom-not-used"),
]


@pytest.mark.parametrize(("stream", "expected"), BOMS)
def test_byte_order_mark(stream: bytes, expected: Outcome) -> None:
    check(stream, expected)


# "If the line starts with a U+003A COLON character (:) - Ignore the line.
#  If the line contains a U+003A COLON character (:) - Collect the characters on the line
#  before the first U+003A COLON character (:), and let field be that string. Collect the
#  characters on the line after the first U+003A COLON character (:), and let value be
#  that string. If value starts with a U+0020 SPACE character, remove it from value.
#  Otherwise, the string is not empty but does not contain a U+003A COLON character (:) -
#  Process the field using [...] the whole line as the field name, and the empty string as
#  the field value."  Field names are compared case-sensitively ("If the field name is").
FIELDS = [
    pytest.param(b"data:a\n\n", Outcome([ev("a")]), id="no-space"),
    pytest.param(b"data: a\n\n", Outcome([ev("a")]), id="one-space-stripped"),
    pytest.param(b"data:  a\n\n", Outcome([ev(" a")]), id="two-spaces-keep-one"),
    pytest.param(b"data: a \n\n", Outcome([ev("a ")]), id="trailing-space-kept"),
    pytest.param(b"data:\ta\n\n", Outcome([ev("\ta")]), id="tab-not-stripped"),
    pytest.param(b"data: a:b: c\n\n", Outcome([ev("a:b: c")]), id="split-at-first-colon"),
    pytest.param(b"data::\n\n", Outcome([ev(":")]), id="colon-as-value"),
    pytest.param(b"data\n\n", Outcome([ev("")]), id="no-colon-empty-value"),
    pytest.param(b"data:\n\n", Outcome([ev("")]), id="empty-value"),
    pytest.param(b"data: \n\n", Outcome([ev("")]), id="space-only-value"),
    pytest.param(b"data\ndata\n\n", Outcome([ev("\n")]), id="two-empty-data-lines"),
    pytest.param(b"data\ndata: a\n\n", Outcome([ev("\na")]), id="empty-first-line"),
    pytest.param(b"data: a\ndata\n\n", Outcome([ev("a\n")]), id="empty-last-line"),
    pytest.param(b"data: a\ndata: b\ndata: c\n\n", Outcome([ev("a\nb\nc")]), id="joined-with-lf"),
    pytest.param(b": comment\ndata: a\n\n", Outcome([ev("a")]), id="comment"),
    pytest.param(b":\n\n", Outcome([]), id="bare-colon-comment"),
    pytest.param(b":data: a\n\n", Outcome([]), id="comment-that-looks-like-data"),
    pytest.param(b"data: a\n: c\ndata: b\n\n", Outcome([ev("a\nb")]), id="comment-inside-event"),
    pytest.param(b": only\n: comments\n\n", Outcome([]), id="comments-dispatch-nothing"),
    pytest.param(b"Data: a\nDATA: b\n\n", Outcome([]), id="names-case-sensitive"),
    pytest.param(b" data: a\n\n", Outcome([]), id="leading-space-in-name"),
    pytest.param(b"data : a\n\n", Outcome([]), id="space-before-colon"),
    pytest.param(b"datum: a\ndat: b\ndata2: c\n\n", Outcome([]), id="near-names"),
    pytest.param(b"foo: x\ndata: a\nbar\n\n", Outcome([ev("a")]), id="unknown-fields-ignored"),
    pytest.param(b"foo: x\n\n", Outcome([]), id="unknown-field-alone"),
]


@pytest.mark.parametrize(("stream", "expected"), FIELDS)
def test_fields(stream: bytes, expected: Outcome) -> None:
    check(stream, expected)


# "event: Set the event type buffer to field value." Dispatch: "If the event type buffer
# has a value other than the empty string, change the type of the newly created event to
# equal the value of the event type buffer", then "Set the data buffer and the event type
# buffer to the empty string." Step 2 also empties it when no event is dispatched.
EVENT_TYPES = [
    pytest.param(b"event: add\ndata: 1\n\n", Outcome([ev("1", "add")]), id="set"),
    pytest.param(b"data: 1\nevent: add\n\n", Outcome([ev("1", "add")]), id="after-data"),
    pytest.param(b"event: a\nevent: b\ndata: 1\n\n", Outcome([ev("1", "b")]), id="last-wins"),
    pytest.param(
        b"event: add\ndata: 1\n\ndata: 2\n\n", Outcome([ev("1", "add"), ev("2")]), id="reset"
    ),
    pytest.param(b"event: add\n\ndata: 2\n\n", Outcome([ev("2")]), id="reset-without-dispatch"),
    pytest.param(b"event:\ndata: 1\n\n", Outcome([ev("1")]), id="empty-is-message"),
    pytest.param(b"event\ndata: 1\n\n", Outcome([ev("1")]), id="no-colon-is-message"),
    pytest.param(
        b"event: add\nevent:\ndata: 1\n\n", Outcome([ev("1")]), id="emptied-by-later-line"
    ),
    pytest.param(b"event:  add\ndata: 1\n\n", Outcome([ev("1", " add")]), id="second-space-kept"),
    pytest.param("event: é\ndata: 1\n\n".encode(), Outcome([ev("1", "é")]), id="non-ascii"),
    pytest.param(b"Event: add\ndata: 1\n\n", Outcome([ev("1")]), id="case-sensitive"),
]


@pytest.mark.parametrize(("stream", "expected"), EVENT_TYPES)
def test_event_type(stream: bytes, expected: Outcome) -> None:
    check(stream, expected)


# "id: If the field value does not contain U+0000 NULL, then set the last event ID buffer
# to the field value. Otherwise, ignore the field."  Dispatch: "Set the last event ID
# string of the event source to the value of the last event ID buffer. The buffer does
# not get reset, so the last event ID string of the event source remains set to this
# value until the next time it is set by the server."  This happens before "If the data
# buffer is an empty string, [...] return", so even a block with no data updates it.
# The event's lastEventId is "the last event ID string of the event source".
IDS = [
    pytest.param(b"id: 1\ndata: a\n\n", Outcome([ev("a", id="1")], "1"), id="set"),
    pytest.param(
        b"data: a\nid: 1\n\n", Outcome([ev("a", id="1")], "1"), id="after-data-same-block"
    ),
    pytest.param(
        b"id: 1\ndata: a\n\ndata: b\n\n",
        Outcome([ev("a", id="1"), ev("b", id="1")], "1"),
        id="persists-across-events",
    ),
    pytest.param(
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        Outcome([ev("a", id="1"), ev("b")], ""),
        id="reset-by-id",
    ),
    pytest.param(
        b"id: 1\ndata: a\n\nid:\ndata: b\n\n",
        Outcome([ev("a", id="1"), ev("b")], ""),
        id="reset-by-id-colon",
    ),
    pytest.param(b"id: 1\n\n", Outcome([], "1"), id="block-without-data-updates"),
    pytest.param(
        b"data: a\n\nid: 7\n\ndata: b\n\n",
        Outcome([ev("a"), ev("b", id="7")], "7"),
        id="id-only-block",
    ),
    pytest.param(
        b"id: 1\n\nid: 2\ndata: a\n", Outcome([], "1"), id="unterminated-block-does-not-update"
    ),
    pytest.param(b"id: 1\n\nid: 2", Outcome([], "1"), id="unterminated-line-does-not-update"),
    pytest.param(
        b"id: 1\n\nid: a\x00b\ndata: x\n\n", Outcome([ev("x", id="1")], "1"), id="nul-ignores-field"
    ),
    pytest.param(b"id: \x00\ndata: x\n\n", Outcome([ev("x")], ""), id="nul-alone"),
    pytest.param(b"id: 1\nid: 2\ndata: a\n\n", Outcome([ev("a", id="2")], "2"), id="last-wins"),
    pytest.param(b"id:  5\ndata: a\n\n", Outcome([ev("a", id=" 5")], " 5"), id="second-space-kept"),
    pytest.param(
        "id: é€ x\ndata: a\n\n".encode(), Outcome([ev("a", id="é€ x")], "é€ x"), id="any-text"
    ),
    pytest.param(b"ID: 1\ndata: a\n\n", Outcome([ev("a")], ""), id="case-sensitive"),
]


@pytest.mark.parametrize(("stream", "expected"), IDS)
def test_last_event_id(stream: bytes, expected: Outcome) -> None:
    check(stream, expected)


# "retry: If the field value consists of only ASCII digits, then interpret the field value
# as an integer in base ten, and set the event stream's reconnection time to that
# integer. Otherwise, ignore the field."  The empty value is taken as not a number (as
# browsers do).
RETRY_VALUES = [
    pytest.param(b"retry: 10", 10, id="digits"),
    pytest.param(b"retry:10", 10, id="no-space"),
    pytest.param(b"retry: 0", 0, id="zero"),
    pytest.param(b"retry: 007", 7, id="leading-zeros"),
    pytest.param(b"retry: 9223372036854775807", 2**63 - 1, id="int64-max"),
    # Past 2**63 - 1 ms (292 million years) the value saturates: exact digits would
    # cost quadratic time and, past 4,300 of them, trip Python's int-string limit.
    pytest.param(b"retry: 99999999999999999999", 2**63 - 1, id="huge"),
    pytest.param(b"retry:  10", None, id="second-space"),
    pytest.param(b"retry: 10 ", None, id="trailing-space"),
    pytest.param(b"retry: 1.5", None, id="decimal"),
    pytest.param(b"retry: -1", None, id="negative"),
    pytest.param(b"retry: +1", None, id="plus"),
    pytest.param(b"retry: 1e3", None, id="exponent"),
    pytest.param(b"retry: 1_000", None, id="underscore"),
    pytest.param(b"retry: 0x10", None, id="hex"),
    pytest.param("retry: ١٢".encode(), None, id="arabic-indic-digits"),
    pytest.param("retry: ²".encode(), None, id="superscript-two"),
    pytest.param("retry: \uff11".encode(), None, id="fullwidth-digit"),
    pytest.param(b"retry:", None, id="empty"),
    pytest.param(b"retry", None, id="no-colon"),
    pytest.param(b"Retry: 10", None, id="case-sensitive"),
]


@pytest.mark.parametrize(("line", "retry"), RETRY_VALUES)
def test_retry_values(line: bytes, retry: int | None) -> None:
    check(line + b"\ndata: a\n\n", Outcome([ev("a", retry=retry)], retry=retry))


RETRY_STREAMS = [
    pytest.param(
        b"retry: 10\ndata: a\n\ndata: b\n\n",
        Outcome([ev("a", retry=10), ev("b")], retry=10),
        id="event-retry-only-in-own-block",
    ),
    pytest.param(b"retry: 10\n\n", Outcome([], retry=10), id="block-without-data"),
    pytest.param(
        b"retry: 10\n\ndata: a\n\n", Outcome([ev("a")], retry=10), id="not-carried-to-next-event"
    ),
    pytest.param(
        b"retry: 10\nretry: 20\ndata: a\n\n", Outcome([ev("a", retry=20)], retry=20), id="last-wins"
    ),
    pytest.param(
        b"retry: 10\nretry: x\ndata: a\n\n",
        Outcome([ev("a", retry=10)], retry=10),
        id="invalid-does-not-clear",
    ),
    pytest.param(b"retry: 10\n\nretry: 1.5\n\n", Outcome([], retry=10), id="invalid-later-block"),
    # The field is processed when its line ends: only the event's buffers are discarded
    # at end of input, the reconnection time is already set.
    pytest.param(b"retry: 10\n", Outcome([], retry=10), id="unterminated-block"),
    pytest.param(b"retry: 10", Outcome([]), id="unterminated-line"),
]


@pytest.mark.parametrize(("stream", "expected"), RETRY_STREAMS)
def test_retry(stream: bytes, expected: Outcome) -> None:
    check(stream, expected)


# "If the line is empty (a blank line) - Dispatch the event"; "If the data buffer is an
# empty string, set the data buffer and the event type buffer to the empty string and
# return."  "Once the end of the file is reached, any pending data must be discarded."
DISPATCH = [
    pytest.param(b"", Outcome([]), id="empty-stream"),
    pytest.param(b"\n\n\n", Outcome([]), id="blank-lines-dispatch-nothing"),
    pytest.param(
        b"data: a\n\n\n\ndata: b\n\n", Outcome([ev("a"), ev("b")]), id="extra-blank-lines"
    ),
    pytest.param(b"data:\n\n", Outcome([ev("")]), id="empty-data-is-an-event"),
    pytest.param(b"data: a\n\ndata: b\n", Outcome([ev("a")]), id="unterminated-event-discarded"),
    pytest.param(b"data: a\n\ndata: b", Outcome([ev("a")]), id="unterminated-line-discarded"),
    pytest.param(b"data: a\n\ndata: b\r", Outcome([ev("a")]), id="one-cr-is-not-a-blank-line"),
    pytest.param(
        b'data: {"x": 1}\n\ndata: [DONE]\n\n',
        Outcome([ev('{"x": 1}'), ev("[DONE]")]),
        id="openai-style",
    ),
]


@pytest.mark.parametrize(("stream", "expected"), DISPATCH)
def test_dispatch(stream: bytes, expected: Outcome) -> None:
    check(stream, expected)


# The examples of WHATWG HTML 9.2.6 (and the event-type example of 9.2.1), as written.
SPEC_EXAMPLES = [
    pytest.param(
        b"data: YHOO\ndata: +2\ndata: 10\n\n",
        Outcome([ev("YHOO\n+2\n10")]),
        id="stock-ticker-yhoo-multiline",
    ),
    pytest.param(
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n\n",
        Outcome([ev("first event", id="1"), ev("second event"), ev(" third event")], ""),
        id="first-second-third-event",
    ),
    pytest.param(
        b"data\n\ndata\ndata\n\ndata:",
        Outcome([ev(""), ev("\n")]),
        id="empty-data-and-unterminated-last-block",
    ),
    pytest.param(
        b"data:test\n\ndata: test\n\n", Outcome([ev("test"), ev("test")]), id="space-after-colon"
    ),
    pytest.param(
        b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
        Outcome([ev("73857293", "add"), ev("2153", "remove"), ev("113411", "add")]),
        id="event-types-add-remove",
    ),
]


@pytest.mark.parametrize(("stream", "expected"), SPEC_EXAMPLES)
def test_spec_examples(stream: bytes, expected: Outcome) -> None:
    check(stream, expected)


# --------------------------------------------------------------------------------------
# Timing of dispatch, close() and new connections


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(b"data: a\r\r", id="cr-cr"),
        pytest.param(b"data: a\n\r", id="lf-cr"),
        pytest.param(b"data: a\r\n\r", id="crlf-cr"),
        pytest.param(b"id: 5\ndata: a\r\r", id="with-id"),
    ],
)
def test_cr_at_end_of_read_dispatches_at_once(read: bytes) -> None:
    # The final CR ends the blank line whatever follows, so the event must not wait for
    # the next read to see whether an LF comes.
    decoder = SSEDecoder()
    events = decoder.feed(read)
    assert [e.data for e in events] == ["a"]
    assert decoder.last_event_id == events[0].id
    # An LF opening the next read completes the CRLF: it is not a line of its own.
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"\n\n") == [ev("b", id=events[0].id)]


def test_crlf_split_across_reads_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []  # not a blank line: no dispatch
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"\n\r") == [ev("a\nb")]


def test_lf_after_cr_is_skipped_only_once() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []  # an empty read does not forget the pending CR
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [ev("a")]  # this LF is a blank line


def test_events_come_out_of_the_read_that_completes_them() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\ndata: b\n\nda") == [ev("a"), ev("b")]
    assert decoder.feed(b"ta: c\n\n") == [ev("c")]


def test_close_discards_the_unterminated_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: x\nretry: 5\ndata: a\n") == []
    assert decoder.close() == []
    # A new connection starts with empty buffers: no "a", no type "x", no block retry.
    assert decoder.feed(b"data: b\n\n") == [ev("b")]
    assert decoder.retry == 5  # the reconnection time set by the first connection stays


def test_close_discards_an_unterminated_line() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a")
    assert decoder.close() == []
    assert decoder.feed(b"\n\n") == []


def test_close_keeps_last_event_id_and_retry() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 1\nretry: 50\ndata: a\n\n") == [ev("a", id="1", retry=50)]
    assert decoder.close() == []
    assert (decoder.last_event_id, decoder.retry) == ("1", 50)
    # On the new connection the last event ID is still in force until the server sets
    # another: it is what the client sent as Last-Event-ID.
    assert decoder.feed(b"data: b\n\n") == [ev("b", id="1")]
    assert decoder.feed(b"id: 2\ndata: c\n\n") == [ev("c", id="2")]
    assert (decoder.last_event_id, decoder.retry) == ("2", 50)


def test_close_forgets_the_id_of_an_unterminated_block() -> None:
    # "id: 2" was never confirmed by a blank line, so last_event_id stays "1" (the spec
    # discards pending data at end of file) and the next connection, which sent
    # Last-Event-ID: 1, must not see its events stamped with "2".
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 1\n\n") == []
    assert decoder.feed(b"id: 2\ndata: x\n") == []
    assert decoder.close() == []
    assert decoder.last_event_id == "1"
    assert decoder.feed(b"data: y\n\n") == [ev("y", id="1")]
    assert decoder.last_event_id == "1"


@pytest.mark.parametrize(
    "second",
    [
        pytest.param([BOM + b"data: b\n\n"], id="whole"),
        pytest.param([b"\xef", b"\xbb", b"\xbfdata: b\n\n"], id="bom-split"),
    ],
)
def test_close_rearms_bom_stripping(second: list[bytes]) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(BOM + b"data: a\n\n") == [ev("a")]
    decoder.close()
    events = [e for read in second for e in decoder.feed(read)]
    assert events == [ev("b")]


def test_bom_is_not_stripped_again_without_close() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(BOM + b"data: a\n\n") == [ev("a")]
    assert decoder.feed(BOM + b"data: b\n\ndata: c\n\n") == [ev("c")]


def test_close_drops_a_pending_bom_prefix() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef\xbb") == []
    decoder.close()
    assert decoder.feed(b"data: a\n\n") == [ev("a")]


def test_new_decoder_state() -> None:
    decoder = SSEDecoder()
    assert (decoder.last_event_id, decoder.retry) == ("", None)
    assert decoder.feed(b"") == []
    assert decoder.close() == []


@pytest.mark.parametrize(
    "decoder_input",
    [pytest.param(b"", id="fresh"), pytest.param(b"data: a\n\n", id="after-first-read")],
)
def test_feeding_str_is_a_type_error(decoder_input: bytes) -> None:
    decoder = SSEDecoder()
    decoder.feed(decoder_input)
    with pytest.raises(TypeError):
        decoder.feed("data: a\n\n")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Limits


def test_limit_error_is_a_library_error() -> None:
    assert issubclass(LimitExceededError, SSEStreamError)
    assert ssestream.LimitExceededError is LimitExceededError


def test_default_limits() -> None:
    parameters = inspect.signature(SSEDecoder).parameters
    assert parameters["max_line_bytes"].default == 32 * MiB
    assert parameters["max_event_bytes"].default == 64 * MiB
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())


def test_default_line_limit_applies() -> None:
    line = b"data: " + b"x" * (32 * MiB - 5)  # 32 MiB + 1 bytes, no line end yet
    with pytest.raises(LimitExceededError) as info:
        SSEDecoder().feed(line)
    error = info.value
    assert (error.limit_name, error.limit, error.size, error.offset) == (
        "max_line_bytes",
        32 * MiB,
        32 * MiB + 1,
        0,
    )


def test_no_line_limit_with_none() -> None:
    decoder = SSEDecoder(max_line_bytes=None)
    assert decoder.feed(b"data: " + b"x" * (32 * MiB - 5)) == []
    (event,) = decoder.feed(b"\n\n")
    assert len(event.data) == 32 * MiB - 5


@pytest.mark.parametrize(
    ("limits", "raises"),
    [
        pytest.param({}, True, id="default-64-mib"),
        pytest.param({"max_event_bytes": None}, False, id="none"),
    ],
)
def test_event_limit_default_and_none(limits: dict[str, int | None], raises: bool) -> None:
    decoder = SSEDecoder(**limits)
    line = b"data: " + b"x" * MiB + b"\n"
    for _ in range(63):
        assert decoder.feed(line) == []
    # The 64th line of 1 MiB, with the LFs that join the lines, takes the data over 64 MiB.
    if raises:
        with pytest.raises(LimitExceededError) as info:
            decoder.feed(line)
        assert (info.value.limit_name, info.value.limit) == ("max_event_bytes", 64 * MiB)
    else:
        assert decoder.feed(line) == []


def test_line_limit_while_an_unterminated_line_grows() -> None:
    decoder = SSEDecoder(max_line_bytes=10)
    assert decoder.feed(b"data: a\n\n") == [ev("a")]
    assert decoder.feed(b"data: ") == []
    assert decoder.feed(b"0123") == []  # 10 bytes: at the limit, not over it
    with pytest.raises(LimitExceededError) as info:
        decoder.feed(b"4")
    error = info.value
    assert (error.limit_name, error.limit, error.size, error.offset) == (
        "max_line_bytes",
        10,
        11,
        9,
    )


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(b"data: 0123\n\n", id="lf"),
        pytest.param(b"data: 0123\r\n\r\n", id="crlf-not-counted"),
        pytest.param(b"data: 0123\r\r", id="cr-not-counted"),
        pytest.param(b"data: 0123", id="unterminated"),
        pytest.param(BOM + b"data: 0123\n\n", id="bom-not-counted"),
        pytest.param("data: éé\n\n".encode(), id="multibyte-10-bytes"),
        pytest.param(b"data:\xff\xff\xff\xff\xff\n\n", id="invalid-bytes-counted-as-received"),
        pytest.param(b"data: \xe2\x82\xe2\x82\n\n", id="truncated-sequences-as-received"),
        pytest.param(b"data: 0123\ndata: 4567\n\n", id="each-line-separately"),
    ],
)
def test_line_of_exactly_the_limit_is_accepted(stream: bytes) -> None:
    expected = feed_reads([stream], max_line_bytes=None)
    assert decode_every_way(stream, max_line_bytes=10) == expected


@pytest.mark.parametrize(
    ("stream", "offset"),
    [
        pytest.param(b"data: 01234\n\n", 0, id="terminated"),
        pytest.param(b"data: 01234", 0, id="unterminated"),
        pytest.param(b": comment 0\n\n", 0, id="comment-counts-too"),
        pytest.param(b"data: a\n\ndata: 01234\n\n", 9, id="second-line"),
        pytest.param(BOM + b"data: 01234\n\n", 3, id="offset-counts-the-bom"),
        pytest.param(b"data: a\r\ndata: 0123456789\r\n", 9, id="after-crlf"),
    ],
)
def test_line_over_the_limit_raises(stream: bytes, offset: int) -> None:
    errors = errors_every_way(stream, max_line_bytes=10)
    assert {(e.limit_name, e.limit) for e in errors.values()} == {("max_line_bytes", 10)}
    # The size is what had arrived when the check failed: the whole line at most.
    assert all(10 < e.size <= len(stream) for e in errors.values())
    # "offset: the byte offset in the stream [...] of the start of the line"
    assert {way: e.offset for way, e in errors.items()} == dict.fromkeys(errors, offset)


def test_a_bom_is_not_part_of_a_line() -> None:
    # Even with no room for any line, a BOM and blank lines are accepted, the BOM split
    # or not: the first bytes of a BOM are not a line yet.
    assert decode_every_way(BOM + b"\n\n\n", max_line_bytes=0) == Outcome([])
    errors = errors_every_way(BOM + b"x\n", max_line_bytes=0)
    assert {(e.limit_name, e.size, e.offset) for e in errors.values()} == {("max_line_bytes", 1, 3)}


def test_line_limit_counts_bytes_not_characters() -> None:
    # 6 + 5 * 2 = 16 bytes, but only 11 characters: over a limit of 12 bytes, whichever
    # way it is read.
    stream = "data: ééééé\n\n".encode()
    errors = errors_every_way(stream, max_line_bytes=12)
    assert {(e.limit_name, e.limit, e.offset) for e in errors.values()} == {
        ("max_line_bytes", 12, 0)
    }


def test_the_first_limit_passed_in_the_stream_is_reported() -> None:
    # The event passes max_event_bytes on its second line (byte 20) before the third line
    # passes max_line_bytes: every way of feeding must report the event limit.
    stream = b"data: 1234\ndata: 56\ndata: 0123456789\n\n"
    errors = errors_every_way(stream, max_line_bytes=12, max_event_bytes=5)
    assert {e.limit_name for e in errors.values()} == {"max_event_bytes"}


def test_event_limit_across_many_data_lines() -> None:
    # Each line is small; the event as a whole passes the limit.
    stream = b"data: abc\n" * 30 + b"\n"
    assert decode_every_way(stream, max_line_bytes=9, max_event_bytes=None).events == [
        ev("\n".join(["abc"] * 30))
    ]
    errors = errors_every_way(stream, max_line_bytes=9, max_event_bytes=100)
    assert {(e.limit_name, e.limit) for e in errors.values()} == {("max_event_bytes", 100)}
    assert all(e.size > 100 for e in errors.values())


@pytest.mark.parametrize(
    "data_lines",
    [
        pytest.param([b"data: abcd"], id="one-line"),
        pytest.param([b"data: ab", b"data: c"], id="lines-joined-by-lf"),
        pytest.param([b"data"] * 5, id="empty-lines"),
    ],
)
def test_event_limit_boundary(data_lines: list[bytes]) -> None:
    # "an event's data exceeds max_event_bytes": data of exactly the limit is accepted,
    # one byte more is not. Each of these events has 4 bytes of data.
    stream = b"\n".join(data_lines) + b"\n\n"
    (event,) = feed_reads([stream], max_event_bytes=None).events
    assert len(event.data.encode()) == 4
    assert decode_every_way(stream, max_event_bytes=4).events == [event]
    errors = errors_every_way(stream, max_event_bytes=3)
    assert {(e.limit_name, e.limit) for e in errors.values()} == {("max_event_bytes", 3)}


def test_event_limit_offset_is_the_line_that_passed_it() -> None:
    # The event starts at byte 9; its second data line, at byte 20, takes the data
    # to 9 bytes ("0123\n5678"), over the limit of 8: that line is reported.
    stream = b"data: a\n\ndata: 0123\ndata: 5678\n\n"
    errors = errors_every_way(stream, max_event_bytes=8)
    assert {way: (e.offset, e.size) for way, e in errors.items()} == dict.fromkeys(errors, (20, 9))


def test_event_limit_is_per_event() -> None:
    stream = b"data: 0123\ndata: 5678\n\n" * 20
    outcome = decode_every_way(stream, max_event_bytes=12)  # 9 per event, 180 in all
    assert outcome.events == [ev("0123\n5678")] * 20


def test_event_limit_counts_only_data() -> None:
    stream = (
        b"id: " + b"i" * 100 + b"\nevent: " + b"e" * 100 + b"\n: " + b"c" * 100 + b"\ndata: z\n\n"
    )
    (event,) = decode_every_way(stream, max_event_bytes=5).events
    assert (event.data, event.event, event.id) == ("z", "e" * 100, "i" * 100)


def test_limit_error_attributes() -> None:
    error = LimitExceededError("max_event_bytes", 10, 11, 42)
    assert isinstance(error, SSEStreamError)
    assert (error.limit_name, error.limit, error.size, error.offset) == (
        "max_event_bytes",
        10,
        11,
        42,
    )
    assert "max_event_bytes" in str(error)


# --------------------------------------------------------------------------------------
# The event record


def test_event_defaults() -> None:
    event = ServerSentEvent()
    assert (event.event, event.data, event.id, event.retry) == ("message", "", "", None)


def test_event_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        ServerSentEvent("data")  # type: ignore[misc]


def test_event_is_immutable() -> None:
    event = ServerSentEvent(data="a")
    with pytest.raises(AttributeError):
        event.data = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        event.extra = 1  # type: ignore[attr-defined]
    assert event.data == "a"


def test_event_equality_and_hash() -> None:
    a = ServerSentEvent(data="x", event="e", id="1", retry=5)
    assert a == ServerSentEvent(data="x", event="e", id="1", retry=5)
    assert hash(a) == hash(ServerSentEvent(data="x", event="e", id="1", retry=5))
    for other in (
        ServerSentEvent(data="y", event="e", id="1", retry=5),
        ServerSentEvent(data="x", event="f", id="1", retry=5),
        ServerSentEvent(data="x", event="e", id="2", retry=5),
        ServerSentEvent(data="x", event="e", id="1", retry=None),
    ):
        assert a != other


def test_event_survives_pickle_and_copy() -> None:
    event = ServerSentEvent(data="x", event="e", id="1", retry=5)
    for clone in (pickle.loads(pickle.dumps(event)), copy.copy(event), copy.deepcopy(event)):
        assert type(clone) is ServerSentEvent
        assert (clone.data, clone.event, clone.id, clone.retry) == ("x", "e", "1", 5)


def test_event_json() -> None:
    assert ServerSentEvent(data='{"a": [1, "é"]}').json() == {"a": [1, "é"]}
    with pytest.raises(json.JSONDecodeError):
        ServerSentEvent(data="[DONE]").json()


# --------------------------------------------------------------------------------------
# Linear work


def test_long_line_in_small_reads() -> None:
    # 4 MiB in 16-byte reads is 262,144 reads: linear work finishes in well under a
    # second; rescanning or re-copying the pending line on each read would take minutes.
    payload = b"x" * (4 * MiB)
    stream = b"data: " + payload + b"\n\n"
    decoder = SSEDecoder()
    events = []
    for start in range(0, len(stream), 16):
        events += decoder.feed(stream[start : start + 16])
    assert events == [ev(payload.decode())]


# --------------------------------------------------------------------------------------
# The reference: the spec's algorithm transcribed, on the stream decoded as a whole

_LINE_END = re.compile(r"\r\n|\r|\n")
_ASCII_DIGITS = frozenset("0123456789")


def reference_decode(stream: bytes) -> Outcome:
    """Interpret ``stream`` as WHATWG HTML 9.2.6 says, step by step, in one piece."""
    text = stream.decode("utf-8", "replace")  # the UTF-8 decode algorithm, minus its BOM rule
    if text.startswith("\ufeff"):  # "One leading U+FEFF BYTE ORDER MARK character"
        text = text[1:]
    *lines, _pending = _LINE_END.split(text)  # the text after the last line end is discarded
    data_buffer = event_type_buffer = last_event_id_buffer = last_event_id = ""
    reconnection_time: int | None = None
    block_retry: int | None = None  # the library's extension: retry set in this block
    events: list[ServerSentEvent] = []
    for line in lines:
        if line == "":  # dispatch the event
            last_event_id = last_event_id_buffer
            if data_buffer != "":
                if data_buffer.endswith("\n"):
                    data_buffer = data_buffer[:-1]
                events.append(
                    ServerSentEvent(
                        data=data_buffer,
                        event=event_type_buffer or "message",
                        id=last_event_id,
                        retry=block_retry,
                    )
                )
            data_buffer = event_type_buffer = ""
            block_retry = None
            continue
        if line.startswith(":"):
            continue
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "event":
            event_type_buffer = value
        elif field == "data":
            data_buffer += value + "\n"
        elif field == "id":
            if "\x00" not in value:
                last_event_id_buffer = value
        elif field == "retry" and value and set(value) <= _ASCII_DIGITS:
            reconnection_time = block_retry = int(value)
    return Outcome(events, last_event_id, reconnection_time)


@pytest.mark.parametrize(
    ("stream", "expected"),
    LINE_ENDS + UTF8 + BOMS + FIELDS + EVENT_TYPES + IDS + RETRY_STREAMS + DISPATCH + SPEC_EXAMPLES,
)
def test_reference_agrees_with_the_examples(stream: bytes, expected: Outcome) -> None:
    # The reference must itself be right before it judges the decoder.
    assert reference_decode(stream) == expected


# --------------------------------------------------------------------------------------
# Real recordings

RECORDINGS = sorted(FIXTURES.rglob("*.sse"))


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=str(p.relative_to(FIXTURES))) for p in RECORDINGS]
)
def test_recordings(path: Path) -> None:
    stream = path.read_bytes()
    expected = reference_decode(stream)
    assert expected.events, "a recording with no events tests nothing"
    # Every chat-completion event is a JSON object, or the [DONE] sentinel: a framing
    # error would cut one.
    assert all(e.data == "[DONE]" or isinstance(e.json(), dict) for e in expected.events)
    for size in (1, 7, 4096):
        reads = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert feed_reads(reads) == expected, f"fed in {size}-byte reads"
    # The same stream with a BOM and other line ends is the same events.
    for variant in (BOM + stream, stream.replace(b"\n", b"\r\n"), stream.replace(b"\n", b"\r")):
        reads = [variant[i : i + 7] for i in range(0, len(variant), 7)]
        assert feed_reads(reads) == expected


def test_there_are_recordings() -> None:
    assert len(RECORDINGS) >= 50


# --------------------------------------------------------------------------------------
# Properties

_TOKENS = [
    b"data",
    b"event",
    b"id",
    b"retry",
    b"Data",
    b"dat",
    b":",
    b": ",
    b" ",
    b"  ",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    BOM,
    BOM[:1],
    BOM[1:],
    b"\x00",
    b"x",
    b"add",
    b"7",
    b"42",
    b"1.5",
    "é".encode(),
    "€".encode(),
    "😀".encode(),
    "😀".encode()[:2],
    b"\xff",
    b"\x80",
    "١٢".encode(),
    "²".encode(),
    b"\x0b\x0c\x1c",
    "\x85\u2028".encode(),
    b"\xff\xfe",
]

_token_soup = st.lists(st.one_of(st.sampled_from(_TOKENS), st.binary(max_size=3)), max_size=50).map(
    b"".join
)

_field_line = st.builds(
    lambda name, sep, value: name + sep + value,
    st.sampled_from(["data", "event", "id", "retry", "", "Data", "data ", "x"]),
    st.sampled_from(["", ":", ": ", ":  "]),
    st.one_of(
        st.text(st.sampled_from("ab :1\x00é😀\ufeff\x85\u2028"), max_size=6),
        st.sampled_from(["10", "007", "1.5", "١٢", "²", "-1", "[DONE]", '{"a": 1}']),
    ),
).map(str.encode)

_structured = st.builds(
    lambda bom, lines, tail: bom + b"".join(line + end for line, end in lines) + tail,
    st.sampled_from([b"", BOM, BOM[:2], BOM + BOM]),
    st.lists(
        st.tuples(
            st.one_of(_field_line, st.just(b""), st.just(b""), st.just(b": c")),
            st.sampled_from([b"\n", b"\r", b"\r\n"]),
        ),
        max_size=12,
    ),
    st.sampled_from([b"", b"data: tail", b"\r", b"\xe2\x82"]),
)

sse_streams = st.one_of(_structured, _token_soup)


@st.composite
def streams_in_reads(
    draw: st.DrawFn, streams: st.SearchStrategy[bytes] = sse_streams
) -> tuple[bytes, list[bytes]]:
    """A stream and a random cut of it into reads (empty reads included)."""
    stream = draw(streams)
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    bounds = [0, *cuts, len(stream)]
    return stream, [stream[a:b] for a, b in itertools.pairwise(bounds)]


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


@PROPERTY_SETTINGS
@given(streams_in_reads())
def test_property_any_split_gives_the_same_events(case: tuple[bytes, list[bytes]]) -> None:
    stream, reads = case
    assert feed_reads(reads) == feed_reads([stream])


def _summary(result: Outcome | LimitExceededError) -> object:
    # Events completed before an error depend on the reads, and so does the size reached
    # when the check failed; which limit was passed does not.
    if isinstance(result, LimitExceededError):
        return ("LimitExceededError", result.limit_name, result.limit)
    return result


# Lines with multi-byte characters and invalid bytes (as surrogate escapes until
# encoded) around the sizes of the small limits below.
_VALUE_PIECES = ["a", " ", ":", "é", "€", "😀", "\udcff", "\udce2\udc82"]
_short_lines = st.builds(
    lambda lines, ends: b"".join(line + end for line, end in zip(lines, ends, strict=False)),
    st.lists(
        st.one_of(
            st.builds(
                lambda name, sep, value: (name + sep + value).encode("utf-8", "surrogateescape"),
                st.sampled_from(["data", "id", "event", ""]),
                st.sampled_from([":", ": "]),
                st.lists(st.sampled_from(_VALUE_PIECES), max_size=8).map("".join),
            ),
            st.just(b""),
        ),
        max_size=10,
    ),
    st.lists(st.sampled_from([b"\n", b"\r", b"\r\n"]), min_size=10, max_size=10),
)
_small_limit = st.one_of(st.none(), st.integers(0, 16))


@PROPERTY_SETTINGS
@given(streams_in_reads(st.one_of(_short_lines, sse_streams)), _small_limit, _small_limit)
def test_property_any_split_passes_the_same_limit(
    case: tuple[bytes, list[bytes]], max_line_bytes: int | None, max_event_bytes: int | None
) -> None:
    stream, reads = case
    limits = {"max_line_bytes": max_line_bytes, "max_event_bytes": max_event_bytes}
    whole = _summary(feed_reads_or_error([stream], **limits))
    assert _summary(feed_reads_or_error(reads, **limits)) == whole
    byte_by_byte = [stream[i : i + 1] for i in range(len(stream))]
    assert _summary(feed_reads_or_error(byte_by_byte, **limits)) == whole


@PROPERTY_SETTINGS
@given(
    streams_in_reads(st.one_of(st.binary(max_size=200), sse_streams, _short_lines)),
    _small_limit,
    _small_limit,
)
def test_property_only_library_errors_escape(
    case: tuple[bytes, list[bytes]], max_line_bytes: int | None, max_event_bytes: int | None
) -> None:
    stream, reads = case
    decoder = SSEDecoder(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes)
    error: SSEStreamError | None = None
    try:
        events = [event for read in reads for event in decoder.feed(read)]
        events += decoder.close()
    except SSEStreamError as raised:  # only the library's own errors may escape
        error = raised
    if error is None:
        for event in events:
            assert type(event) is ServerSentEvent
            assert all(isinstance(x, str) for x in (event.data, event.id, event.event))
            assert event.event
            assert event.retry is None or (type(event.retry) is int and event.retry >= 0)
    else:
        assert isinstance(error, LimitExceededError)
        limits = {"max_line_bytes": max_line_bytes, "max_event_bytes": max_event_bytes}
        assert error.limit_name in limits
        assert error.limit == limits[error.limit_name]
        assert error.size > error.limit
        assert 0 <= error.offset <= len(stream)


@PROPERTY_SETTINGS
@given(streams_in_reads(st.one_of(sse_streams, st.binary(max_size=100))))
def test_property_decoder_agrees_with_the_reference(case: tuple[bytes, list[bytes]]) -> None:
    stream, reads = case
    assert feed_reads(reads) == reference_decode(stream)
