"""What every command prints the same way: the text of choice 0 as it streams, its tool
calls filling in, the summary of a rebuilt completion, and the JSON Lines record of a
replayed stream.

One copy of each, so that ``demo``, ``replay`` and ``record`` agree (the loop that
prints choice 0's text used to exist three times). :meth:`Printer.event` is driven by
``stream.events()``: a tool call's name is shown when it is known, its arguments as
:attr:`ToolCallArgumentsDelta.partial` grows (rewritten in place on a terminal, one line
per new state otherwise), and the call marked done or incomplete.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any, TextIO

from .. import (
    ChatStream,
    ChatStreamEvent,
    ChunkEvent,
    ContentDelta,
    ReasoningDelta,
    RefusalDelta,
    Response,
    ResponseStream,
    ResponseStreamEvent,
    SSEStreamError,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
)

__all__ = ["Printer", "json_record", "summary"]


class Printer:
    """Prints choice 0's text as it streams, with a header at each change of section."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.section = ""
        self.color = out.isatty()
        self.width = max(20, shutil.get_terminal_size().columns - 1)
        # per tool call (call_index): the last partial shown and the arguments' length
        self.shown: dict[int, str] = {}
        self.lengths: dict[int, int] = {}
        self.calls: dict[int, str] = {}  # each call's section header
        self.live = False  # a partial line is on screen, to be rewritten in place

    def _enter(self, section: str) -> None:
        if section != self.section:
            if self.section:
                self.out.write("\n")
            self.live = False
            self.out.write(f"--- {section} ---\n")
            self.section = section

    def write(self, section: str, text: str) -> None:
        if not text:
            return
        self._enter(section)
        if self.color and section == "reasoning":
            text = f"\x1b[2m{text}\x1b[0m"
        self.out.write(text)
        self.out.flush()

    def play(
        self, stream: ChatStream | ResponseStream, on_item: Callable[[], None], *, show: bool
    ) -> None:
        """Read ``stream.events()`` to its end, printing each event (:meth:`event`) if
        ``show``; ``on_item()`` is called for each chunk, or each Responses event, as it
        arrives. The one loop of ``replay``, ``demo`` and ``record``, for both APIs.
        Raises what the stream raises."""
        for event in stream.events():
            if isinstance(event, (ChunkEvent, ResponseStreamEvent)):
                on_item()
            elif show:
                self.event(event)

    def event(self, event: ChatStreamEvent) -> None:
        """Print one event of ``stream.events()`` that concerns choice 0: its text, and
        its tool calls as they start, fill in and end."""
        if getattr(event, "index", 0) != 0:
            return
        if isinstance(event, ReasoningDelta):
            self.write("reasoning", event.delta)
        elif isinstance(event, ContentDelta):
            self.write("answer", event.delta)
        elif isinstance(event, RefusalDelta):
            self.write("refusal", event.delta)
        elif isinstance(event, ToolCallStarted):
            self._call(event.call_index, _header(event.call_index, event.name, event.id))
        elif isinstance(event, ToolCallArgumentsDelta):
            self._arguments(event.call_index, event.delta, lambda: event.partial)
        elif isinstance(event, ToolCallDone):
            self._call(event.call_index, _header(event.call_index, event.name, event.id))
            self._done(event.complete, event.parsed, event.arguments)

    def _call(self, key: int, header: str | None) -> None:
        """Enter the section of call ``key`` (``header``: its title, if known now)."""
        if header is not None:
            self.calls[key] = header
        self._enter(self.calls.get(key, f"tool call {key}"))

    def _done(self, complete: bool, parsed: Any, arguments: str) -> None:
        if self.live:
            self.out.write("\n")
            self.live = False
        if complete:
            self.out.write(f"done: {_compact(parsed, self.width - 6)}")
        else:
            self.out.write(f"incomplete: {_clip(arguments, self.width - 12)}")
        self.out.flush()

    def _arguments(self, number: int, delta: str, partial: Callable[[], Any]) -> None:
        length = self.lengths.get(number, 0) + len(delta)
        self.lengths[number] = length
        self._call(number, None)  # calls may interleave
        # Past _SHOWN_ARGUMENTS characters the arguments are counted, not rendered:
        # rendering the whole value at every delta would be quadratic in its size.
        if length <= _SHOWN_ARGUMENTS:
            value = partial()
            text = "" if value is None else _compact(value, self.width)
        else:
            text = f"... {length} characters of arguments"
        if text == self.shown.get(number) or not text:
            return
        self.shown[number] = text
        if self.live and self.color:
            self.out.write("\r\x1b[K")  # rewrite the partial line in place
        elif self.live:
            self.out.write("\n")
        self.out.write(text)
        self.live = True
        self.out.flush()

    def end(self) -> None:
        """End the last section's line."""
        if self.section:
            self.out.write("\n")


