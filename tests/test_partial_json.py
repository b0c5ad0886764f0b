"""PartialJSONParser: json.loads is the oracle for the final value, RFC 8259 for errors,
jiter's ``partial_mode="trailing-strings"`` for the values along the way.

Every property feeds the text split at arbitrary points (Hypothesis picks them), so a
token, an escape or a surrogate pair cut anywhere is covered.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import time
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ssestream import PartialJSONError, PartialJSONParser, SSEStreamError

jiter = pytest.importorskip("jiter")

# -- strategies ------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children),
    max_leaves=25,
)
blank = st.text(alphabet=" \t\n\r", max_size=2)


@st.composite
def serialised(draw: st.DrawFn) -> str:
    """A JSON value written any way json.dumps can, with RFC 8259 whitespace around."""
    value = draw(json_values)
    separators = (
        draw(blank) + "," + draw(blank),
        draw(blank) + ":" + draw(blank),
    )
    text = json.dumps(
        value,
        indent=draw(st.none() | st.integers(0, 3) | st.just("\t")),
        separators=separators,
        ensure_ascii=draw(st.booleans()),
        sort_keys=draw(st.booleans()),
    )
    return draw(blank) + text + draw(blank)


@st.composite
def split(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def every_split(text: str) -> list[list[str]]:
    """Whole, character by character, and cut once at every point."""
    return [[text], list(text)] + [[text[:i], text[i:]] for i in range(1, len(text))]


# -- comparisons -----------------------------------------------------------------------


def canon(value: Any) -> Any:
    """A form in which equal means equal with the same types (1 != 1.0 != True, -0.0)."""
    if isinstance(value, dict):
        return ("object", [(key, canon(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [canon(item) for item in value])
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def assert_shows_part_of(
    partial: Any, final: Any, *, open_end: bool = True, top: bool = True
) -> None:
    """Everything ``partial`` shows agrees with ``final``: finished values exactly, the
    last (open) item may be a string prefix or a container with trailing items missing;
    ``None`` at the top shows nothing (inside a container it is a null)."""
    if partial is None and top:
        return
    if not open_end or not isinstance(partial, (str, list, dict)):
        assert canon(partial) == canon(final)
        return
    assert type(partial) is type(final)
    if isinstance(partial, str):
        assert final.startswith(partial)
        return
    if isinstance(partial, dict):
        keys = list(partial)
        assert keys == list(final)[: len(keys)]
        pairs = [(partial[k], final[k]) for k in keys]
    else:
        assert len(partial) <= len(final)
        pairs = list(zip(partial, final, strict=False))
    for position, (shown, whole) in enumerate(pairs):
        assert_shows_part_of(shown, whole, open_end=position == len(pairs) - 1, top=False)


def drop_trailing_number(value: Any) -> Any:
    """jiter's view of a text that ends inside a number, as this parser shows it: the
    number (the last item along the open path) removed."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None
    if isinstance(value, list) and value:
        last = value[-1]
        if isinstance(last, (int, float)) and not isinstance(last, bool):
            return value[:-1]
        return [*value[:-1], drop_trailing_number(last)]
    if isinstance(value, dict) and value:
        key = list(value)[-1]
        last = value[key]
        rest = {k: v for k, v in value.items() if k != key}
        if isinstance(last, (int, float)) and not isinstance(last, bool):
            return rest
        return {**rest, key: drop_trailing_number(last)}
    return value


def feed_all(pieces: list[str]) -> tuple[PartialJSONParser, list[Any]]:
    """Feed the pieces, taking a snapshot and a deep copy of ``value`` after each."""
    parser = PartialJSONParser()
    seen = []
    for piece in pieces:
        parser.feed(piece)
        seen.append((parser.snapshot(), copy.deepcopy(parser.value)))
    return parser, seen


# -- the properties --------------------------------------------------------------------


