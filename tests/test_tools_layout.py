"""The tools' rooms (issue 12): no private name crosses a module or package boundary.

Inside ``ssestream.check``, ``ssestream.testing`` and ``ssestream.cli`` a module imports
only names without an underscore from its siblings; the command line imports the other
packages only through their public API (``ssestream``, ``ssestream.check``,
``ssestream.testing``), plus the one redaction module that every tool shares.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "ssestream"
PACKAGES = ("check", "testing", "cli")
SHARED = {"_redact", "_http", "__about__"}  # the tools' shared private modules


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(level, module, names) of every ``from ... import`` in the file."""
    return [
        (node.level, node.module or "", [alias.name for alias in node.names])
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
    ]


@pytest.mark.parametrize(
    "path",
    [p for package in PACKAGES for p in sorted((SRC / package).glob("*.py"))],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_no_private_name_crosses_a_module(path: Path) -> None:
    for level, module, names in imports(path):
        if level == 0:
            continue
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        assert not private, f"{path.name} imports {private} from {'.' * level}{module}"


@pytest.mark.parametrize("path", sorted((SRC / "cli").glob("*.py")), ids=lambda p: p.name)
def test_the_command_line_uses_only_the_public_packages(path: Path) -> None:
    for level, module, _ in imports(path):
        if level != 2:  # ..something: outside the cli package
            continue
        top = module.split(".")[0]
        assert top in ("", "check", "testing") or top in SHARED, (path.name, module)
        assert "." not in module, f"{path.name} reaches into {module}"
