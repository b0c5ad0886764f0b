"""``ssestream serve``: the command that runs the recording server of :mod:`ssestream.testing`.

The server itself (the app, its faults, the runner) is testing-toolkit code, in
:mod:`ssestream.testing`; this module only turns the command line into a call.
"""

from __future__ import annotations

import argparse
import sys

from ..testing import create_app, serve_forever

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Run ``ssestream serve`` until interrupted; returns the exit status.

    ``args`` holds ``recordings``, ``host``, ``port``, ``pace``, ``fault``,
    ``first_token_delay``, ``event_gap``, ``max_request_bytes`` and ``request_timeout``.
    Exit status 2 when a recording cannot be read or served, the address cannot be
    bound, or starlette/uvicorn are missing.
    """
    err = sys.stderr
    try:
        app = create_app(
            args.recordings,
            pace=args.pace,
            fault=args.fault,
            first_token_delay=args.first_token_delay,
            event_gap=args.event_gap,
            max_request_bytes=args.max_request_bytes,
            request_timeout=args.request_timeout,
        )
    except ImportError as exc:  # the message names the cli extra and how to install it
        err.write(f"error: ssestream serve: {exc}\n")
        return 2
    except OSError as exc:
        err.write(f"error: cannot read {exc.filename}: {exc.strerror}\n")
        return 2
    except ValueError as exc:  # RecordingFormatError included
        err.write(f"error: {exc}\n")
        return 2
    listening = False

    def banner(url: str) -> None:
        nonlocal listening
        listening = True
        models = ", ".join(app.state.models) or "(none recorded)"
        err.write(
            f"ssestream serve: {app.state.exchanges} exchange(s) from "
            f"{len(args.recordings)} recording(s); models: {models}\n"
            f"routes: {', '.join(app.state.routes)}  pace: {args.pace}  fault: {args.fault}\n"
            f"base URL: {url}/v1  (e.g. OPENAI_BASE_URL={url}/v1)\n"
        )
        err.flush()

    try:
        serve_forever(
            app,
            host=args.host,
            port=args.port,
            request_timeout=args.request_timeout,
            on_listening=banner,
        )
    except ImportError as exc:
        err.write(f"error: ssestream serve: {exc}\n")
        return 2
    except OSError as exc:
        if listening:
            raise
        err.write(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}\n")
        return 2
    return 0
