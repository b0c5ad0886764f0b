"""The pytest plugin: recordings attached to tests, replayed by default, in the manner of
vcrpy / pytest-recording. Registered through the ``pytest11`` entry point ``ssestream``.

* ``@pytest.mark.sse_recording("name.jsonl", ..., **replay_options)`` names the
  recordings of a test. Relative paths are resolved against the test file's directory
  joined with the ``sse_recordings_dir`` ini option (default ``recordings``). With no
  name, the recording is ``<that folder>/<test module>/<test name>.jsonl``. Several
  names are served one after the other. ``replay_options`` go to
  :class:`ReplayTransport` (``split=``, ``speed=``, ``cut_after_events=``...).
* ``--sse-record-mode``: ``none`` (default: replay only, never touch the network, a
  missing recording fails the test), ``once`` (record when the recording is missing,
  else replay), ``all`` (always record, replacing the file).
* Fixtures: ``sse_transport`` (a :class:`ReplayTransport`, or when recording a
  :class:`RecordingTransport` around the real network: ``HTTPTransport`` /
  ``AsyncHTTPTransport`` of the request's own library), and ``sse_client`` /
  ``sse_async_client``, an ``httpx.Client`` / ``httpx.AsyncClient`` using it.

This module is imported by every pytest run of a project that installs ssestream, so
it imports nothing heavy until a fixture is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

    from ._record import RecordingTransport
    from ._replay import ReplayTransport

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "sse_async_client",
    "sse_client",
    "sse_record_mode",
    "sse_recording_paths",
    "sse_transport",
]

_MODES = ("none", "once", "all")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ssestream", "ssestream recordings")
    group.addoption(
        "--sse-record-mode",
        action="store",
        dest="sse_record_mode",
        default="none",
        choices=_MODES,
        help="none (default): replay recordings only; once: record the missing ones; "
        "all: record every one again (the network is used).",
    )
    parser.addini(
        "sse_recordings_dir",
        "folder of the sse_recording marker's relative paths, relative to each test "
        "file's directory (default: recordings)",
        default="recordings",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sse_recording(*paths, **replay_options): the recordings that the sse_transport "
        "fixture replays (paths relative to <test dir>/<sse_recordings_dir>); "
        "replay_options go to ssestream.testing.ReplayTransport.",
    )


@pytest.fixture
def sse_record_mode(request: pytest.FixtureRequest) -> str:
    """The record mode of this run: ``"none"``, ``"once"`` or ``"all"``."""
    return str(request.config.getoption("sse_record_mode"))


@pytest.fixture
def sse_recording_paths(request: pytest.FixtureRequest) -> list[Path]:
    """The recording files of this test: the ``sse_recording`` marker's paths, resolved,
    or the default ``<dir>/<module>/<test>.jsonl``."""
    base = Path(request.path).parent / str(request.config.getini("sse_recordings_dir"))
    marker = request.node.get_closest_marker("sse_recording")
    names = marker.args if marker is not None else ()
    if not names:
        test = re.sub(r"[^\w.-]", "_", request.node.name)
        return [base / Path(request.path).stem / f"{test}.jsonl"]
    return [base / Path(name) for name in names]


@pytest.fixture
def sse_transport(
    request: pytest.FixtureRequest, sse_record_mode: str, sse_recording_paths: list[Path]
) -> Iterator[ReplayTransport | RecordingTransport]:
    """The transport of this test: it replays the test's recordings, or records them
    (per ``--sse-record-mode``). Use it as ``transport=`` of any httpx/httpx2 client."""
    from ._record import NetworkTransport, RecordingTransport
    from ._recording import Recording, load_recording
    from ._replay import ReplayTransport

    paths = sse_recording_paths
    missing = [path for path in paths if not path.exists()]
    record = sse_record_mode == "all" or (sse_record_mode == "once" and bool(missing))
    transport: ReplayTransport | RecordingTransport
    if record:
        if len(paths) != 1 or paths[0].suffix != ".jsonl":
            pytest.fail(
                f"--sse-record-mode={sse_record_mode} records into one .jsonl file, but this "
                f"test names {', '.join(map(str, paths))}",
                pytrace=False,
            )
        transport = RecordingTransport(NetworkTransport(), paths[0])
    else:
        if missing:
            pytest.fail(
                f"recording {missing[0]} does not exist; record it with "
                "--sse-record-mode=once (this uses the network)",
                pytrace=False,
            )
        marker = request.node.get_closest_marker("sse_recording")
        options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
        recordings = [load_recording(path) for path in paths]
        recording = (
            recordings[0]
            if len(recordings) == 1
            else Recording(
                tuple(exchange for rec in recordings for exchange in rec),
                " + ".join(rec.source for rec in recordings),
            )
        )
        transport = ReplayTransport(recording, **options)
    yield transport
    transport.close()


@pytest.fixture
def sse_client(sse_transport: ReplayTransport | RecordingTransport) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` whose transport is ``sse_transport``; closed after the test."""
    import httpx

    with httpx.Client(transport=sse_transport) as client:
        yield client


@pytest.fixture
def sse_async_client(sse_transport: ReplayTransport | RecordingTransport) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose transport is ``sse_transport``.

    A plain (sync) fixture, so it needs no async plugin. Replaying holds no resource;
    when recording, use it as ``async with sse_async_client:`` so that its connections
    are closed in the test's event loop.
    """
    import httpx

    return httpx.AsyncClient(transport=sse_transport)
