"""One copy of each piece of protocol code in the project (issue 11): the testing server
and the command line frame SSE with the public encoder, and ``ssestream check`` computes
its figures with the code behind ``stream.timings``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