@given(st.data(), serialised())
@example(data=None, text='{"a": [1, 2.5e-3, "x\\u00e9\\ud83d\\ude00", true, null, {}], "b": -0}')
def test_final_value_is_json_loads_and_every_value_shows_part_of_it(
    data: st.DataObject | None, text: str
) -> None:
    pieces = [text] if data is None else data.draw(split(text))
    parser, seen = feed_all(pieces)
    final = parser.finish()
    assert canon(final) == canon(json.loads(text))
    assert parser.complete
    for snapshot, at_the_time in seen:
        # The snapshot was not changed by the feeds that followed it.
        assert canon(snapshot) == canon(at_the_time)
        assert_shows_part_of(at_the_time, final)


@given(serialised())
def test_values_along_the_way_agree_with_jiter_trailing_strings(text: str) -> None:
    """At every prefix: jiter's value, except that an unfinished number is not shown."""
    parser = PartialJSONParser()
    for end in range(len(text) + 1):
        if end:
            parser.feed(text[end - 1])
        prefix = text[:end]
        try:
            expected = jiter.from_json(prefix.encode(), partial_mode="trailing-strings")
        except ValueError:
            # jiter refuses only a top-level value not yet begun (blank, "-", "").
            assert parser.value is None
            continue
        ours = parser.value
        if canon(ours) != canon(expected):
            assert prefix[-1:] in set("0123456789.eE+-"), (prefix, ours, expected)
            assert canon(ours) == canon(drop_trailing_number(expected)), (prefix, ours)


fuzz_alphabet = st.sampled_from(
    [
        *'{}[],:" \t\n\\/0123456789.-+eEtrufalsn',
        "true",
        "false",
        "null",
        '"a"',
        "\\u",
        "\\ud83d",
        "\\ude00",
        "\x01",
        "\u00e9",
        "NaN",
    ]
)


def json_loads_strict(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    return json.loads(text, parse_constant=refuse)


@given(st.data(), st.lists(fuzz_alphabet, max_size=20).map("".join))
@example(data=None, text="[1,]")
@example(data=None, text='{"a":01}')
@example(data=None, text='"\\ud83d\\ud83d\\ude00"')
@example(data=None, text="-Infinity")
def test_any_text_gives_json_loads_result_or_partial_json_error(
    data: st.DataObject | None, text: str
) -> None:
    """Garbage in: the same verdict as json.loads (NaN and Infinity refused), only our
    error escapes, and the error is at the first character that no continuation can
    save, whatever the split."""
    try:
        expected = json_loads_strict(text)
    except ValueError:
        expected = PartialJSONError
    pieces = [text] if data is None else data.draw(split(text))
    if expected is not PartialJSONError:
        assert canon(feed_pieces(PartialJSONParser(), pieces).finish()) == canon(expected)
        return
    with pytest.raises(PartialJSONError) as caught:
        feed_pieces(PartialJSONParser(), pieces).finish()
    position = caught.value.position
    assert str(position) in str(caught.value)
    if position < len(text):  # a character no continuation can save
        good = feed_pieces(PartialJSONParser(), [text[:position]])  # raises nothing
        with pytest.raises(PartialJSONError) as again:
            good.feed(text[position])
        assert again.value.position == position
    else:  # the text ended too early
        assert position == len(text)


def feed_pieces(parser: PartialJSONParser, pieces: list[str]) -> PartialJSONParser:
    for piece in pieces:
        parser.feed(piece)
    return parser


# -- exact cases -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("", None),
        ("  ", None),
        ("12", None),
        ("nul", None),
        ('{"a', {}),
        ('{"a":', {}),
        ('{"a": "he', {"a": "he"}),
        ('{"a": "\\ud83d', {"a": ""}),
        ('{"a": "x\\u00', {"a": "x"}),
        ('{"a": "x\\', {"a": "x"}),
        ("[1, 2", [1]),
        ("[1, tr", [1]),
        ("[1, 2.", [1]),
        ("[1, 2 ", [1, 2]),
        ("[1, true", [1, True]),
        ('[1, {"b": [', [1, {"b": []}]),
        ('{"a": 1, "b": -0.5e', {"a": 1}),
    ],
)
def test_what_is_shown(text: str, shown: Any) -> None:
    for pieces in every_split(text):
        parser = PartialJSONParser()
        for piece in pieces:
            parser.feed(piece)
        assert canon(parser.value) == canon(shown), pieces
        assert not parser.complete


