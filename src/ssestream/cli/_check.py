"""``ssestream check``: the command around :mod:`ssestream.check` (probe, analyse,
render), and ``--demo``, which checks the built-in server."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from .._redact import redact_url
from ..check import (
    CheckData,
    LiveObserver,
    Thresholds,
    analyse,
    compare,
    probe,
    render_comparison,
    render_report,
)
from ._parser import DEFAULT_TIMEOUT, DEMO_TIMEOUT

__all__ = ["DEMO_RECORDING", "DEMO_RESPONSES_RECORDING", "run"]

DEMO_RECORDING = "zai-glm-4.7-flash-tool-turn1.sse"
"""The bundled recording ``--demo`` serves: reasoning, an answer, a tool call, usage and
``[DONE]`` in 82 events."""

DEMO_RESPONSES_RECORDING = "openai-responses-gpt-5-reasoning-tool.sse"
"""The bundled recording ``--demo --api responses`` serves: OpenAI gpt-5's Responses
stream, a reasoning summary and a function call in 94 events."""


def run(args: argparse.Namespace) -> int:
    """Run ``ssestream check`` from parsed arguments; returns the exit status.

    0: streaming works; 1: problems found; 2: the endpoint could not be reached or
    refused the request, or the command was misused (a message on stderr).
    """

    err = sys.stderr
    if not args.demo and (not args.base_url or not args.model):
        err.write("error: ssestream check needs --base-url and --model (or --demo)\n")
        return 2
    if args.demo and (args.base_url or (args.model and len(args.model) > 1)):
        err.write("error: --demo checks the built-in server; leave out --base-url\n")
        return 2
    if not args.demo and args.fault != "none":
        err.write("error: --fault only applies with --demo\n")
        return 2
    for url in args.base_url or ():
        if not url.startswith(("http://", "https://")):
            shown = redact_url(url)
            err.write(f"error: --base-url must start with http:// or https://: {shown!r}\n")
            return 2
    targets = _targets(args.base_url or [], args.model or [])
    if targets is None:
        err.write(
            "error: to compare, give several --model with one --base-url, several --base-url "
            "with one --model, or as many of each (paired in order)\n"
        )
        return 2
    console = None
    if not args.json:
        from ..testing import INSTALL_CLI_EXTRA

        try:
            from rich.console import Console
        except ImportError:
            err.write(f"error: the report needs rich (or use --json): {INSTALL_CLI_EXTRA}\n")
            return 2
        console = Console(highlight=False)
    thresholds = Thresholds(slow_first_token=args.slow_first_token)
    timeout = args.timeout
    if timeout is None and not args.demo:
        timeout = DEFAULT_TIMEOUT  # the demo's follows its server's plans: see _demo
    observer = LiveObserver(console) if console is not None else None
    options: dict[str, Any] = {
        "timeout": timeout,
        "max_time": args.max_time,
        "prompt": args.prompt,
        "max_tokens": args.max_tokens,
        "observer": observer,
        "api_key_env": args.api_key_env,
        "api": args.api,
    }
    if args.demo:
        try:
            data = _demo(args.fault, args.pace, thresholds, options, console)
        except ImportError as exc:
            err.write(f"error: --demo: {exc}\n")
            return 2
        report = analyse(data, thresholds)
        _show(report.to_dict(), console, lambda: render_report(report, console, thresholds))
        return report.exit_status
    key = (os.environ.get(args.api_key_env) or "").strip() or None
    reports = []
    for base_url, model in targets:
        if console is not None:
            console.print(
                f"[bold]ssestream check[/] {redact_url(base_url)}  model [bold]{model}[/]  "
                + (
                    f"key from ${args.api_key_env}"
                    if key
                    else f"no key (${args.api_key_env} unset)"
                )
            )
        report = analyse(probe(base_url, model, api_key=key, **options), thresholds)
        if console is not None:
            render_report(report, console, thresholds)
            console.print()
        reports.append(report)
    if len(reports) == 1:
        if console is None:
            _show(reports[0].to_dict(), None, lambda: None)
        return reports[0].exit_status
    comparison = compare(reports)
    _show(comparison.to_dict(), console, lambda: render_comparison(comparison, console))
    return comparison.exit_status


def _show(document: dict[str, Any], console: Any, render: Callable[[], None]) -> None:
    if console is None:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        render()


def _targets(urls: list[str], models: list[str]) -> list[tuple[str, str]] | None:
    """The (base URL, model) pairs to check: one URL and several models, several URLs
    and one model, or as many of each, paired in order; ``None`` otherwise."""
    if len(urls) == 1 or len(models) == 1 or len(urls) == len(models):
        count = max(len(urls), len(models))
        return [
            (urls[i if len(urls) > 1 else 0], models[i if len(models) > 1 else 0])
            for i in range(count)
        ]
    return None


def _demo(
    fault: str, pace: Any, thresholds: Thresholds, options: dict[str, Any], console: Any
) -> CheckData:
    """Serve the bundled recording (of the API in ``options``) with ``fault`` on loopback
    and probe it."""
    from importlib import resources

    from ..testing import create_app, running_server

    name = DEMO_RESPONSES_RECORDING if options.get("api") == "responses" else DEMO_RECORDING
    with resources.as_file(resources.files("ssestream") / "_data" / name) as path:
        app = create_app(
            [path], pace=pace, fault=fault, first_token_delay=thresholds.slow_first_token + 1.0
        )
    model = app.state.models[0] if app.state.models else "demo"
    if options["timeout"] is None:
        options = {**options, "timeout": DEMO_TIMEOUT + app.state.longest_silence}
    with running_server(app) as url:
        if console is not None:
            console.print(
                f"[bold]ssestream check --demo[/]: the built-in server at {url}/v1 replays "
                f"{name} with fault [bold]{fault}[/]"
            )
        return probe(f"{url}/v1", model, **options)
