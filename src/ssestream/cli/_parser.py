"""The ``ssestream`` command line's arguments (argparse), for every command.

Only the options live here, with their range-checked types (:mod:`._args`) and the
defaults they show; each command's code is in its own module (``_demo``, ``_replay``,
``_check``, ``_serve``, ``_record``), imported by :func:`ssestream.cli.main` only when
that command runs. Building the parser imports no HTTP library, Starlette or rich.
"""

from __future__ import annotations

import argparse

from ..__about__ import __version__
from ..check import DEFAULT_MAX_TIME, DEFAULT_MAX_TOKENS, DEFAULT_PROMPT, Thresholds
from ..testing import (
    DEFAULT_EVENT_GAP,
    DEFAULT_FIRST_TOKEN_DELAY,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    FAULTS,
)
from ._args import non_negative_float, parse_pace, port, positive_float, positive_int

__all__ = ["DEFAULT_TIMEOUT", "DEMO_RECORDINGS", "DEMO_TIMEOUT", "build_parser"]

DEMO_RECORDINGS = {
    "tool": "zai-glm-4.7-flash-tool-turn1.sse",
    "reasoning": "deepseek-reasoner-reasoning.sse",
    "parallel-tools": "openai-gpt-5-multi-tool-turn1.sse",
    "error": "openai-gpt-4.1-midstream-error.sse",
    "responses": "openai-responses-gpt-5-reasoning-tool.sse",
    "responses-text": "openrouter-responses-gpt-oss-20b.sse",
    "responses-error": "openai-responses-error.sse",
}
"""``demo --recording`` name -> the bundled file in ``ssestream/_data``."""

DEMO_TIMEOUT = 3.0
"""The read timeout of ``check --demo`` when ``--timeout`` is not given, in seconds, on
top of the longest silence the demo server plans (the non-streaming answer comes when
the recorded stream would have ended; ``--fault slow-first-token`` waits before the
first token; ``--pace 0.5`` doubles every wait): so that a healthy server is never cut
off, and ``--fault stall`` still ends a few seconds after the stream stops."""

DEFAULT_TIMEOUT = 60.0
"""The read timeout of ``check`` against a real endpoint when ``--timeout`` is not
given, in seconds."""


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
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="replay a bundled real recording, printing the text as it streams",
        description="Replay a bundled real provider recording through ChatStream (or "
        "ResponseStream, for the responses* recordings of the Responses API).",
    )
    demo.add_argument(
        "--recording",
        choices=sorted(DEMO_RECORDINGS),
        default="tool",
        help="which bundled recording (default: tool)",
    )
    _add_replay_options(demo, delay=0.03)
    demo.set_defaults(command="demo")

    replay = commands.add_parser(
        "replay",
        help="replay a recorded .sse body (e.g. saved with curl -N)",
        description="Decode a recorded response body and print the rebuilt completion.",
    )
    replay.add_argument("file", help="path of the recorded body (.sse) or recording (.jsonl)")
    _add_replay_options(replay, delay=0.0)
    replay.set_defaults(command="replay")

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
    serve.set_defaults(command="serve")

    record = commands.add_parser(
        "record",
        help="record one streaming chat completion (or Responses stream) to a .jsonl recording",
        description="Send one streaming chat (or Responses) request and record every network "
        "read with its timing; the text is shown as it streams.",
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
    record.add_argument(
        "--api",
        choices=["chat", "responses"],
        default="chat",
        help="which streaming API: chat (POST /chat/completions, the default) or "
        "responses (POST /responses, OpenAI's Responses API)",
    )
    record.set_defaults(command="record")

    check = commands.add_parser(
        "check",
        help="check that streaming from an OpenAI-compatible endpoint really works",
        description="Diagnose streaming: GET /models, a normal request, then the same "
        "request streamed with and without compression, timed read by read; a verdict "
        "with evidence and a hint per problem. Exit status 0: streaming works, 1: "
        "problems, 2: unreachable or refused.",
    )
    _add_check_arguments(check)
    check.set_defaults(command="check")
    return parser


def _add_check_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Thresholds()
    parser.add_argument(
        "--base-url",
        metavar="URL",
        action="append",
        help="the API root, e.g. https://api.openai.com/v1; give it several times to "
        "compare routes side by side",
    )
    parser.add_argument(
        "--model",
        action="append",
        help="the model to ask (required unless --demo); give it several times to compare "
        "models side by side",
    )
    parser.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="environment variable holding the API key, sent as Authorization: Bearer "
        "(default OPENAI_API_KEY; unset: no key, fine for local servers). Never printed.",
    )
    parser.add_argument(
        "--api",
        choices=["chat", "responses"],
        default="chat",
        help="which streaming API to probe: chat (POST /chat/completions, the default) or "
        "responses (POST /responses, OpenAI's Responses API)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object for machines")
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help=f"give up on a request when no byte arrives for this long (default "
        f"{DEFAULT_TIMEOUT:g}; with --demo {DEMO_TIMEOUT:g} more than the longest wait the "
        "demo server plans)",
    )
    parser.add_argument(
        "--max-time",
        type=positive_float,
        default=DEFAULT_MAX_TIME,
        metavar="SECONDS",
        help=f"deadline of the whole check; a stream still going then is reported "
        f"as too_long (default {DEFAULT_MAX_TIME:g})",
    )
    parser.add_argument(
        "--slow-first-token",
        type=positive_float,
        default=defaults.slow_first_token,
        metavar="SECONDS",
        help=f"a first token later than this is reported (default {defaults.slow_first_token:g})",
    )
    parser.add_argument(
        "--max-tokens",
        type=positive_int,
        default=DEFAULT_MAX_TOKENS,
        metavar="N",
        help=f"max_tokens of the chat requests (default {DEFAULT_MAX_TOKENS})",
    )
    parser.add_argument(
        "--prompt", default=DEFAULT_PROMPT, help="the user message (default: count to 40)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="check the built-in server (ssestream serve) with a bundled recording; no key",
    )
    parser.add_argument(
        "--fault",
        choices=list(FAULTS),
        default="none",
        metavar="NAME",
        help="with --demo: the server's fault, to see it detected (see ssestream serve -h)",
    )
    parser.add_argument(
        "--pace",
        type=parse_pace,
        default="recorded",
        metavar="recorded|none|SPEED",
        help="with --demo: the server's pace (default recorded: 20 ms between events)",
    )
