"""The ``ssestream`` command line (argparse): demo, replay, check, serve and record.

``demo`` replays a bundled real recording and ``replay FILE`` any recorded body (a
``.sse`` file such as one saved with ``curl -N``, or a ``.jsonl`` recording) through the
real stack: the bytes go through :class:`ChatStream` in small reads, the text is printed
as it streams (reasoning set apart from the answer), then the rebuilt completion is
summarised. ``check`` (``_check.py``), ``serve`` (``_serve.py``; the server itself is in
``testing/_server.py``) and ``record`` (``_record_cmd.py``) keep their code in their own
modules, imported when they run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import TextIO

from .__about__ import __version__
from ._args import non_negative_float, parse_pace, port, positive_float, positive_int
from ._exceptions import SSEStreamError
from ._streams import ChatStream
from ._types import ChatCompletion
from .testing import Exchange, Read, load_recording
from .testing._server import (
    DEFAULT_EVENT_GAP,
    DEFAULT_FIRST_TOKEN_DELAY,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    FAULTS,
    decoded_exchange,
    no_events_reason,
)

__all__ = ["main"]

DEMO_RECORDINGS = {
    "tool": "zai-glm-4.7-flash-tool-turn1.sse",
    "reasoning": "deepseek-reasoner-reasoning.sse",
    "parallel-tools": "openai-gpt-5-multi-tool-turn1.sse",
    "error": "openai-gpt-4.1-midstream-error.sse",
}


def _pieces(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


class _Printer:
    """Prints choice 0's text as it streams, with a header at each change of section."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.section = ""
        self.color = out.isatty()

    def _enter(self, section: str) -> None:
        if section != self.section:
            if self.section:
                self.out.write("\n")
            self.out.write(f"--- {section} ---\n")
            self.section = section

    def write(self, section: str, text: str) -> None:
        self._enter(section)
        if self.color and section == "reasoning":
            text = f"\x1b[2m{text}\x1b[0m"
        self.out.write(text)
        self.out.flush()

    def end(self) -> None:
        if self.section:
            self.out.write("\n")


def _summary(stream: ChatStream, completion: ChatCompletion, chunks: int, out: TextIO) -> None:
    out.write("--- result ---\n")
    out.write(f"id: {completion.id}  model: {completion.model}  chunks: {chunks}\n")
    for choice in completion.choices:
        message = choice.message
        prefix = f"choice {choice.index}: " if len(completion.choices) > 1 else ""
        if len(completion.choices) > 1 and message.content:
            out.write(f"{prefix}content: {message.content!r}\n")
        if message.refusal:
            out.write(f"{prefix}refusal: {message.refusal}\n")
        for number, call in enumerate(message.tool_calls or []):
            function = call.function
            out.write(
                f"{prefix}tool call {number}: {function.name}({function.arguments}) id={call.id}\n"
            )
        out.write(f"{prefix}finish_reason: {choice.finish_reason}\n")
    usage = completion.usage
    if usage is not None:
        out.write(
            f"usage: prompt {usage.prompt_tokens}, completion {usage.completion_tokens}, "
            f"total {usage.total_tokens}\n"
        )
    else:
        out.write("usage: none sent\n")
    out.write(
        f"done ([DONE] received): {'yes' if stream.done else 'no'}  "
        f"interrupted: {'yes' if stream.interrupted else 'no'}\n"
    )


def _replay(
    body: bytes,
    *,
    label: str,
    delay: float,
    read_size: int,
    as_json: bool,
    exchange: int | None = None,
) -> int:
    out = sys.stdout
    stream = ChatStream(_pieces(body, read_size))
    printer = _Printer(out)
    chunks = 0
    error: SSEStreamError | None = None
    if not as_json:
        out.write(f"{label}\n\n")
    try:
        for chunk in stream:
            chunks += 1
            if not as_json:
                for choice in chunk.choices:
                    if choice.index not in (0, None):
                        continue
                    delta = choice.delta
                    reasoning = delta.reasoning_content
                    if reasoning:
                        printer.write("reasoning", reasoning)
                    if delta.content:
                        printer.write("answer", delta.content)
                    if delta.refusal:
                        printer.write("refusal", delta.refusal)
            if delay:
                time.sleep(delay)
    except SSEStreamError as exc:
        error = exc
    completion = stream.completion
    if as_json:
        # One JSON Lines record per stream, so that a recording of several exchanges
        # gives one parseable document per line (docs/cli.md, "JSON output").
        record: dict[str, object] = {} if exchange is None else {"exchange": exchange}
        record.update(
            completion=completion.to_dict(),
            chunks=chunks,
            done=stream.done,
            interrupted=stream.interrupted,
            error=None
            if error is None
            else {"type": type(error).__name__, "message": error.message},
        )
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    else:
        printer.end()
        _summary(stream, completion, chunks, out)
    if error is not None:
        sys.stderr.write(f"error: {type(error).__name__}: {error.message}\n")
        return 1
    return 1 if stream.interrupted else 0


