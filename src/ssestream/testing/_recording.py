"""The recording format: HTTP exchanges with every network read and its arrival time.

Two forms are read:

* a plain ``.sse`` file (a response body, e.g. saved with ``curl -N``) is one exchange:
  status 200, ``content-type: text/event-stream``, the whole body as one read at t=0;
* the full form, JSON Lines (``.jsonl``): a header line ``{"ssestream_recording": 1}``,
  then per exchange a ``request`` line (optional), a ``response`` line, one ``read`` line
  per network read, and an ``end`` line. ``docs/testing.md`` documents every field.

Invariants: records are immutable; a loaded recording keeps each read's exact bytes and
boundaries (the point of recording reads rather than a body); times are seconds since the
request was sent and never decrease within an exchange. Secrets are redacted when a
request is recorded (:func:`redact_headers`, :func:`redact_url`), never when loading.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from .._redact import REDACTED, redact_headers, redact_url

__all__ = [
    "FORMAT_VERSION",
    "REDACTED",
    "Exchange",
    "Headers",
    "Read",
    "RecordedError",
    "RecordedRequest",
    "Recording",
    "RecordingFormatError",
    "end_line",
    "load_recording",
    "read_line",
    "redact_headers",
    "redact_url",
    "request_line",
    "response_line",
    "wire_headers",
]

FORMAT_VERSION = 1
"""The version written in the header line ``{"ssestream_recording": 1}``."""

_SSE_HEADERS = (("content-type", "text/event-stream"),)
# A line that may hold a lone surrogate: a \udXXX escape, a surrogate encoded as UTF-8
# (json.loads decodes bytes with "surrogatepass"), or a NUL (a UTF-16/32 line).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|\x00")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 5.6.2 token
_HEADER_BREAK = re.compile(r"[\r\n\0]")

Headers = tuple[tuple[str, str], ...]
"""Headers as ``(name, value)`` pairs, in order; a name may repeat."""


class RecordingFormatError(ValueError):
    """A recording file (or bytes) is not a valid recording.

    It is the caller's data that is wrong, hence a ``ValueError``: fix the file (or
    re-record it).

    Attributes:
        source: the file's path, or ``"<bytes>"`` for data given in memory.
        line: the 1-based line number at fault, or ``None`` when the fault is not on one
            line (a missing ``end`` line is reported at the line that opened the exchange).
        reason: what is wrong, without the location.
    """

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        where = source if line is None else f"{source}, line {line}"
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Read:
    """One network read of a response body.

    Attributes:
        t: when the read arrived, in seconds since the request was sent.
        data: the exact bytes of the read (never re-split or decoded).
    """

    t: float
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedRequest:
    """The request of a recorded exchange, with secrets already redacted.

    Attributes:
        method: the HTTP method, upper case (``"POST"``).
        url: the full URL; query parameters named like a secret hold ``"REDACTED"``.
        headers: ``(name, value)`` pairs in the order sent, names lower case.
        json: the decoded JSON body, or ``None`` when the body was empty or not JSON.
        content: the body when it was not JSON, else ``b""``.
    """

    method: str
    url: str
    headers: Headers = ()
    json: Any = None
    content: bytes = b""

    @property
    def model(self) -> str | None:
        """The JSON body's ``model`` field, or ``None`` if there is none."""
        if isinstance(self.json, dict):
            model = self.json.get("model")
            if isinstance(model, str):
                return model
        return None

    @property
    def path(self) -> str:
        """The URL's path, without scheme, host or query (``"/v1/chat/completions"``)."""
        rest = self.url.split("://", 1)[-1]
        slash = rest.find("/")
        return "/" if slash < 0 else rest[slash:].split("?", 1)[0].split("#", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedError:
    """The transport error that broke a recorded stream.

    Attributes:
        type: the exception's class name as httpx/httpx2 name it (``"ReadError"``,
            ``"RemoteProtocolError"``, ``"ReadTimeout"``...); replay raises the class of
            that name from the request's library (``ReadError`` if it has none).
        message: ``str()`` of the exception.
    """

    type: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One recorded request and its response, read by read.

    Attributes:
        request: the request, or ``None`` when the recording did not keep it (an
            ``.sse`` body). Such an exchange matches any request.
        status_code: the HTTP status.
        headers: the response headers as ``(name, value)`` pairs, in order.
        response_t: when the response headers arrived, in seconds since the request.
        reads: the body's network reads, in order.
        end_t: when the body ended (cleanly or with ``error``), in seconds since the
            request.
        error: the transport error that ended the body, or ``None`` for a clean end.
    """

    request: RecordedRequest | None = None
    status_code: int = 200
    headers: Headers = _SSE_HEADERS
    response_t: float = 0.0
    reads: tuple[Read, ...] = ()
    end_t: float = 0.0
    error: RecordedError | None = None

    @property
    def body(self) -> bytes:
        """All the reads joined: the body as the client received it."""
        return b"".join(read.data for read in self.reads)


@dataclass(frozen=True, slots=True)
class Recording(Sequence[Exchange]):
    """A loaded recording: a sequence of :class:`Exchange`, served in order.

    Build one with :func:`load_recording`, or directly from exchanges.

    Attributes:
        exchanges: the exchanges, in the order they were recorded.
        source: where it was loaded from (a path, ``"<bytes>"``), for messages; not
            compared: two recordings of the same exchanges are equal.
    """

    exchanges: tuple[Exchange, ...] = ()
    source: str = field(default="<memory>", compare=False)

    def __len__(self) -> int:
        return len(self.exchanges)

    @overload
    def __getitem__(self, index: int) -> Exchange: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Exchange]: ...
    def __getitem__(self, index: int | slice) -> Exchange | Sequence[Exchange]:
        return self.exchanges[index]

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.exchanges)

    def dumps(self) -> str:
        """Return the recording in the JSON Lines form, ending with a newline."""
        lines = [_dump_line({"ssestream_recording": FORMAT_VERSION})]
        for exchange in self.exchanges:
            if exchange.request is not None:
                lines.append(_dump_line(request_line(exchange.request)))
            lines.append(
                _dump_line(
                    response_line(exchange.status_code, exchange.headers, exchange.response_t)
                )
            )
            lines.extend(_dump_line(read_line(read)) for read in exchange.reads)
            lines.append(_dump_line(end_line(exchange.end_t, exchange.error)))
        return "".join(lines)

    def dump(self, path: str | os.PathLike[str]) -> None:
        """Write the recording to ``path`` in the JSON Lines form (UTF-8), replacing it.

        Raises:
            OSError: the file cannot be written.
        """
        Path(path).write_text(self.dumps(), encoding="utf-8")


# --- Writing --------------------------------------------------------------------------


def _dump_line(obj: dict[str, Any]) -> str:
    # json.dumps escapes LF, so a line never breaks; non-ASCII stays readable.
    return json.dumps(obj, ensure_ascii=False) + "\n"


def _round_t(t: float) -> float:
    return round(t, 6)  # microseconds: enough, and diff-friendly


def _bytes_fields(data: bytes) -> dict[str, str]:
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def request_line(request: RecordedRequest) -> dict[str, Any]:
    """The JSON object of a ``request`` line (used by the writer and the recorder)."""
    line: dict[str, Any] = {
        "type": "request",
        "method": request.method,
        "url": request.url,
        "headers": [list(pair) for pair in request.headers],
    }
    if request.json is not None:
        line["json"] = request.json
    elif request.content:
        line.update(_bytes_fields(request.content))
    return line


def response_line(status_code: int, headers: Headers, t: float) -> dict[str, Any]:
    """The JSON object of a ``response`` line."""
    return {
        "type": "response",
        "status": status_code,
        "headers": [list(pair) for pair in headers],
        "t": _round_t(t),
    }


def read_line(read: Read) -> dict[str, Any]:
    """The JSON object of a ``read`` line."""
    return {"type": "read", "t": _round_t(read.t), **_bytes_fields(read.data)}


def end_line(t: float, error: RecordedError | None) -> dict[str, Any]:
    """The JSON object of an ``end`` line."""
    line: dict[str, Any] = {"type": "end", "t": _round_t(t)}
    if error is not None:
        line["error"] = {"type": error.type, "message": error.message}
    return line


# --- Loading --------------------------------------------------------------------------


def load_recording(source: str | os.PathLike[str] | bytes) -> Recording:
    """Load a recording from a file path (``str`` or path-like) or from bytes in memory.

    A path ending in ``.jsonl`` is read as JSON Lines, one ending in ``.sse`` as a plain
    response body; any other path, and bytes, are JSON Lines when the first line is the
    header ``{"ssestream_recording": ...}``, else a plain body.

    Raises:
        RecordingFormatError: the JSON Lines are not a valid recording (the message
            names the file, the line and the fault).
        OSError: the file cannot be read.
    """
    if isinstance(source, bytes):
        data, name, kind = source, "<bytes>", None
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        data, name = path.read_bytes(), str(path)
        kind = {".jsonl": "jsonl", ".sse": "sse"}.get(path.suffix.lower())
    else:
        raise TypeError(
            f"load_recording() takes a path or bytes, not {type(source).__name__}; "
            "pass text as text.encode()"
        )
    if kind is None:
        kind = "jsonl" if data.lstrip().startswith(b'{"ssestream_recording"') else "sse"
    if kind == "sse":
        exchange = Exchange(reads=(Read(t=0.0, data=data),) if data else ())
        return Recording((exchange,), name)
    return Recording(_Parser(name).parse(data), name)


class _Parser:
    """Reads JSON Lines into exchanges, checking every field and the line order."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lineno = 0
        self.exchanges: list[Exchange] = []
        self.opened_at = 0  # line of the open exchange's first line, 0 when none is open
        self.request: RecordedRequest | None = None
        self.response: dict[str, Any] | None = None
        self.reads: list[Read] = []
        self.last_t = 0.0

    def fail(self, reason: str, line: int | None = -1) -> RecordingFormatError:
        return RecordingFormatError(self.source, self.lineno if line == -1 else line, reason)

    def parse(self, data: bytes) -> tuple[Exchange, ...]:
        header_seen = False
        # Split on LF only: json.dumps escapes LF in strings, while str.splitlines()
        # would also split on U+2028 and friends, which may appear unescaped.
        for self.lineno, raw in enumerate(data.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (UnicodeDecodeError, ValueError) as exc:
                raise self.fail(f"not a JSON value ({exc})") from None
            except RecursionError:
                raise self.fail("JSON nested too deeply to read") from None
            if not isinstance(obj, dict):
                raise self.fail(f"expected a JSON object, got {type(obj).__name__}")
            if _SURROGATE_ESCAPE.search(raw):
                self.check_unicode(obj)
            if not header_seen:
                self.check_header(obj)
                header_seen = True
                continue
            kind = obj.get("type")
            if not isinstance(kind, str):
                raise self.fail(f"'type' must be a string, not {_kind(kind)}")
            handler = {
                "request": self.on_request,
                "response": self.on_response,
                "read": self.on_read,
                "end": self.on_end,
            }.get(kind)
            if handler is None:
                raise self.fail(
                    f'unknown line type {kind!r}: expected "request", "response", "read" or "end"'
                )
            handler(obj)
        if not header_seen:
            raise self.fail(
                f'empty recording: expected the header line {{"ssestream_recording": '
                f"{FORMAT_VERSION}}}",
                None,
            )
        if self.response is not None:
            # The recorder stopped (or crashed) mid-body: keep what arrived.
            self.close_exchange(self.last_t, None)
        elif self.request is not None:
            raise self.fail("the last request has no 'response' line", self.opened_at)
        return tuple(self.exchanges)

    def check_header(self, obj: dict[str, Any]) -> None:
        version = obj.get("ssestream_recording")
        if version is None:
            raise self.fail(
                f'the first line must be the header {{"ssestream_recording": {FORMAT_VERSION}}}'
            )
        if version != FORMAT_VERSION:
            raise self.fail(
                f"unsupported recording version {version!r}; this ssestream reads "
                f"version {FORMAT_VERSION}"
            )

    def field(self, obj: dict[str, Any], name: str, types: type | tuple[type, ...]) -> Any:
        value = obj.get(name)
        if not isinstance(value, types) or isinstance(value, bool):
            kind = obj.get("type")
            raise self.fail(f"{kind!r} line: field {name!r} is missing or not {_names(types)}")
        return value

    def check_unicode(self, obj: dict[str, Any]) -> None:
        """Every string must be valid Unicode (no lone surrogate from a ``\\udXXX``
        escape), except header values: those hold the wire bytes decoded as UTF-8 with
        ``surrogateescape`` (see :func:`wire_headers`)."""
        for key, value in obj.items():
            if key == "headers" and isinstance(value, list):
                for pair in value:
                    if isinstance(pair, list) and len(pair) == 2:
                        for item in pair:
                            if isinstance(item, str) and not _is_wire_text(item):
                                raise self.fail(
                                    f"a header holds {item!r}, which is not text or bytes "
                                    "(a lone surrogate escape)"
                                )
                continue
            try:
                json.dumps(value, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise self.fail(
                    f"field {key!r} holds a string that is not valid Unicode "
                    "(a lone surrogate escape such as \\ud800)"
                ) from None

    def time(self, obj: dict[str, Any]) -> float:
        try:
            t = float(self.field(obj, "t", (int, float)))
        except OverflowError:
            raise self.fail(f"{obj['type']!r} line: 't' is too large") from None
        if not (math.isfinite(t) and t >= 0):
            raise self.fail(f"{obj['type']!r} line: 't' must be a number of seconds >= 0")
        if t < self.last_t:
            raise self.fail(
                f"{obj['type']!r} line: 't' = {t} is before the previous time {self.last_t}"
            )
        self.last_t = t
        return t

    def headers(self, obj: dict[str, Any]) -> Headers:
        pairs = obj.get("headers", [])
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)
            for p in pairs
        ):
            raise self.fail(f"{obj['type']!r} line: 'headers' must be a list of [name, value]")
        for name, value in pairs:
            if not _HEADER_NAME.fullmatch(name):
                raise self.fail(f"{obj['type']!r} line: {name!r} is not an HTTP header name")
            if _HEADER_BREAK.search(value):
                raise self.fail(
                    f"{obj['type']!r} line: header {name!r} has a line break or NUL in its value"
                )
        return tuple((name, value) for name, value in pairs)

    def payload(self, obj: dict[str, Any], *, required: bool) -> bytes:
        has_text, has_b64 = "text" in obj, "base64" in obj
        if has_text and has_b64:
            raise self.fail(f"{obj['type']!r} line: give 'text' or 'base64', not both")
        if has_text:
            return str(self.field(obj, "text", str)).encode("utf-8")
        if has_b64:
            try:
                return base64.b64decode(self.field(obj, "base64", str), validate=True)
            except binascii.Error as exc:
                raise self.fail(f"{obj['type']!r} line: invalid 'base64' ({exc})") from None
        if required:
            raise self.fail(f"{obj['type']!r} line: needs 'text' or 'base64'")
        return b""

    def on_request(self, obj: dict[str, Any]) -> None:
        self.check_closed("request")
        self.opened_at = self.lineno
        self.last_t = 0.0
        self.request = RecordedRequest(
            method=self.field(obj, "method", str),
            url=self.field(obj, "url", str),
            headers=self.headers(obj),
            json=obj.get("json"),
            content=b"" if "json" in obj else self.payload(obj, required=False),
        )

    def on_response(self, obj: dict[str, Any]) -> None:
        if self.request is None:
            self.check_closed("response")
            self.opened_at = self.lineno
            self.last_t = 0.0
        elif self.response is not None:
            raise self.fail("a second 'response' line in one exchange")
        status = self.field(obj, "status", int)
        if not 100 <= status <= 599:
            raise self.fail(f"'response' line: status {status} is not an HTTP status (100-599)")
        self.response = {"status": status, "headers": self.headers(obj), "t": self.time(obj)}

    def on_read(self, obj: dict[str, Any]) -> None:
        if self.response is None:
            raise self.fail("a 'read' line before the exchange's 'response' line")
        self.reads.append(Read(t=self.time(obj), data=self.payload(obj, required=True)))

    def on_end(self, obj: dict[str, Any]) -> None:
        if self.response is None:
            raise self.fail("an 'end' line before the exchange's 'response' line")
        error = None
        if "error" in obj:
            err = obj["error"]
            if not (
                isinstance(err, dict)
                and isinstance(err.get("type"), str)
                and isinstance(err.get("message"), str)
            ):
                raise self.fail("'end' line: 'error' must be {\"type\": str, \"message\": str}")
            error = RecordedError(type=err["type"], message=err["message"])
        self.close_exchange(self.time(obj), error)

    def check_closed(self, kind: str) -> None:
        if self.response is not None:
            raise self.fail(
                f"a {kind!r} line inside the exchange opened at line {self.opened_at}, "
                "which has no 'end' line"
            )
        if self.request is not None:
            raise self.fail(
                f"a {kind!r} line after the request at line {self.opened_at}, "
                "which has no 'response' line"
            )

    def close_exchange(self, end_t: float, error: RecordedError | None) -> None:
        response = self.response
        assert response is not None
        self.exchanges.append(
            Exchange(
                request=self.request,
                status_code=response["status"],
                headers=response["headers"],
                response_t=response["t"],
                reads=tuple(self.reads),
                end_t=end_t,
                error=error,
            )
        )
        self.request = None
        self.response = None
        self.reads = []


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _is_wire_text(text: str) -> bool:
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


def wire_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    """``headers`` as the bytes to send: names in ASCII, values in UTF-8 with
    ``surrogateescape``, so a recorded value comes back as the exact bytes that were
    received (the recorder decodes them the same way). RFC 9110 section 5.5 lets a
    field value carry any byte above 0x7F ("obs-text"); HTTP gives them no encoding.
    A recording checked by :func:`load_recording` always encodes."""
    return [
        (name.encode("ascii"), value.encode("utf-8", "surrogateescape")) for name, value in headers
    ]


def _names(types: type | tuple[type, ...]) -> str:
    names = {"str": "a string", "int": "an integer", "float": "a number", "list": "a list"}
    items = types if isinstance(types, tuple) else (types,)
    return " or ".join(names.get(t.__name__, t.__name__) for t in items)
