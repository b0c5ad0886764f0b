"""What every command prints the same way: the text of choice 0 as it streams, the
summary of a rebuilt completion, and the JSON Lines record of a replayed stream.

One copy of each, so that ``demo``, ``replay`` and ``record`` agree (the loop that
prints choice 0's text used to exist three times).
"""

from __future__ import annotations

import json
from typing import TextIO

from .. import ChatCompletion, ChatCompletionChunk, ChatStream, SSEStreamError

__all__ = ["Printer", "json_record", "summary"]


class Printer:
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

    def chunk(self, chunk: ChatCompletionChunk) -> None:
        """Print the text of choice 0 in ``chunk``: reasoning, answer, refusal."""
        for choice in chunk.choices:
            if choice.index not in (0, None):
                continue
            delta = choice.delta
            reasoning = delta.reasoning_content
            if reasoning:
                self.write("reasoning", reasoning)
            if delta.content:
                self.write("answer", delta.content)
            if delta.refusal:
                self.write("refusal", delta.refusal)

    def end(self) -> None:
        """End the last section's line."""
        if self.section:
            self.out.write("\n")


def summary(stream: ChatStream, completion: ChatCompletion, chunks: int, out: TextIO) -> None:
    """Print the rebuilt completion: id, model, tool calls, finish_reason, usage."""
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


def json_record(
    stream: ChatStream, chunks: int, error: SSEStreamError | None, **extra: object
) -> str:
    """One JSON Lines record of a replayed stream (``replay --json``, ``demo --json``):
    ``completion``, ``chunks``, ``done``, ``interrupted`` and ``error`` (``null`` or
    ``{"type", "message"}``), after ``extra`` (``exchange``: its index in a recording)."""
    record: dict[str, object] = dict(extra)
    record.update(
        completion=stream.completion.to_dict(),
        chunks=chunks,
        done=stream.done,
        interrupted=stream.interrupted,
        error=None if error is None else {"type": type(error).__name__, "message": error.message},
    )
    return json.dumps(record, ensure_ascii=False) + "\n"
