"""The package's public surface: ``__all__`` sorted and complete, every name documented."""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import re
from typing import Any

import pytest

import ssestream

PUBLIC = [name for name in ssestream.__all__ if name != "__version__"]


def isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then CamelCase, then everything else."""
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def test_all_is_sorted() -> None:
    assert ssestream.__all__ == sorted(ssestream.__all__, key=isort_key)
    assert len(set(ssestream.__all__)) == len(ssestream.__all__)


def test_every_name_in_all_exists() -> None:
    for name in ssestream.__all__:
        assert getattr(ssestream, name, None) is not None, name


def test_every_public_name_is_in_all() -> None:
    """Whatever the package namespace exposes without an underscore is in ``__all__``
    (submodules aside)."""
    exposed = {
        name
        for name, value in vars(ssestream).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert exposed <= set(ssestream.__all__)


def test_version() -> None:
    assert isinstance(ssestream.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+([abc]|rc|\.dev|\.post)?\d*", ssestream.__version__)


def attribute_docstrings(module_name: str) -> dict[str, str]:
    """Module-level ``NAME = ...`` followed by a string literal: NAME's docstring."""
    module = importlib.import_module(module_name)
    tree = ast.parse(inspect.getsource(module))
    docs = {}
    body = tree.body
    for statement, following in itertools.pairwise(body):
        targets: list[Any] = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            for target in targets:
                if isinstance(target, ast.Name):
                    docs[target.id] = following.value.value
    return docs


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_has_a_docstring(name: str) -> None:
    obj = getattr(ssestream, name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
        assert doc, f"{name} has no docstring of its own"
        assert doc.strip().splitlines()[0].strip(), f"{name}: empty summary line"
    else:
        # Constants: an attribute docstring in the module that defines them.
        modules = [
            "ssestream._decoder",
            "ssestream._parser",
            "ssestream._encoder",
            "ssestream._partial_json",
            "ssestream._events",
            "ssestream._responses_events",
        ]
        docs = {k: v for m in modules for k, v in attribute_docstrings(m).items()}
        assert docs.get(name, "").strip(), f"{name} has no attribute docstring"


def public_members(cls: type) -> list[tuple[str, Any]]:
    return [
        (name, value)
        for klass in cls.__mro__
        if klass.__module__.startswith("ssestream")
        for name, value in vars(klass).items()
        if not name.startswith("_")
    ]


@pytest.mark.parametrize("name", [n for n in PUBLIC if inspect.isclass(getattr(ssestream, n))])
def test_every_public_member_is_documented(name: str) -> None:
    """A method or property has its own docstring, or the class docstring describes it."""
    cls = getattr(ssestream, name)
    class_doc = "\n".join(inspect.getdoc(k) or "" for k in cls.__mro__ if k is not object)
    missing = []
    for member, value in public_members(cls):
        target = value.fget if isinstance(value, property) else value
        doc = target.__doc__ if inspect.isfunction(target) else None
        if doc and doc.strip():
            continue
        if re.search(rf"\b{re.escape(member)}\b", class_doc):
            continue
        missing.append(member)
    assert missing == [], f"{name}: undocumented {missing}"


def test_exceptions_share_one_root() -> None:
    errors = [getattr(ssestream, n) for n in PUBLIC if n.endswith("Error")]
    assert len(errors) == 8
    for error in errors:
        assert issubclass(error, ssestream.SSEStreamError)
        assert issubclass(error, Exception)
    root_doc = inspect.getdoc(importlib.import_module("ssestream._exceptions")) or ""
    for error in errors:
        assert error.__name__ in root_doc  # drawn in the hierarchy


@pytest.mark.parametrize(
    "module",
    [
        "ssestream._decoder",
        "ssestream._types",
        "ssestream._accumulator",
        "ssestream._events",
        "ssestream._parser",
        "ssestream._streams",
        "ssestream._exceptions",
        "ssestream._encoder",
        "ssestream._partial_json",
        "ssestream._relay",
        "ssestream._timings",
        "ssestream._think",
        "ssestream._openai",
    ],
)
def test_private_modules_declare_all(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__doc__, f"{module} has no module docstring"
    assert sorted(mod.__all__, key=isort_key) == mod.__all__
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"
    reexported = set(mod.__all__) & set(ssestream.__all__)
    for name in reexported:
        assert getattr(ssestream, name) is getattr(mod, name)


def test_the_core_imports_no_io_library() -> None:
    """The pure core (decoder, types, accumulator, parser) imports only the stdlib."""
    for module in (
        "_decoder",
        "_types",
        "_accumulator",
        "_parser",
        "_exceptions",
        "_encoder",
        "_partial_json",
    ):
        source = inspect.getsource(importlib.import_module(f"ssestream.{module}"))
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & {"httpx", "httpx2", "anyio", "trio", "asyncio"}, module
