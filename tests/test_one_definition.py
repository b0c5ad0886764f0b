"""One copy of each piece of protocol code in the project (issue 11): the testing server
and the command line frame SSE with the public encoder, and ``ssestream check`` computes
its figures with the code behind ``stream.timings``."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from ssestream import (
    DONE,
    END,
    NEED_DATA,
    ChatStreamParser,
    ResponseStreamParser,
    SSEStreamError,
    StreamTimings,
    encode_chunk,
)
from ssestream.check import Exchange, NetworkRead, StreamRecord, analyse_stream
from ssestream.check._probe import _Feeder, _ResponsesFeeder

SRC = Path(__file__).parents[1] / "src/ssestream"

# b"data: ...", b"event: ...", b"id: ...", b"retry: ..." written as bytes by hand
_FRAMING = re.compile(r"""b["'](data|event|id|retry): """)


@pytest.mark.parametrize("package", ["testing", "cli", "check"])
def test_no_hand_written_sse_framing(package: str) -> None:
    found = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted((SRC / package).glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if _FRAMING.search(line)
    ]
    assert found == []
    assert "encode_event" in (SRC / "testing/_faults.py").read_text()


def test_the_framing_scan_finds_what_it_looks_for() -> None:
    # the line the fault catalogue had before it used the encoder; a reader's test is not
    assert _FRAMING.search('error = _Segment(t, b"data: " + _dumps(_STREAM_ERROR).encode())')
    assert not _FRAMING.search('if field == b"data" or field.startswith(b"data:"):')


# --------------------------------------------------------------------------- timings

PROVIDERS = sorted((Path(__file__).parent / "fixtures/providers").glob("*.sse"))
HEADERS = {"content-type": "text/event-stream"}


def _reads(body: bytes, size: int) -> list[tuple[float, bytes]]:
    """The body in reads of ``size`` bytes at uneven times: 13 ms apart, a 0.4 s stall
    before the fourth read, every fifth read coming with the one before it."""
    reads = []
    t = 0.05
    for number, start in enumerate(range(0, len(body), size)):
        if number % 5 != 4:
            t += 0.013 + (0.4 if number == 3 else 0.0)
        reads.append((t, body[start : start + size]))
    return reads


def _library_timings(reads: list[tuple[float, bytes]], head: float, end: float) -> StreamTimings:
    """``stream.timings`` of these reads: the parser with a fake clock."""
    now = 0.0
    parser = ChatStreamParser(clock=lambda: now)
    parser.timer.request_sent = 0.0  # as connect_chat sets it
    now = head
    parser.receive_head(200, HEADERS)

    def drain() -> None:
        with contextlib.suppress(SSEStreamError):
            while parser.next_chunk() not in (NEED_DATA, END):
                pass

    for now, data in reads:  # noqa: B007 (the clock reads ``now``)
        parser.receive_data(data)
        drain()
        if parser.finished:
            return parser.timings
    now = end
    parser.receive_eof()
    drain()
    return parser.timings


def _check_timings(reads: list[tuple[float, bytes]], head: float, end: float) -> StreamTimings:
    """What ``ssestream check`` reports for the same reads: the probe's feeder, then
    the analysis (as ``_probe._stream`` reads a body)."""
    feeder = _Feeder(lambda chunk: None)
    end_time = end
    for index, (t, data) in enumerate(reads):
        feeder.feed(data, index, t)
        if feeder.finished:
            end_time = t
            break
    else:
        feeder.eof(len(reads) - 1, end)
    record = StreamRecord(
        run="identity",
        accept_encoding="identity",
        exchange=Exchange(method="POST", url="http://x/v1", status=200, headers=HEADERS, time=head),
        reads=tuple(NetworkRead(time=t, size=len(data)) for t, data in reads),
        chunks=tuple(feeder.chunks),
        done=feeder.done,
        streamed=feeder.streamed,
        stream_error=None,
        event_reads=len(feeder.event_reads),
        end_time=end_time,
    )
    metrics, _ = analyse_stream(record)
    assert metrics.ttft == metrics.timings.ttft
    assert metrics.chunks_per_read == metrics.timings.chunks_per_read
    assert metrics.tokens_per_second == metrics.timings.output_tokens_per_second
    assert metrics.inter_chunk["p90"] == metrics.timings.gap_p90
    return metrics.timings