def _header(key: int, name: str | None, call_id: str | None) -> str:
    return f"tool call {key}: {name or '(no name yet)'} id={call_id}"


_SHOWN_ARGUMENTS = 4096
"""Arguments longer than this (in characters) are shown by their length while they stream."""


def _compact(value: Any, width: int) -> str:
    return _clip(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")), width)


def _clip(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: max(width - 3, 1)] + "..."


def summary(stream: ChatStream | ResponseStream, items: int, out: TextIO) -> None:
    """Print the result of a chat stream (its ``items`` chunks) or of a Responses stream
    (its ``items`` events)."""
    if isinstance(stream, ResponseStream):
        _response_summary(stream, items, out)
    else:
        _chat_summary(stream, items, out)


def json_record(
    stream: ChatStream | ResponseStream, items: int, error: SSEStreamError | None, **extra: object
) -> str:
    """One JSON Lines record of a replayed stream (``replay --json``, ``demo --json``),
    after ``extra`` (``exchange``: its index in a recording): see :func:`_chat_record`
    and :func:`_response_record` for the fields of each API."""
    record: dict[str, object] = dict(extra)
    if isinstance(stream, ResponseStream):
        record.update(_response_record(stream, items))
    else:
        record.update(_chat_record(stream, items))
    record["interrupted"] = stream.interrupted
    record["error"] = (
        None if error is None else {"type": type(error).__name__, "message": error.message}
    )
    return json.dumps(record, ensure_ascii=False) + "\n"


def _chat_summary(stream: ChatStream, chunks: int, out: TextIO) -> None:
    """Print the rebuilt completion: id, model, tool calls, finish_reason, usage."""
    completion = stream.completion
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


def _chat_record(stream: ChatStream, chunks: int) -> dict[str, object]:
    """A chat stream's fields: ``completion``, ``chunks``, ``done`` (then, for both
    APIs, ``interrupted`` and ``error``: ``null`` or ``{"type", "message"}``)."""
    return {"completion": stream.completion.to_dict(), "chunks": chunks, "done": stream.done}


def _response_summary(stream: ResponseStream, events: int, out: TextIO) -> None:
    """Print the rebuilt Responses API response: id, model, each output item, status,
    usage, the terminal event and whether the stream was interrupted."""
    response: Response = stream.snapshot
    out.write("--- result ---\n")
    out.write(f"id: {response.id}  model: {response.model}  events: {events}\n")
    for number, item in enumerate(response.output):
        kind = item.type
        if kind == "message":
            out.write(f"output {number}: message {_clip(repr(item.text), 200)}\n")
        elif kind in ("function_call", "mcp_call"):
            out.write(
                f"output {number}: {kind} {item.name}({item.arguments}) call_id={item.call_id}\n"
            )
        elif kind == "custom_tool_call":
            out.write(
                f"output {number}: {kind} {item.name}({item.input!r}) call_id={item.call_id}\n"
            )
        elif kind == "reasoning":
            parts = item.get("summary")
            shown = f" ({len(parts)} summary part(s))" if isinstance(parts, list) and parts else ""
            out.write(f"output {number}: reasoning{shown}\n")
        else:
            out.write(f"output {number}: {kind}\n")
    out.write(f"status: {response.status}")
    if response.incomplete_details:
        out.write(f"  incomplete_details: {json.dumps(response.incomplete_details)}")
    out.write("\n")
    usage = response.usage
    if usage is not None:
        out.write(
            f"usage: input {usage.input_tokens}, output {usage.output_tokens}, "
            f"total {usage.total_tokens}\n"
        )
    else:
        out.write("usage: none sent\n")
    out.write(
        f"terminal event: {stream.terminal_event or 'none'}  "
        f"interrupted: {'yes' if stream.interrupted else 'no'}\n"
    )


def _response_record(stream: ResponseStream, events: int) -> dict[str, object]:
    """A Responses stream's fields: ``response`` (the rebuilt response object),
    ``events``, ``terminal_event``."""
    return {
        "response": stream.snapshot.to_dict(),
        "events": events,
        "terminal_event": stream.terminal_event,
    }
