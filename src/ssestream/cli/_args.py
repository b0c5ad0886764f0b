"""argparse ``type=`` parsers shared by the commands: a bad value is a usage error.

argparse turns an ``ArgumentTypeError`` raised here into ``error: argument --x: ...`` and
exit status 2, before any command runs; a value it let through would otherwise fail
later with a traceback (``demo --read-size 0``, ``serve --port 99999``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, Literal

__all__ = [
    "non_negative_float",
    "parse_pace",
    "port",
    "positive_float",
    "positive_int",
]


def _number(
    kind: type[float] | type[int],
    *,
    low: float,
    high: float | None = None,
    low_ok: bool = True,
) -> Callable[[str], Any]:
    name = "an integer" if kind is int else "a number"
    bound = f">= {low:g}" if low_ok else f"> {low:g}"
    if high is not None:
        bound = f"from {low:g} to {high:g}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {name}") from None
        if (
            not math.isfinite(value)
            or value < low
            or (not low_ok and value == low)
            or (high is not None and value > high)
        ):
            raise argparse.ArgumentTypeError(f"{text!r}: expected {name} {bound}")
        return value

    parse.__name__ = f"{'int' if kind is int else 'float'} {bound}"
    return parse


positive_int = _number(int, low=0, low_ok=False)
"""An integer > 0 (``--read-size``, ``--max-tokens``, ``--max-request-bytes``)."""

positive_float = _number(float, low=0, low_ok=False)
"""A finite number of seconds > 0 (``--timeout``, ``--max-time``)."""

non_negative_float = _number(float, low=0)
"""A finite number >= 0 (``--delay``, ``--event-gap``, ``--first-token-delay``)."""

port = _number(int, low=0, high=65535)
"""A TCP port, 0 (any free port) to 65535."""


def parse_pace(text: str) -> Literal["recorded", "none"] | float:
    """Parse ``--pace``: ``recorded``, ``none`` or a speed factor > 0.

    Raises:
        argparse.ArgumentTypeError: anything else (argparse reports it).
    """
    if text in ("recorded", "none"):
        return text  # type: ignore[return-value]
    try:
        speed = float(text)
    except ValueError:
        speed = math.nan
    if not (math.isfinite(speed) and speed > 0):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected 'recorded', 'none' or a speed factor > 0 (e.g. 2)"
        )
    return speed