def test_a_top_level_number_ends_at_whitespace_or_finish() -> None:
    parser = PartialJSONParser()
    parser.feed("-12.5")
    assert (parser.value, parser.complete) == (None, False)
    assert parser.finish() == -12.5
    parser = PartialJSONParser()
    parser.feed("7 ")
    assert (parser.value, parser.complete) == (7, True)


def test_null_is_told_from_nothing_by_complete() -> None:
    parser = PartialJSONParser()
    parser.feed("nul")
    assert (parser.value, parser.complete) == (None, False)
    parser.feed("l")
    assert (parser.value, parser.complete) == (None, True)
    assert parser.finish() is None


@pytest.mark.parametrize(
    "text",
    [
        '"\\ud83d\\ude00"',  # a pair
        '"\\ud83d"',  # a lone high surrogate, kept as json.loads keeps it
        '"\\ude00\\ud83d"',  # reversed: two lone ones
        '"\\ud83d\\ud83d\\ude00"',  # a lone one, then a pair
        '"\\ud83dx\\ude00"',
        '"\\ud83d\\n"',
        '"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"',
    ],
)
def test_escapes_and_surrogates_split_anywhere(text: str) -> None:
    expected = json.loads(text)
    for pieces in every_split(text):
        parser = PartialJSONParser()
        for piece in pieces:
            parser.feed(piece)
            # A prefix: so a high surrogate that the next escape pairs is never shown.
            assert expected.startswith(parser.value)
        assert parser.finish() == expected


def test_the_live_value_and_the_snapshot() -> None:
    parser = PartialJSONParser()
    parser.feed('{"a": [1, {"b": "x')
    live = parser.value
    snapshot = parser.snapshot()
    parser.feed('y"}, 2], "c": {"d": true}, "e": "f')
    assert live is parser.value  # the same object, grown
    assert live == {"a": [1, {"b": "xy"}, 2], "c": {"d": True}, "e": "f"}
    assert snapshot == {"a": [1, {"b": "x"}]}
    # Finished containers are shared, not copied.
    again = parser.snapshot()
    assert again["c"] is live["c"]
    assert again["a"] is live["a"]
    assert again is not live


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("[1,]", 3, "expected a value"),
        ('{"a":1,}', 7, "expected a string key"),
        ("[01]", 2, "cannot follow '0'"),
        ("[NaN]", 1, "NaN and Infinity"),
        ("[-Infinity]", 2, "unfinished number '-'"),
        ('["a\x01"]', 3, "control character"),
        ('["\\x"]', 3, "invalid escape"),
        ('["\\u12G4"]', 6, "not a hex digit"),
        ("[tru]", 4, "expected 'true'"),
        ("[1 2]", 3, "expected ',' or ']'"),
        ('{"a" 1}', 5, "expected ':'"),
        ("[1}", 2, "expected ',' or ']'"),
        ('{"a": 1]', 7, "expected ',' or '}'"),
        ("{} {}", 3, "expected the end of the text"),
        ("\u00a0[]", 0, "expected a value"),  # not RFC 8259 whitespace
        ("[1.e5]", 3, "cannot follow '1.'"),
        ("[1.]", 3, "unfinished number '1.'"),
    ],
)
def test_text_that_can_never_be_json_is_refused_where_it_goes_wrong(
    text: str, position: int, words: str
) -> None:
    for pieces in every_split(text):
        parser = PartialJSONParser()
        with pytest.raises(PartialJSONError) as caught:
            feed_pieces(parser, pieces)
        error = caught.value
        assert error.position == position, pieces
        assert words in str(error)
        assert isinstance(error, ValueError)
        assert isinstance(error, SSEStreamError)
        # Still readable: the value of the good prefix (with a number that the bad
        # character ended), and the error sticks.
        assert canon(parser.value) in shown_by_prefix(text[:position])
        with pytest.raises(PartialJSONError) as repeated:
            parser.feed("]")
        assert repeated.value.position == position
        with pytest.raises(PartialJSONError):
            parser.finish()


