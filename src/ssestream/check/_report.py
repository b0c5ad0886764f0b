"""Rendering a check for people: the live view while the probe runs, and the report
(rich, the ``cli`` extra, imported by the callers that have it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ._compare import Comparison
from ._probe import CheckObserver
from ._records import RUNS, STREAM_HEADERS, Exchange, Report, StreamRecord, Thresholds

__all__ = ["LiveObserver", "render_comparison", "render_report"]


def _t(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "-"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


def _share(value: Any) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{value:.0%}"


class LiveObserver(CheckObserver):
    """Prints each request as it happens and shows a stream's text live (rich)."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.live: Any = None
        self.body: Any = None
        self.chunks = 0
        self.kind = ""  # of the text shown last: "reasoning" or "content"
        self.last_refresh = 0.0

    def request(self, step: str, description: str) -> None:
        self.console.print(f"[dim]-> {description}[/]")
        if step in RUNS and self.console.is_terminal:
            from rich.live import Live
            from rich.text import Text

            self.body = Text()
            self.kind = ""
            self.live = Live(
                self._panel(step), console=self.console, auto_refresh=False, transient=False
            )
            self.live.start()

    def _panel(self, step: str) -> Any:
        from rich.panel import Panel

        return Panel(self.body, title=f"streaming ({RUNS[step]})", title_align="left")

    def text(self, step: str, kind: str, text: str) -> None:
        if self.live is None:
            return
        if kind != self.kind:  # reasoning and answer apart, each under its label
            self.body.append(
                ("\n" if self.kind else "")
                + ("reasoning: " if kind == "reasoning" else "answer: "),
                style="bold",
            )
            self.kind = kind
        self.body.append(text, style="dim italic" if kind == "reasoning" else "")
        now = time.perf_counter()
        if now - self.last_refresh >= 0.03:
            self.last_refresh = now
            self.live.refresh()

    def response(self, step: str, exchange: Exchange, record: StreamRecord | None) -> None:
        if self.live is not None:
            self.live.refresh()
            self.live.stop()
            self.live = None
        if exchange.error is not None:
            line = f"[red]{exchange.error}[/]"
        else:
            line = f"HTTP {exchange.status} {exchange.headers.get('content-type', '')}"
            if record is None:
                line += f", {_t(exchange.time)}"
            else:
                line += (
                    f", head {_t(exchange.time)}, {len(record.chunks)} chunks in "
                    f"{len(record.reads)} reads, {_t(record.end_time)}"
                )
        self.console.print(f"   {line}")


