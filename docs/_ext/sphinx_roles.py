"""Griffe extension for the API reference: turn Sphinx roles in docstrings into links.

ssestream's docstrings use Google-style sections with Sphinx inline roles
(``:class:`ChatStream```, ``:meth:`feed```, ``:data:`NEED_DATA```). mkdocstrings does not
read those roles, so this extension rewrites each one, before rendering, into an optional
autorefs cross-reference around a code span: a link when the target is rendered
somewhere on the site, plain code when it is not (a private helper, a module). Optional
references never fail ``mkdocs build --strict``.

Targets are resolved the way Sphinx resolves them in this codebase:

* ``:class:`X```, ``:func:`X```, ``:data:`X```, ``:exc:`X```: ``X`` in the public module
  of the docstring (``ssestream.testing`` for ``ssestream.testing._replay``) if that
  module exports it, else ``ssestream.X``; ``:class:`X.y```: the same with ``.y``; a
  name already starting with ``ssestream.`` is kept.
* ``:meth:`y``` and ``:attr:`y``` without a dot: a member of the class whose docstring
  (or whose member's docstring) holds the role.
* ``~`` shows only the last component; a leading ``.`` is dropped.

Loaded by ``mkdocs.yml`` (``extensions: [docs/_ext/sphinx_roles.py]``); not part of the
package and not copied to the site.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?P<role>class|meth|func|attr|data|exc|mod|obj):`(?P<target>[^`]+)`")
_PACKAGE = "ssestream"


def _enclosing_class(obj: griffe.Object) -> griffe.Object | None:
    current: griffe.Object | None = obj
    while current is not None and not current.is_class:
        current = current.parent
    return current


def _public_prefix(path: str) -> list[str]:
    """The components of ``path`` before its first private one."""
    parts = path.split(".")
    for position, part in enumerate(parts):
        if part.startswith("_"):
            return parts[:position]
    return parts


def _public_path(obj: griffe.Object) -> str:
    """Where the object is re-exported: ``ssestream._streams.ChatStream`` ->
    ``ssestream.ChatStream``, ``ssestream.testing._replay.ReplayTransport`` ->
    ``ssestream.testing.ReplayTransport``."""
    parts = obj.path.split(".")
    public = _public_prefix(obj.path)
    return ".".join([*public, *parts[len(public) + 1 :]])


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles into optional cross-references (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != _PACKAGE:
            return
        self._package = pkg
        self._walk(pkg, set())

    def _walk(self, obj: griffe.Object | griffe.Alias, seen: set[str]) -> None:
        if obj.is_alias or obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(lambda m: self._link(obj, m), obj.docstring.value)
        for member in obj.members.values():
            self._walk(member, seen)

    def _resolve(self, obj: Any, target: str) -> str:
        """The identifier of a bare name: in the docstring's public module if it exports it."""
        module = obj if obj.is_module else obj.module
        public = ".".join(_public_prefix(module.path))
        if public != _PACKAGE:
            try:
                exports = self._package.get_member(public.removeprefix(_PACKAGE + "."))
            except (KeyError, ValueError):
                exports = None
            if exports is not None and target.split(".", 1)[0] in exports.members:
                return f"{public}.{target}"
        return f"{_PACKAGE}.{target}"

    def _link(self, obj: Any, match: re.Match[str]) -> str:
        role, target = match["role"], match["target"]
        short = target.startswith("~")
        target = target.lstrip("~").lstrip(".")
        shown = target.rsplit(".", 1)[-1] if short else target
        code = f"<code>{shown}</code>"
        if role == "mod":
            return code
        if target.startswith(_PACKAGE + "."):
            identifier = target
        elif role in ("meth", "attr") and "." not in target:
            owner = _enclosing_class(obj)
            if owner is None:
                return code
            identifier = f"{_public_path(owner)}.{target}"
        else:
            identifier = self._resolve(obj, target)
        return f'<autoref identifier="{identifier}" optional>{code}</autoref>'
