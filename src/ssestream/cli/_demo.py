"""``ssestream demo``: replay a real provider recording bundled with the package."""

from __future__ import annotations

import argparse
from importlib import resources

from ._parser import DEMO_RECORDINGS
from ._replay import replay_body

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """``ssestream demo``: replay the chosen bundled recording."""
    name = DEMO_RECORDINGS[args.recording]
    body = resources.files("ssestream").joinpath("_data").joinpath(name).read_bytes()
    label = f"ssestream demo: replaying the bundled real recording {name} ({len(body)} bytes)"
    return replay_body(
        body, label=label, delay=args.delay, read_size=args.read_size, as_json=args.json
    )