def render_report(report: Report, console: Any, thresholds: Thresholds) -> None:
    """Print the report: tables of figures and headers, problems, warnings, verdict."""
    from rich.table import Table

    metrics = report.metrics
    discovery = metrics.get("discovery")
    normal = metrics.get("non_streaming")
    console.print()
    if discovery is not None:
        listed = discovery.get("model_listed")
        console.print(
            f"GET /models: HTTP {discovery['status']} in {_t(discovery['time'])}"
            + (f", {discovery['models']} model(s)" if discovery.get("models") is not None else "")
            + (
                ""
                if listed is None
                else f", {report.model!r} {'listed' if listed else 'not listed'}"
            )
        )
    if normal is not None:
        console.print(
            f"non-streaming: HTTP {normal['status']} in {_t(normal['time'])}, "
            f"finish_reason {normal['finish_reason']}, "
            f"{normal['completion_tokens']} completion tokens"
        )
    runs = [metrics[key] for key in ("streaming", "streaming_gzip") if metrics.get(key)]
    if runs:
        table = Table(title="streaming (columns: Accept-Encoding sent)", title_justify="left")
        table.add_column("")
        for run in runs:
            table.add_column(run["accept_encoding"], justify="right")

        def row(label: str, render: Callable[[dict[str, Any]], str]) -> None:
            table.add_row(label, *(render(run) for run in runs))

        row("status", lambda m: f"{m['status']} {m['http_version'] or ''}")
        row("time to headers", lambda m: _t(m["time_to_headers"]))
        row("time to first byte", lambda m: _t(m["time_to_first_byte"]))
        row("time to first chunk", lambda m: _t(m["time_to_first_chunk"]))
        row("TTFT", lambda m: _t(m["ttft"]))
        if any(m["ttft_reasoning"] is not None for m in runs):
            row("first reasoning", lambda m: _t(m["ttft_reasoning"]))
        row("last chunk", lambda m: _t(m["time_to_last_chunk"]))
        row("total", lambda m: _t(m["total_time"]))
        row("first output / total", lambda m: _share(m["first_output_share"]))
        row(
            "first output / non-streaming",
            lambda m: _share(m["first_output_vs_non_streaming"]),
        )
        row(
            "chunks",
            lambda m: (
                f"{m['chunks']}"
                + (f" ({m['malformed_chunks']} malformed)" if m["malformed_chunks"] else "")
            ),
        )
        row("reads (with events)", lambda m: f"{m['reads']} ({m['reads_with_events']})")
        row(
            "chunks per read",
            lambda m: "-" if m["chunks_per_read"] is None else f"{m['chunks_per_read']:.1f}",
        )
        for q in ("p50", "p90", "p99", "max"):

            def gap(m: dict[str, Any], q: str = q) -> str:
                return _t(m["inter_chunk"].get(q))

            row(f"inter-chunk {q}", gap)
        row("near-zero gaps", lambda m: _share(m["near_zero_gap_share"]))
        row(
            f"time in largest {thresholds.top_gaps:.0%} gaps",
            lambda m: _share(m["largest_gaps_share"]),
        )
        row(
            "output tokens/s",
            lambda m: (
                "-"
                if m["tokens_per_second"] is None
                else f"{m['tokens_per_second']:.1f}"
                + (" (counted)" if m["tokens_source"] == "counted" else "")
            ),
        )
        row(
            "completion tokens",
            lambda m: str(m["completion_tokens"] if m["completion_tokens"] is not None else "-"),
        )
        responses = any(m.get("api") == "responses" for m in runs)
        row("terminal event" if responses else "[DONE]", lambda m: "yes" if m["done"] else "no")
        row("usage", lambda m: "yes" if m["usage"] else "no")
        row("finish_reason", lambda m: str(m["finish_reason"]))
        console.print(table)
        headers = Table(title="response headers", title_justify="left")
        headers.add_column("")
        for run in runs:
            headers.add_column(run["run"])
        for name in STREAM_HEADERS:
            headers.add_row(name, *(str(run["headers"].get(name) or "-") for run in runs))
        console.print(headers)
    for title, items, style in (
        ("problem", report.problems, "red"),
        ("warning", report.warnings, "yellow"),
    ):
        for item in items:
            console.print(f"\n[{style} bold]{title}: {item.code}[/] {item.message}")
            for line in item.evidence:
                console.print(f"  - {line}", soft_wrap=False)
            if item.hint:
                console.print(f"  [bold]hint:[/] {item.hint}")
    console.print()
    if report.ok:
        console.print("[green bold]verdict: streaming works[/]")
    else:
        codes = ", ".join(problem.code for problem in report.problems)
        console.print(f"[red bold]verdict: {len(report.problems)} problem(s): {codes}[/]")


def render_comparison(comparison: Comparison, console: Any) -> None:
    """Print several checks side by side (one column per model or route), then the
    verdict on their difference."""
    from rich.table import Table

    table = Table(title="side by side", title_justify="left")
    table.add_column("")
    for label in comparison.labels:
        table.add_column(label)

    def streaming(report: Report, key: str) -> Any:
        metrics = report.metrics.get("streaming") or {}
        return metrics.get(key) if isinstance(metrics, dict) else None

    def p50(report: Report) -> Any:
        gaps = streaming(report, "inter_chunk")
        return gaps.get("p50") if isinstance(gaps, dict) else None

    rows: list[tuple[str, Callable[[Report], str]]] = [
        ("verdict", lambda r: r.verdict),
        ("TTFT", lambda r: _t(streaming(r, "ttft"))),
        ("total", lambda r: _t(streaming(r, "total_time"))),
        ("chunks", lambda r: str(streaming(r, "chunks") or 0)),
        ("chunks per read", lambda r: f"{streaming(r, 'chunks_per_read') or 0:.1f}"),
        ("inter-chunk p50", lambda r: _t(p50(r))),
        ("exit status", lambda r: str(r.exit_status)),
    ]
    for name, cell in rows:
        table.add_row(name, *(cell(report) for report in comparison.reports))
    console.print()
    console.print(table)
    style = "green" if comparison.exit_status == 0 else "red"
    console.print(f"[bold {style}]difference:[/] {comparison.verdict}")