def _demo(args: argparse.Namespace) -> int:
    name = DEMO_RECORDINGS[args.recording]
    body = resources.files("ssestream").joinpath("_data").joinpath(name).read_bytes()
    label = f"ssestream demo: replaying the bundled real recording {name} ({len(body)} bytes)"
    return _replay(body, label=label, delay=args.delay, read_size=args.read_size, as_json=args.json)


def _replay_file(args: argparse.Namespace) -> int:
    try:
        with open(args.file, "rb") as file:
            body = file.read()
    except OSError as exc:
        sys.stderr.write(f"error: cannot read {args.file}: {exc.strerror}\n")
        return 2
    if args.file.endswith(".jsonl") or body.lstrip().startswith(b'{"ssestream_recording"'):
        return _replay_recording(args)
    reason = no_events_reason(Exchange(reads=(Read(t=0.0, data=body),)))
    if reason is not None:
        sys.stderr.write(f"error: {args.file}: {reason}\n")
        return 2
    label = f"ssestream replay: {args.file} ({len(body)} bytes)"
    return _replay(body, label=label, delay=args.delay, read_size=args.read_size, as_json=args.json)


def _replay_recording(args: argparse.Namespace) -> int:
    """Replay each chat exchange of a ``.jsonl`` recording (its body decoded if compressed)."""
    try:
        exchanges = [
            decoded_exchange(exchange)
            for exchange in load_recording(args.file)
            if exchange.request is None or exchange.request.path.endswith("/chat/completions")
        ]
    except (OSError, ValueError) as exc:  # RecordingFormatError is a ValueError
        sys.stderr.write(f"error: cannot replay {args.file}: {exc}\n")
        return 2
    if not exchanges:
        sys.stderr.write(f"error: {args.file} holds no chat-completion exchange\n")
        return 2
    options = {"delay": args.delay, "read_size": args.read_size, "as_json": args.json}
    statuses = [0]
    for number, exchange in enumerate(exchanges):
        reason = no_events_reason(exchange)
        if reason is not None:
            sys.stderr.write(f"error: {args.file}, exchange {number}: {reason}\n")
            statuses.append(2)
            continue
        body = exchange.body
        label = f"ssestream replay: {args.file}, exchange {number} ({len(body)} bytes)"
        statuses.append(_replay(body, label=label, exchange=number, **options))
    return max(statuses)


def _serve(args: argparse.Namespace) -> int:
    from ._serve import serve_command

    return serve_command(args)


def _record(args: argparse.Namespace) -> int:
    from ._record_cmd import record_command

    return record_command(args)


def _check(args: argparse.Namespace) -> int:
    from ._check import command

    return command(args)


