"""The ``ssestream`` command line: demo, replay, check, serve and record.

:func:`main` parses the arguments (:mod:`._parser`) and runs one command, importing its
module only then: ``_demo`` and ``_replay`` (a recorded body through the real stack),
``_check`` (around :mod:`ssestream.check`), ``_serve`` (the server of
:mod:`ssestream.testing`) and ``_record``. ``_output`` prints what they share.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from ._parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Exit status: 0 when the stream was complete, 1 when it was interrupted or carried
    an error, 2 for usage errors and unreadable files.
    """
    args = build_parser().parse_args(argv)
    command = importlib.import_module(f"{__name__}._{args.command}")
    try:
        return int(command.run(args))
    except BrokenPipeError:  # e.g. piped into `head`
        return 0
    except KeyboardInterrupt:
        return 130
