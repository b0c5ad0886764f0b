"""The concurrency benchmark's own logic: what it serves, how it decides, how it profiles.

``benchmarks/bench_scale.py`` and ``benchmarks/profile_scale.py`` time nothing here (no
timed unit tests): these tests check the parts whose mistakes would make their figures
wrong without failing: the regrouped recording served for ``--events-per-read``, the
verdict drawn from the per-round ratios, and the layer a profiled frame is charged to.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ssestream import ChatStream, SSEDecoder
from ssestream.testing import create_app

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

bench_scale = pytest.importorskip("bench_scale")
profile_scale = pytest.importorskip("profile_scale")

RECORDING = Path(__file__).parent / "fixtures" / "openai" / "parse_pydantic_model__7e5ea4d12e7c.sse"


def events(data: bytes) -> int:
    return len(SSEDecoder(max_line_bytes=None, max_event_bytes=None).feed(data))


@pytest.mark.parametrize("per_read", [1, 2, 3, 7])
def test_grouped_recording_serves_the_same_body_in_reads_of_n_events(per_read: int) -> None:
    body = RECORDING.read_bytes()
    recording = bench_scale.grouped_recording(body, per_read)
    (exchange,) = recording
    reads = [read.data for read in exchange.reads]
    assert b"".join(reads) == body
    counts = [events(data) for data in reads]
    assert counts[:-1] == [per_read] * (len(counts) - 1)
    assert 0 < counts[-1] <= per_read
    assert sum(counts) == events(body)
    # the same completion, read for read
    assert ChatStream(reads).get_final_completion() == ChatStream([body]).get_final_completion()
    # and served by the benchmark's app as recorded, one HTTP chunk per read (a
    # recording without timing would be re-split into one read per event)
    testclient = pytest.importorskip("starlette.testclient")
    request = {"model": "gpt-4o", "messages": [], "stream": True}
    with (
        testclient.TestClient(create_app([recording], pace="none")) as client,
        client.stream("POST", "/v1/chat/completions", json=request) as response,
    ):
        served = list(response.iter_raw())
    assert served == reads


def round_(mine: float, rival: float) -> dict[tuple[str, str], dict[str, float]]:
    return {
        ("ssestream", "asyncio"): {"cpu_us_per_chunk": mine},
        (bench_scale.RIVAL, "asyncio"): {"cpu_us_per_chunk": rival},
    }


@pytest.mark.parametrize(
    ("pairs", "verdict"),
    [
        ([(48.0, 50.0), (49.0, 49.0), (47.0, 48.0)], "met"),
        ([(51.0, 50.0), (50.0, 49.0), (49.5, 48.0)], "missed"),
        ([(49.0, 50.0), (51.0, 49.0), (47.0, 48.0)], "undecided"),
    ],
)
def test_ratios_decide_only_when_every_round_agrees(
    pairs: list[tuple[float, float]], verdict: str
) -> None:
    (ratio,) = bench_scale._ratios([round_(mine, rival) for mine, rival in pairs])
    assert ratio["ratios"] == [mine / rival for mine, rival in pairs]
    assert ratio["verdict"] == verdict
    assert ratio["min"] <= ratio["median"] <= ratio["max"]


def test_a_failed_run_is_left_out_of_the_ratios_and_counted_in_the_row() -> None:
    rounds = [round_(48.0, 50.0), round_(49.0, 50.0)]
    rounds[1][("ssestream", "asyncio")] = {"library": "ssestream", "error": "boom"}
    (ratio,) = bench_scale._ratios(rounds)
    assert ratio["ratios"] == [48.0 / 50.0]
    ok = {"correct": 10, "chunks": 530, "cpu_share": 0.9, "gc_us_per_chunk": 1.0}
    figures = dict.fromkeys(bench_scale._FIGURES, 1.0)
    row = bench_scale._row(
        [{**figures, **ok, "cpu_us_per_chunk": 48.0}, {"library": "ssestream", "error": "x"}]
    )
    assert row["runs"] == [48.0]
    assert row["failed_runs"] == 1


@pytest.mark.parametrize(
    ("filename", "layer"),
    [
        ("ssestream/_streams.py", "ssestream"),
        ("/venv/lib/python3.11/site-packages/httpx_sse/_decoders.py", "httpx-sse"),
        ("httpx/_models.py", "httpx"),
        ("httpx2/_models.py", "httpx"),
        ("httpcore/_async/http11.py", "httpcore"),
        ("h11/_readers.py", "h11"),
        ("anyio/_backends/_asyncio.py", "anyio"),
        ("selectors.py", "sockets, selector"),
        ("asyncio/selector_events.py", "sockets, selector"),
        ("trio/_core/_io_epoll.py", "sockets, selector"),
        ("asyncio/base_events.py", "event loop"),
        ("trio/_core/_run.py", "event loop"),
        ("json/decoder.py", "json"),
        ("bench_scale.py", "user loop"),
        ("contextlib.py", "other"),
    ],
)
def test_a_frame_is_charged_to_its_files_layer(filename: str, layer: str) -> None:
    assert profile_scale.layer(filename) == layer


def test_helpers_are_charged_to_the_layer_that_called_them() -> None:
    raw = "\n".join(
        [
            "run (bench_scale.py:1);read (anyio/_core/_tasks.py:2);"
            "__exit__ (contextlib.py:3);helper (contextlib.py:4) 5",
            "run (bench_scale.py:1);feed (ssestream/_decoder.py:9) 3",
            "run (bench_scale.py:1) 2",
        ]
    )
    assert profile_scale.pyspy_layers(raw) == {"anyio": 5, "ssestream": 3, "user loop": 2}
    assert profile_scale.pyspy_layers(raw, helpers_to_caller=False) == {
        "other": 5,
        "ssestream": 3,
        "user loop": 2,
    }
