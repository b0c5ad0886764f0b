"""The documentation's examples run, and print what the pages say they print.

Each ```python block of a guide is executed in order, in one namespace per page, from
the repository root (the examples read the bundled recordings). Where a ```text block
follows directly, the block's output must equal it (trailing spaces ignored). A block
that starts with ``# not run`` is shown for reading only (it needs a network or a
package the tests do not install).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "index.md",
    "decoding.md",
    "streams.md",
    "tracing.md",
    "accumulation.md",
    "events.md",
    "relay.md",
    "testing.md",
    "cli.md",
]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.rstrip("\n").split("\n"))


@pytest.mark.parametrize("page", PAGES)
def test_page_examples(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "docs" / page
    if not path.exists():
        pytest.fail(f"docs/{page} is missing")
    monkeypatch.chdir(ROOT)
    text = path.read_text()
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    namespace: dict[str, object] = {"__name__": "__docs__"}
    ran = 0
    for number, (lang, code, start, end) in enumerate(blocks):
        if lang != "python" or code.lstrip().startswith("# not run"):
            continue
        line = text[:start].count("\n") + 1
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(code, f"docs/{page}:{line}", "exec"), namespace)
        ran += 1
        following = blocks[number + 1] if number + 1 < len(blocks) else None
        if following and following[0] == "text" and not text[end : following[2]].strip():
            assert _normalise(output.getvalue()) == _normalise(following[1]), f"docs/{page}:{line}"
    assert ran > 0, f"docs/{page} has no runnable example"
