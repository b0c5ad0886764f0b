"""``ssestream record``: record one real streaming answer to a ``.jsonl`` file.

One request (a chat completion with ``stream: true`` and
``stream_options.include_usage``, or with ``--api responses`` a Responses request with
``stream: true``) goes through :class:`ssestream.testing.RecordingTransport` around
``httpx.HTTPTransport``, so every network read is written with its arrival time, while
:class:`ssestream.ChatStream` (:class:`ssestream.ResponseStream`) reads the same response
and its ``events()`` print the text and tool calls as they stream: one loop for both.

Invariants: the recording is written to a temporary file next to the target and moved
into place only when the server answered with a stream, so a refused request (no
connection, 401, an HTML page) never replaces a good recording. The API key is read from
the environment (surrounding whitespace stripped: a CRLF ``.env`` file leaves a ``\\r``),
sent only in the ``Authorization`` header, never printed (every message shown goes
through :func:`ssestream._redact.redact_text`), and written as ``REDACTED`` by the
recorder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

from .. import (
    APIStatusError,
    ChatStream,
    ResponseStream,
    SSEStreamError,
    UnexpectedContentTypeError,
    connect_chat,
    connect_responses,
)
from .._redact import redact_text, redact_url
from ..testing import RecordingTransport
from ._output import Printer, summary

__all__ = ["request_body", "run"]


def request_body(model: str, prompt: str, api: str = "chat") -> dict[str, Any]:
    """The JSON body ``record`` sends: one user message, streamed, with usage asked for
    (a Responses stream always ends with its usage)."""
    if api == "responses":
        return {"model": model, "input": prompt, "stream": True}
    return {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


class _Progress:
    """The progress line (bytes, chunks, elapsed) on ``err``.

    Redrawn in place at most 10 times a second when ``err`` is a terminal and the text
    goes elsewhere (both on one terminal would interleave); always written at the end.
    """

    def __init__(self, out: TextIO, err: TextIO, start: float) -> None:
        self.err = err
        self.start = start
        self.live = err.isatty() and not out.isatty()
        self.shown = 0.0

    def line(self, num_bytes: int, chunks: int) -> str:
        elapsed = time.monotonic() - self.start
        return f"{num_bytes} bytes, {chunks} chunks, {elapsed:.2f} s"

    def update(self, num_bytes: int, chunks: int) -> None:
        now = time.monotonic()
        if self.live and now - self.shown >= 0.1:
            self.shown = now
            self.err.write(f"\r\x1b[Krecording: {self.line(num_bytes, chunks)}")
            self.err.flush()

    def end(self, num_bytes: int, chunks: int, outcome: str) -> None:
        prefix = "\r\x1b[K" if self.live else ""
        self.err.write(f"{prefix}{outcome}: {self.line(num_bytes, chunks)}\n")


def _discard(partial: Path) -> None:
    with contextlib.suppress(OSError):
        partial.unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    """Run ``ssestream record``; returns the exit status.

    ``args`` holds ``base_url``, ``model``, ``prompt``, ``output``, ``api_key_env``,
    ``timeout`` (seconds without a byte before giving up) and ``api`` (``"chat"`` or
    ``"responses"``).

    Exit status: 0 when the stream was recorded complete; 1 when it broke off or carried
    an error mid-stream (what arrived is still saved: a recording of a failure is
    useful); 2 when nothing was recorded: no connection, an HTTP error status (401,
    429...), a body that is not a stream, a bad URL or output path.
    """
    out, err = sys.stdout, sys.stderr
    path = Path(args.output)
    if path.suffix.lower() == ".sse":
        err.write(f"error: {path}: a recording is JSON Lines; name it .jsonl\n")
        return 2
    if path.is_dir():
        err.write(f"error: {path} is a directory\n")
        return 2
    if path.exists() and not path.is_file():
        err.write(f"error: {path} is not a regular file; refusing to replace it\n")
        return 2
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        err.write(f"error: cannot write {path}: {parent} is not a directory\n")
        return 2
    headers = {}
    key = (os.environ.get(args.api_key_env) or "").strip() if args.api_key_env else ""
    secrets = (key,) if key else ()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    else:
        err.write(f"note: ${args.api_key_env} is not set; sending no Authorization header\n")
    api = getattr(args, "api", "chat")
    url = args.base_url.rstrip("/") + ("/responses" if api == "responses" else "/chat/completions")
    connect = connect_responses if api == "responses" else connect_chat
    shown = redact_url(url)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    timeout = httpx.Timeout(args.timeout, connect=min(args.timeout, 10.0))
    printer = Printer(out)
    start = time.monotonic()
    progress = _Progress(out, err, start)
    chunks = 0
    num_bytes = 0
    stream: ChatStream | ResponseStream | None = None
    failure: SSEStreamError | None = None
    out.write(f"ssestream record: POST {shown} (model {args.model})\n\n")
    out.flush()
    try:
        transport = RecordingTransport(httpx.HTTPTransport(), partial)
        with (
            httpx.Client(transport=transport, timeout=timeout) as client,
            connect(
                client,
                "POST",
                url,
                json=request_body(args.model, args.prompt, api),
                headers=headers,
            ) as stream,
        ):
            response = stream.response

            def on_item() -> None:
                nonlocal chunks, num_bytes
                chunks += 1  # a chunk, or a Responses event
                num_bytes = response.num_bytes_downloaded
                progress.update(num_bytes, chunks)

            try:
                printer.play(stream, on_item, show=True)
            except (APIStatusError, UnexpectedContentTypeError):
                raise
            except SSEStreamError as exc:  # mid-stream: keep what was recorded
                failure = exc
            num_bytes = stream.response.num_bytes_downloaded
    except (APIStatusError, UnexpectedContentTypeError) as exc:
        _discard(partial)
        printer.end()
        err.write(f"error: {shown}: {redact_text(exc.message, secrets)}\nnothing recorded\n")
        return 2
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        _discard(partial)
        printer.end()
        reason = redact_text(str(exc) or type(exc).__name__, secrets)
        err.write(
            f"error: cannot reach {shown}: {type(exc).__name__}: {reason}\nnothing recorded\n"
        )
        return 2
    except OSError as exc:  # the recording file
        _discard(partial)
        err.write(f"error: cannot write {path}: {exc.strerror or exc}\n")
        return 2
    try:
        os.replace(partial, path)
    except OSError as exc:
        err.write(f"error: cannot write {path}: {exc.strerror or exc}\n")
        return 2
    printer.end()
    assert stream is not None
    summary(stream, chunks, out)
    out.flush()
    if failure is not None:
        message = redact_text(failure.message, secrets)
        err.write(f"error: {type(failure).__name__}: {message}\n")
        progress.end(num_bytes, chunks, f"recorded to {path} (incomplete)")
        return 1
    progress.end(num_bytes, chunks, f"recorded to {path}")
    return 1 if stream.interrupted else 0