def shown_by_prefix(prefix: str) -> list[Any]:
    """What a fresh parser shows for ``prefix``, and for ``prefix`` with a number it
    ends with finished."""
    shown = []
    for text in (prefix, prefix + " "):
        parser = PartialJSONParser()
        try:
            parser.feed(text)
        except PartialJSONError:
            continue
        shown.append(canon(parser.value))
    return shown


@pytest.mark.parametrize("text", ["", "   ", "[1, 2", '{"a": "b', "-", "tru"])
def test_finish_refuses_an_unfinished_value(text: str) -> None:
    parser = PartialJSONParser()
    parser.feed(text)
    with pytest.raises(PartialJSONError) as caught:
        parser.finish()
    assert caught.value.position == len(text)
    assert "not one complete JSON value" in str(caught.value)


def test_misuse() -> None:
    parser = PartialJSONParser()
    with pytest.raises(TypeError, match="bytes"):
        parser.feed(b"[]")  # type: ignore[arg-type]
    parser.feed("[]")
    assert parser.finish() == []
    assert parser.finish() == []
    with pytest.raises(RuntimeError, match="after finish"):
        parser.feed(" ")


def test_nesting_is_bounded_without_recursion_error() -> None:
    deep = "[" * 1000 + "]" * 1000
    parser = PartialJSONParser()
    parser.feed(deep)
    value = parser.finish()
    for _ in range(999):
        value = value[0]
    assert value == []

    parser = PartialJSONParser()
    with pytest.raises(PartialJSONError, match="max_depth=1000") as caught:
        parser.feed('{"a":' * 100_000)
    assert caught.value.position == 5 * 1000

    parser = PartialJSONParser(max_depth=2)
    parser.feed('{"a": [1]')
    with pytest.raises(PartialJSONError, match="max_depth=2"):
        parser.feed(', "b": [[')
    assert parser.value == {"a": [1], "b": []}


@pytest.mark.parametrize(("shape", "read_every"), [("objects", 1), ("long string", 64)])
def test_work_is_linear_in_the_text(shape: str, read_every: int) -> None:
    """Fed in 8-character pieces, ``value`` read after each (every 64th for the long
    string, whose read must build a new ``str`` of the string so far: O(its length)),
    4x the text costs about 4x the time; a re-parse per piece would cost 16x. Generous
    bound: 8x. Both sizes are past the CPU caches (below ~100 KB the smaller one runs
    from cache and the ratio says more about the caches than about the algorithm).
    CPU time of this process, best of 5. (benchmarks/bench_partial_json.py measures the
    exponent.)"""

    def arguments(size: int) -> str:
        if shape == "long string":
            return json.dumps({"path": "a.txt", "content": "x" * size})
        items = [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(size // 50)]
        return json.dumps({"items": items})

    def cost(text: str) -> float:
        best = math.inf
        for _ in range(5):
            start = time.process_time()
            parser = PartialJSONParser()
            for n, i in enumerate(range(0, len(text), 8)):
                parser.feed(text[i : i + 8])
                if n % read_every == 0:
                    parser.value  # noqa: B018 - reading is part of the cost measured
            parser.finish()
            best = min(best, time.process_time() - start)
        return best

    small, large = arguments(100_000), arguments(400_000)
    assert len(large) > 3.5 * len(small)
    ratio = cost(large) / cost(small)
    assert ratio < 8, ratio