@pytest.mark.parametrize("size", [7, 64, 1024])
@pytest.mark.parametrize("path", PROVIDERS, ids=lambda p: p.stem)
def test_check_reports_what_stream_timings_gives(path: Path, size: int) -> None:
    reads = _reads(path.read_bytes(), size)
    head, end = 0.02, reads[-1][0] + 0.1
    library = _library_timings(reads, head, end)
    assert library.chunks > 0
    assert _check_timings(reads, head, end) == library


def test_the_figures_are_the_ones_expected() -> None:
    """One stream by hand: the shared definitions give these exact figures."""
    role = encode_chunk({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
    think = encode_chunk({"choices": [{"index": 0, "delta": {"reasoning_content": "hm"}}]})
    text = encode_chunk({"choices": [{"index": 0, "delta": {"content": "Hi"}}]})
    usage = encode_chunk({"choices": [], "usage": {"completion_tokens": 6}})
    reads = [(0.5, role), (1.0, think), (1.5, text + text), (2.5, usage + DONE)]
    timings = _check_timings(reads, 0.25, 3.0)
    assert timings == _library_timings(reads, 0.25, 3.0)
    assert (timings.time_to_first_chunk, timings.first_reasoning_token, timings.ttft) == (
        0.5,
        1.0,
        1.5,
    )
    assert (timings.chunks, timings.reads, timings.chunks_per_read) == (5, 4, 1.25)
    assert timings.gap_max == 1.0  # the gaps: 0.5, 0.5, 0, 1.0
    assert timings.output_tokens_per_second == 6 / 1.5  # usage, from 1.0 to 2.5
    assert timings.end == 2.5


RESPONSES = sorted((Path(__file__).parent / "fixtures/responses").glob("*.sse"))


def _library_response_timings(
    reads: list[tuple[float, bytes]], head: float, end: float
) -> StreamTimings:
    """``stream.timings`` of a ResponseStream over these reads: its parser, a fake clock."""
    now = 0.0
    parser = ResponseStreamParser(clock=lambda: now)
    parser.timer.request_sent = 0.0
    now = head
    parser.receive_head(200, HEADERS)

    def drain() -> None:
        with contextlib.suppress(SSEStreamError):
            while parser.next_event() not in (NEED_DATA, END):
                pass

    for now, data in reads:  # noqa: B007 (the clock reads ``now``)
        parser.receive_data(data)
        drain()
        if parser.finished:
            return parser.timings
    now = end
    parser.receive_eof()
    drain()
    return parser.timings


@pytest.mark.parametrize("size", [7, 256])
@pytest.mark.parametrize("path", RESPONSES, ids=lambda p: p.stem)
def test_check_responses_reports_what_stream_timings_gives(path: Path, size: int) -> None:
    reads = _reads(path.read_bytes(), size)
    head, end = 0.02, reads[-1][0] + 0.1
    feeder = _ResponsesFeeder(lambda event: None)
    end_time = end
    for index, (t, data) in enumerate(reads):
        feeder.feed(data, index, t)
        if feeder.finished:
            end_time = t
            break
    else:
        feeder.eof(len(reads) - 1, end)
    record = StreamRecord(
        run="identity",
        accept_encoding="identity",
        exchange=Exchange(method="POST", url="http://x/v1", status=200, headers=HEADERS, time=head),
        reads=tuple(NetworkRead(time=t, size=len(data)) for t, data in reads),
        chunks=tuple(feeder.chunks),
        done=feeder.done,
        streamed=feeder.streamed,
        api="responses",
        event_reads=len(feeder.event_reads),
        end_time=end_time,
    )
    metrics, _ = analyse_stream(record)
    assert metrics.timings == _library_response_timings(reads, head, end)


def test_the_tools_know_the_responses_output_deltas_the_parser_knows() -> None:
    """The first token of check, of serve's slow-first-token and of
    ResponseStream.timings is one definition: the parser's table, used by all three."""
    from ssestream._responses_parser import OUTPUT_DELTAS
    from ssestream.check._analysis import _OUTPUT_DELTAS as CHECK
    from ssestream.testing._faults import _OUTPUT_DELTAS as SERVE

    assert CHECK is OUTPUT_DELTAS
    assert set(SERVE) == set(OUTPUT_DELTAS)
