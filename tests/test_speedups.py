"""The optional accelerator (``ssestream[speedups]``) changes speed, never results.

``decode_json`` tries msgspec first and hands whatever it refuses to the stdlib. These
tests run the same inputs both ways, the accelerated path and the stdlib alone (the
module switch ``_parser._fast_loads`` set to None), and compare everything a caller can
observe: values (by ``repr``, so ``1`` and ``1.0``, ``0.0`` and ``-0.0`` differ), error
types and messages, chunks, completions, and the end state. Inputs: every recording of
``tests/fixtures`` (chat and Responses streams) whole and in 7-byte reads, the hostile
bodies of ``test_promise``, and JSON texts around the known differences between
msgspec and ``json`` (NaN and Infinity, integers past 64 bits and past the digit limit,
lone surrogates, duplicate keys, deep nesting, a BOM, UTF-16 bytes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("msgspec")

import test_promise as promise

from ssestream import ChatStream, ResponseStream, SSEStreamError, _parser
from ssestream._parser import decode_json

FIXTURES = Path(__file__).parent / "fixtures"
CHAT = sorted((FIXTURES / "openai").glob("*.sse")) + sorted((FIXTURES / "providers").glob("*.sse"))
RESPONSES = sorted((FIXTURES / "responses").glob("*.sse"))


def both_ways(monkeypatch: pytest.MonkeyPatch, read: Any, *args: Any) -> tuple[Any, Any]:
    """``read(*args)`` with the accelerator, then with the stdlib alone."""
    assert _parser._fast_loads is not None, "msgspec is installed: the accelerator is on"
    fast = read(*args)
    with monkeypatch.context() as patch:
        patch.setattr(_parser, "_fast_loads", None)
        slow = read(*args)
    return fast, slow


def decoded(text: str | bytes) -> tuple[str, str]:
    try:
        return "value", repr(decode_json(text))
    except ValueError as exc:
        return type(exc).__name__, str(exc)


def read_stream(cls: Any, reads: list[bytes]) -> Any:
    stream = cls(iter(reads))
    items = []
    error: SSEStreamError | None = None
    try:
        # A chunk is a view over its payload; a Responses event, a record.
        items.extend(repr(item.to_dict() if cls is ChatStream else item) for item in stream)
    except SSEStreamError as exc:
        error = exc
    result = stream.completion.to_dict() if cls is ChatStream else stream.snapshot
    return (
        items,
        None if error is None else (type(error).__name__, str(error)),
        repr(result),
        stream.interrupted,
    )


def pieces(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


# --------------------------------------------------------------------------- the switch


def test_the_accelerator_is_on_when_installed_and_off_with_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _parser._speedups() is not None
    monkeypatch.setenv(_parser.SPEEDUPS_ENV, "0")
    assert _parser._speedups() is None
    monkeypatch.setitem(sys.modules, "msgspec.json", None)  # as if not installed
    monkeypatch.setenv(_parser.SPEEDUPS_ENV, "1")
    assert _parser._speedups() is None


# --------------------------------------------------------------------------- recordings


@pytest.mark.parametrize("path", CHAT, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("size", [7, 1 << 20])
def test_chat_recordings_read_the_same_both_ways(
    monkeypatch: pytest.MonkeyPatch, path: Path, size: int
) -> None:
    fast, slow = both_ways(monkeypatch, read_stream, ChatStream, pieces(path.read_bytes(), size))
    assert fast == slow


@pytest.mark.parametrize("path", RESPONSES, ids=lambda p: p.name)
@pytest.mark.parametrize("size", [7, 1 << 20])
def test_responses_recordings_read_the_same_both_ways(
    monkeypatch: pytest.MonkeyPatch, path: Path, size: int
) -> None:
    reads = pieces(path.read_bytes(), size)
    fast, slow = both_ways(monkeypatch, read_stream, ResponseStream, reads)
    assert fast == slow


@settings(max_examples=150, suppress_health_check=list(HealthCheck), deadline=None)
@given(data=st.data())
def test_hostile_bodies_read_the_same_both_ways(data: st.DataObject) -> None:
    body = data.draw(st.one_of(promise.bodies(), promise.merge_bodies()))
    reads = data.draw(promise.split(body))
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = both_ways(monkeypatch, promise.read_sync, reads)
    assert repr(fast) == repr(slow)


# --------------------------------------------------------------------------- JSON texts

EDGES = [
    '{"a":1,"a":2}',  # duplicate keys: the last wins
    '{"a":NaN,"b":Infinity,"c":-Infinity}',  # json accepts them, msgspec does not
    '{"a":1e400}',
    '{"a":-1e400}',
    '{"a":1.7976931348623157e309}',
    '{"a":4.9e-325}',
    '{"a":18446744073709551615}',
    '{"a":18446744073709551616}',  # past 64 bits: orjson would give a float here
    '{"a":-9223372036854775809}',
    '{"a":123456789012345678901234567890}',
    '{"a":' + "7" * 5000 + "}",  # past sys.get_int_max_str_digits(): ValueError
    '{"a":"\\ud800"}',  # a lone surrogate, escaped
    '{"\\udc00\\ud800":1}',
    '{"a":"\ud800"}',  # a lone surrogate in the str itself
    '{"a":"\\ud83d\\ude00"}',
    '{"a":-0.0,"b":-0,"c":0e0,"d":1E2,"e":1.0}',
    '{"a":"\x01"}',  # a raw control character: an error in both
    '{"a":"\x7f"}',
    "\ufeff{}",
    ' {"a": 1} ',
    '{"a":1}x',
    '{"a":1,}',
    "[" * 5000 + "]" * 5000,  # deeper than either decoder goes
    "[" * 600 + "]" * 600,  # deeper than msgspec's limit, within json's
    "[1,2]",
    '"text"',
    "",
]
EDGE_BYTES = [
    b'\xef\xbb\xbf{"a":1}',  # json.loads(bytes) drops a UTF-8 BOM
    '{"a":1}'.encode("utf-16"),  # and detects UTF-16
    b'{"a":"\xed\xa0\x80"}',  # a surrogate encoded in UTF-8: surrogatepass
    b'{"a":"\xff"}',
    b'{"a":1}',
]


@pytest.mark.parametrize("text", EDGES + EDGE_BYTES, ids=lambda t: repr(t[:30]))
def test_edge_values_and_errors_are_the_stdlibs(
    monkeypatch: pytest.MonkeyPatch, text: str | bytes
) -> None:
    fast, slow = both_ways(monkeypatch, decoded, text)
    assert fast == slow
    if slow[0] == "value":  # and both are json.loads's own answer
        assert slow[1] == repr(json.loads(text))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    """JSON as json.dumps writes it (NaN and lone surrogates included), or mangled."""
    text = json.dumps(draw(json_values), ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 3)) == 0 and text:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(',:[]{}"\\0123456789.eE+-tfn \t\n\ud800', max_size=3))
        text += text[at:]
    return text


@settings(max_examples=500, deadline=None)
@given(text=json_texts())
def test_any_json_text_decodes_to_the_stdlibs_value_or_error(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = both_ways(monkeypatch, decoded, text)
    assert fast == slow