def _add_replay_options(parser: argparse.ArgumentParser, *, delay: float) -> None:
    parser.add_argument(
        "--delay",
        type=non_negative_float,
        default=delay,
        metavar="SECONDS",
        help=f"pause after each chunk, in seconds (default {delay}; 0 for none)",
    )
    parser.add_argument(
        "--read-size",
        type=positive_int,
        default=64,
        metavar="BYTES",
        help="feed the body to the decoder in reads of this many bytes (default 64)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON line per stream: the rebuilt completion, chunks, done, "
        "interrupted and the error",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ssestream`` command."""
    parser = argparse.ArgumentParser(
        prog="ssestream",
        description="Read the SSE streams of OpenAI-compatible chat-completion APIs.",
    )
    parser.add_argument("--version", action="version", version=f"ssestream {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="replay a bundled real recording, printing the text as it streams",
        description="Replay a bundled real provider recording through ChatStream.",
    )
    demo.add_argument(
        "--recording",
        choices=sorted(DEMO_RECORDINGS),
        default="tool",
        help="which bundled recording (default: tool)",
    )
    _add_replay_options(demo, delay=0.03)
    demo.set_defaults(handler=_demo)

    replay = commands.add_parser(
        "replay",
        help="replay a recorded .sse body (e.g. saved with curl -N)",
        description="Decode a recorded response body and print the rebuilt completion.",
    )
    replay.add_argument("file", help="path of the recorded body (.sse) or recording (.jsonl)")
    _add_replay_options(replay, delay=0.0)
    replay.set_defaults(handler=_replay_file)

    serve = commands.add_parser(
        "serve",
        help="serve recordings as a local OpenAI-compatible API, optionally with a fault",
        description="Serve recordings at /v1/chat/completions and /v1/models (a Starlette "
        "app run by uvicorn; needs the cli extra), replaying their timing, healthy or "
        "with one fault.",
        epilog="faults:\n" + "\n".join(f"  {name:<17} {text}" for name, text in FAULTS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("recordings", nargs="+", metavar="RECORDING", help=".sse or .jsonl files")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8000, help="TCP port (default 8000; 0: any)")
    serve.add_argument(
        "--pace",
        type=parse_pace,
        default="recorded",
        metavar="recorded|none|SPEED",
        help="recorded timing (default), none (as fast as possible), or the recorded "
        "timing divided by SPEED",
    )
    serve.add_argument(
        "--fault", choices=list(FAULTS), default="none", metavar="NAME", help="see below"
    )
    serve.add_argument(
        "--first-token-delay",
        type=non_negative_float,
        default=DEFAULT_FIRST_TOKEN_DELAY,
        metavar="SECONDS",
        help=f"delay of --fault slow-first-token (default {DEFAULT_FIRST_TOKEN_DELAY})",
    )
    serve.add_argument(
        "--event-gap",
        type=non_negative_float,
        default=DEFAULT_EVENT_GAP,
        metavar="SECONDS",
        help=f"time between events of a .sse recording, which has no timing "
        f"(default {DEFAULT_EVENT_GAP})",
    )
    serve.add_argument(
        "--max-request-bytes",
        type=positive_int,
        default=DEFAULT_MAX_REQUEST_BYTES,
        metavar="BYTES",
        help=f"larger request bodies get 413 and are not read "
        f"(default {DEFAULT_MAX_REQUEST_BYTES})",
    )
    serve.add_argument(
        "--request-timeout",
        type=positive_float,
        default=DEFAULT_REQUEST_TIMEOUT,
        metavar="SECONDS",
        help=f"a client that takes longer to send a request head (from connecting) or "
        f"body is disconnected (default {DEFAULT_REQUEST_TIMEOUT:g})",
    )
    serve.set_defaults(handler=_serve)

    record = commands.add_parser(
        "record",
        help="record one streaming chat completion to a .jsonl recording",
        description="Send one streaming chat request and record every network read "
        "with its timing; the text is shown as it streams.",
    )
    record.add_argument("--base-url", required=True, help="e.g. https://api.openai.com/v1")
    record.add_argument("--model", required=True)
    record.add_argument("--prompt", required=True, help="the user message")
    record.add_argument("-o", "--output", required=True, metavar="FILE", help="the .jsonl file")
    record.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="NAME",
        help="environment variable holding the API key (default OPENAI_API_KEY; "
        "unset: no Authorization header)",
    )
    record.add_argument(
        "--timeout",
        type=positive_float,
        default=60.0,
        metavar="SECONDS",
        help="give up when no byte arrives for this long (default 60)",
    )
    record.set_defaults(handler=_record)

    check = commands.add_parser(
        "check",
        help="check that streaming from an OpenAI-compatible endpoint really works",
        description="Diagnose streaming: GET /models, a normal request, then the same "
        "request streamed with and without compression, timed read by read; a verdict "
        "with evidence and a hint per problem. Exit status 0: streaming works, 1: "
        "problems, 2: unreachable or refused.",
    )
    from ._check import add_arguments

    add_arguments(check)
    check.set_defaults(handler=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Exit status: 0 when the stream was complete, 1 when it was interrupted or carried
    an error, 2 for usage errors and unreadable files.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # e.g. piped into `head`
        return 0
    except KeyboardInterrupt:
        return 130
