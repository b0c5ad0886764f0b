"""Incremental parsing of partial JSON: a tool call's arguments while they stream in.

A chat stream sends a tool call's ``arguments`` as fragments of one JSON text; an
application wants to show (or act on) what has arrived so far. :class:`PartialJSONParser`
takes the fragments through :meth:`~PartialJSONParser.feed` and keeps the value parsed so
far, in the semantics of jiter's ``partial_mode="trailing-strings"`` (the parser behind
pydantic's and the openai SDK's partial JSON), with one difference: an unfinished number
is never shown (jiter shows ``[1, 2`` as ``[1, 2]``, and ``2`` may yet become ``25``).
The grammar is RFC 8259's (section 2: whitespace is space, tab, LF and CR only; no
``NaN``, ``Infinity``, leading zeros, trailing commas or unescaped control characters).

Strategy and invariants:

* One pass over the text, never re-read: the state (what is expected next, the stack of
  open containers, the unfinished token) carries over from one feed to the next, so the
  total work is linear in the total text, however it is split. Runs of plain string
  characters and of whitespace are consumed with one regular-expression match each.
* The value is built in place as the text is read: an opened ``[`` or ``{`` is attached to
  its parent at once, a finished string, number or literal is appended or assigned. So
  :attr:`~PartialJSONParser.value` returns the live structure, at O(1) cost plus the join
  of the string being read, if it grew since the last read (a new ``str`` must be built).
  :meth:`~PartialJSONParser.snapshot` copies only the open containers, sharing the
  finished ones.
* Shown: every finished value; the string being read, up to its last whole character (an
  unfinished escape, or a high surrogate that the next escape may pair, waits); an opened
  container. Not shown: an unfinished number or literal (``true``/``false``/``null``), and
  an object key whose value has not begun.
* An error is raised at the first character after which the text can never become JSON;
  the value stays readable as parsed up to that character.
* Nesting is bounded by ``max_depth`` (an explicit stack, never Python recursion).
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

from ._exceptions import PartialJSONError

__all__ = ["DEFAULT_MAX_DEPTH", "PartialJSONParser"]

DEFAULT_MAX_DEPTH = 1000
"""Default ``max_depth`` of :class:`PartialJSONParser`: 1,000 nested arrays/objects."""


# What the parser expects next.
_VALUE = 0  # a value: at the top level, after ':' and after ',' in an array
_VALUE_OR_END = 1  # after '[': a value or ']'
_KEY_OR_END = 2  # after '{': a key or '}'
_KEY = 3  # after ',' in an object: a key
_COLON = 4  # after a key
_AFTER = 5  # after a value in a container: ',' or the closing bracket
_STRING = 6  # inside a string
_ESCAPE = 7  # after a backslash in a string
_UNICODE = 8  # inside the four hex digits of a \u escape
_NUMBER = 9  # inside a number
_LITERAL = 10  # inside true, false or null
_DONE = 11  # after the top-level value: only whitespace may follow
_FAILED = 12

_EXPECTED = {
    _VALUE: "a value",
    _VALUE_OR_END: "a value or ']'",
    _KEY_OR_END: "a string key or '}'",
    _KEY: "a string key",
    _COLON: "':'",
    _DONE: "the end of the text",
}

_WHITESPACE = " \t\n\r"  # RFC 8259 section 2
_WS_RUN = re.compile(r"[ \t\n\r]+")
_STRING_RUN = re.compile(r'[^"\\\x00-\x1f]+')  # RFC 8259 section 7: unescaped characters
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}

# Number automaton (RFC 8259 section 6): state -> {character: next state}.
_N_START, _N_MINUS, _N_ZERO, _N_INT, _N_DOT, _N_FRAC, _N_E, _N_ESIGN, _N_EXP = range(9)
_DIGITS = "0123456789"
_NUMBER_CHARS = frozenset("-+.eE" + _DIGITS)
_NUMBER_FINAL = frozenset({_N_ZERO, _N_INT, _N_FRAC, _N_EXP})
_NUMBER_NEXT: list[dict[str, int]] = [
    {"-": _N_MINUS, "0": _N_ZERO, **dict.fromkeys("123456789", _N_INT)},
    {"0": _N_ZERO, **dict.fromkeys("123456789", _N_INT)},
    {".": _N_DOT, "e": _N_E, "E": _N_E},
    {".": _N_DOT, "e": _N_E, "E": _N_E, **dict.fromkeys(_DIGITS, _N_INT)},
    dict.fromkeys(_DIGITS, _N_FRAC),
    {"e": _N_E, "E": _N_E, **dict.fromkeys(_DIGITS, _N_FRAC)},
    {"+": _N_ESIGN, "-": _N_ESIGN, **dict.fromkeys(_DIGITS, _N_EXP)},
    dict.fromkeys(_DIGITS, _N_EXP),
    dict.fromkeys(_DIGITS, _N_EXP),
]


class PartialJSONParser:
    """Incremental parser of one JSON value (RFC 8259) that shows the value parsed so far.

    Feed the text in pieces as it arrives (a tool call's ``arguments`` deltas) and read
    :attr:`value` at any point; call :meth:`finish` at the end of the text for the strict
    final value. The semantics of :attr:`value` are those of jiter's
    ``partial_mode="trailing-strings"`` (pydantic, the openai SDK), except that an
    unfinished number is not shown:

    | text so far                  | `value`                          |
    |------------------------------|----------------------------------|
    | (nothing), `  `, `12`, `nul` | `None`                           |
    | `{"a`, `{"a":`               | `{}`                             |
    | `{"a": "he`                  | `{"a": "he"}`                    |
    | `{"a": "\\ud83d`             | `{"a": ""}` (the pair may follow) |
    | `[1, 2`, `[1, tr`            | `[1]`                            |
    | `[1, 2 `, `[1, true`         | `[1, 2]`, `[1, True]`            |

    The work is linear in the total text however it is split: nothing is parsed twice.

    Args:
        max_depth: the deepest nesting of arrays and objects accepted; one more raises
            :class:`PartialJSONError` (never ``RecursionError``). Default 1,000.

    Attributes:
        value: the value parsed so far (see the property).
        complete: whether one whole JSON value has been read.
    """

    __slots__ = (
        "_containers",
        "_dirty",
        "_error",
        "_finished",
        "_hex",
        "_is_key",
        "_keys",
        "_literal",
        "_literal_value",
        "_matched",
        "_max_depth",
        "_number",
        "_number_state",
        "_offset",
        "_parts",
        "_pending_high",
        "_root",
        "_state",
    )

    def __init__(self, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self._max_depth = max_depth
        self._root: Any = None
        # The open arrays and objects, outermost first; _keys[i] is the key being filled
        # in _containers[i] when it is an object (None for an array).
        self._containers: list[Any] = []
        self._keys: list[str | None] = []
        self._state = _VALUE
        self._offset = 0  # characters fed before the current piece
        # The string being read: its decoded pieces; whether it is an object key; whether
        # it grew since the live structure was last updated; an unfinished \u escape; a
        # high surrogate waiting for its pair.
        self._parts: list[str] = []
        self._is_key = False
        self._dirty = False
        self._hex = ""
        self._pending_high: int | None = None
        self._number: list[str] = []
        self._number_state = _N_START
        self._literal = ""
        self._literal_value: Any = None
        self._matched = 0
        self._error: PartialJSONError | None = None
        self._finished = False

    # -- reading --------------------------------------------------------------------

    @property
    def value(self) -> Any:
        """The value parsed so far: ``dict``, ``list``, ``str``, ``int``, ``float``,
        ``bool`` or ``None``.

        ``None`` before anything is shown: no text yet, only whitespace, or an unfinished
        top-level number or literal (a finished top-level ``null`` is ``None`` too:
        :attr:`complete` tells them apart).

        The object returned is **live**: the parser keeps building the same ``dict`` /
        ``list`` as text is fed, so it costs O(1) to read (plus building the ``str`` of a
        string that grew since the last read). Do not mutate it, and read ``value``
        again after each :meth:`feed` (a trailing string inside it is brought up to date
        only when ``value`` is read). To keep the value of one moment, take
        :meth:`snapshot`.
        """
        if self._dirty:
            self._update_string()
        return self._root

    @property
    def complete(self) -> bool:
        """Whether one whole JSON value has been read (its closing bracket, quote or last
        literal letter; a top-level number once a whitespace or :meth:`finish` ends it)."""
        return self._state == _DONE

    def snapshot(self) -> Any:
        """A copy of :attr:`value` that later feeds do not change.

        Finished arrays and objects are shared with the live value (they never change
        again); only the open ones (the path from the top-level value to the innermost
        open container) are copied, so the cost is their total length, not the size of
        the whole value. Treat the result as read-only.
        """
        root = self.value
        containers = self._containers
        if not containers:
            return root
        copies = [container.copy() for container in containers]
        for depth in range(len(copies) - 1):
            parent = copies[depth]
            if type(parent) is list:
                parent[-1] = copies[depth + 1]
            else:
                parent[self._keys[depth]] = copies[depth + 1]
        return copies[0]

    # -- feeding --------------------------------------------------------------------

    def feed(self, text: str) -> None:
        """Parse the next piece of the text.

        Raises:
            PartialJSONError: the text so far can never become one JSON value (its
                ``position`` says where). The parser then stays at the value parsed up
                to that character; every later :meth:`feed` or :meth:`finish` raises the
                same error again.
            RuntimeError: :meth:`finish` was already called.
            TypeError: ``text`` is not a ``str``.
        """
        if self._finished:
            raise RuntimeError("PartialJSONParser.feed() after finish()")
        if self._error is not None:
            raise self._repeat_error()
        if not isinstance(text, str):
            raise TypeError(f"PartialJSONParser.feed() takes str, not {type(text).__name__}")
        try:
            self._parse(text)
        finally:
            self._offset += len(text)

    def finish(self) -> Any:
        """End of the text: return the final value, strictly parsed.

        Equal to ``json.loads`` of the whole text. The parser takes no more text
        afterwards; calling ``finish()`` again returns the same value.

        Raises:
            PartialJSONError: the text is not one complete JSON value (empty, cut in the
                middle, or an earlier error, raised again).
        """
        if self._error is not None:
            raise self._repeat_error()
        if self._finished:
            return self._root
        if self._state == _NUMBER and not self._containers and self._number_state in _NUMBER_FINAL:
            self._end_number(self._offset)
        if self._state != _DONE:
            what = "the text is empty" if self._offset == 0 else "the text ends inside the value"
            self._fail(f"{what}: not one complete JSON value", self._offset)
        self._finished = True
        return self._root

    # -- the machine ----------------------------------------------------------------

    def _fail(self, message: str, position: int) -> NoReturn:
        self._state = _FAILED
        self._error = PartialJSONError(f"{message} (at character {position})", position=position)
        raise self._error

    def _repeat_error(self) -> PartialJSONError:
        assert self._error is not None
        return PartialJSONError(self._error.message, position=self._error.position)

    def _unexpected(self, char: str, index: int) -> NoReturn:
        expected = _EXPECTED.get(self._state) or (
            "',' or ']'" if type(self._containers[-1]) is list else "',' or '}'"
        )
        self._fail(f"expected {expected}, got {char!r}", self._offset + index)

    def _attach(self, value: Any) -> None:
        """Attach a finished value, or an opened container, to the open container."""
        containers = self._containers
        if not containers:
            self._root = value
            return
        top = containers[-1]
        if type(top) is list:
            top.append(value)
        else:
            top[self._keys[-1]] = value

    def _replace_last(self, value: Any) -> None:
        """Replace the value most recently attached (the string being read)."""
        containers = self._containers
        if not containers:
            self._root = value
            return
        top = containers[-1]
        if type(top) is list:
            top[-1] = value
        else:
            top[self._keys[-1]] = value

    def _update_string(self) -> None:
        text = "".join(self._parts)
        self._parts = [text]
        self._dirty = False
        self._replace_last(text)

    def _after_value(self) -> None:
        self._state = _AFTER if self._containers else _DONE

    def _end_number(self, position: int) -> None:
        if self._number_state not in _NUMBER_FINAL:
            self._fail(f"unfinished number {''.join(self._number)!r}", position)
        literal = "".join(self._number)
        try:
            if self._number_state == _N_INT or self._number_state == _N_ZERO:
                number: Any = int(literal)
            else:
                number = float(literal)
        except ValueError as exc:  # int() refuses more than sys.get_int_max_str_digits()
            self._fail(f"number not convertible: {exc}", position)
        self._number = []
        self._attach(number)
        self._after_value()

    def _open(self, container: Any, index: int) -> None:
        if len(self._containers) >= self._max_depth:
            self._fail(f"nesting deeper than max_depth={self._max_depth}", self._offset + index)
        self._attach(container)
        self._containers.append(container)
        self._keys.append(None)

    def _close(self, char: str, index: int) -> None:
        if (char == "]") != (type(self._containers[-1]) is list):
            self._unexpected(char, index)
        self._containers.pop()
        self._keys.pop()
        self._after_value()

    def _start_value(self, char: str, index: int) -> None:
        """Begin the value that starts with ``char`` (not whitespace)."""
        if char == '"':
            self._parts = []
            self._is_key = False
            self._attach("")
            self._state = _STRING
        elif char == "{":
            self._open({}, index)
            self._state = _KEY_OR_END
        elif char == "[":
            self._open([], index)
            self._state = _VALUE_OR_END
        elif char in _LITERALS:
            self._literal, self._literal_value = _LITERALS[char]
            self._matched = 1
            self._state = _LITERAL
        elif char == "-" or "0" <= char <= "9":
            self._number = [char]
            self._number_state = _NUMBER_NEXT[_N_START][char]
            self._state = _NUMBER
        elif char == "N" or char == "I":
            self._fail(
                f"{char!r} cannot begin a JSON value (NaN and Infinity are not JSON, "
                "RFC 8259 section 6)",
                self._offset + index,
            )
        else:
            self._unexpected(char, index)

    def _parse(self, text: str) -> None:
        length = len(text)
        index = 0
        string_run = _STRING_RUN.match
        ws_run = _WS_RUN.match
        while index < length:
            state = self._state
            if state == _STRING:
                match = string_run(text, index)
                if match is not None:
                    if self._pending_high is not None:
                        self._parts.append(chr(self._pending_high))
                        self._pending_high = None
                    self._parts.append(match.group())
                    self._dirty = not self._is_key
                    index = match.end()
                    if index == length:
                        break
                char = text[index]
                if char == '"':
                    self._end_string()
                elif char == "\\":
                    self._state = _ESCAPE
                else:
                    self._fail(
                        f"unescaped control character {char!r} in a string (RFC 8259 section 7)",
                        self._offset + index,
                    )
                index += 1
                continue
            char = text[index]
            if char in _WHITESPACE and state != _ESCAPE and state != _UNICODE:
                if state == _NUMBER:
                    self._end_number(self._offset + index)
                elif state == _LITERAL:
                    self._unexpected_in_literal(char, index)
                blank = ws_run(text, index)
                index = blank.end() if blank is not None else index + 1
                continue
            if state == _AFTER:
                if char == ",":
                    self._state = _VALUE if type(self._containers[-1]) is list else _KEY
                elif char == "]" or char == "}":
                    self._close(char, index)
                else:
                    self._unexpected(char, index)
            elif state == _VALUE:
                self._start_value(char, index)
            elif state in (_KEY, _KEY_OR_END):
                if char == '"':
                    self._parts = []
                    self._is_key = True
                    self._state = _STRING
                elif char == "}" and state == _KEY_OR_END:
                    self._close(char, index)
                else:
                    self._unexpected(char, index)
            elif state == _COLON:
                if char != ":":
                    self._unexpected(char, index)
                self._state = _VALUE
            elif state == _NUMBER:
                following = _NUMBER_NEXT[self._number_state].get(char)
                if following is not None:
                    self._number_state = following
                    self._number.append(char)
                elif char in _NUMBER_CHARS:
                    self._fail(
                        f"{char!r} cannot follow {''.join(self._number)!r} in a number",
                        self._offset + index,
                    )
                else:
                    self._end_number(self._offset + index)
                    continue  # the character after the number, read in the new state
            elif state == _ESCAPE:
                if char == "u":
                    self._hex = ""
                    self._state = _UNICODE
                else:
                    decoded = _ESCAPES.get(char)
                    if decoded is None:
                        self._fail(f"invalid escape '\\{char}' in a string", self._offset + index)
                    self._add_char(decoded)
                    self._state = _STRING
            elif state == _UNICODE:
                if char not in _HEX_DIGITS:
                    self._fail(
                        f"invalid \\u escape: {char!r} is not a hex digit", self._offset + index
                    )
                self._hex += char
                if len(self._hex) == 4:
                    self._add_code(int(self._hex, 16))
                    self._state = _STRING
            elif state == _LITERAL:
                if char != self._literal[self._matched]:
                    self._unexpected_in_literal(char, index)
                self._matched += 1
                if self._matched == len(self._literal):
                    self._attach(self._literal_value)
                    self._after_value()
            elif state == _VALUE_OR_END:
                if char == "]":
                    self._close(char, index)
                else:
                    self._start_value(char, index)
            else:  # _DONE
                self._unexpected(char, index)
            index += 1

    def _unexpected_in_literal(self, char: str, index: int) -> NoReturn:
        self._fail(
            f"expected {self._literal!r}, got {(self._literal[: self._matched] + char)!r}",
            self._offset + index,
        )

    def _add_char(self, char: str) -> None:
        if self._pending_high is not None:
            self._parts.append(chr(self._pending_high))
            self._pending_high = None
        self._parts.append(char)
        self._dirty = not self._is_key

    def _add_code(self, code: int) -> None:
        """A \\u escape decoded, pairing surrogates as ``json.loads`` does."""
        pending = self._pending_high
        if pending is not None and 0xDC00 <= code <= 0xDFFF:
            self._pending_high = None
            self._add_char(chr(0x10000 + ((pending - 0xD800) << 10) + (code - 0xDC00)))
        elif 0xD800 <= code <= 0xDBFF:
            if pending is not None:  # unpaired: it stands alone, as in json.loads
                self._parts.append(chr(pending))
                self._dirty = not self._is_key
            self._pending_high = code
        else:
            self._add_char(chr(code))

    def _end_string(self) -> None:
        if self._pending_high is not None:
            self._parts.append(chr(self._pending_high))
            self._pending_high = None
        text = "".join(self._parts)
        self._parts = []
        self._dirty = False
        if self._is_key:
            self._keys[-1] = text
            self._state = _COLON
        else:
            self._replace_last(text)
            self._after_value()
