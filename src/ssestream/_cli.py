"""The command line moved to :mod:`ssestream.cli`; this name stays for the ``ssestream``
scripts that installations made before the move still point at (``ssestream._cli:main``).
``pyproject.toml`` names ``ssestream.cli:main``; reinstalling updates the script."""

from .cli import main

__all__ = ["main"]
