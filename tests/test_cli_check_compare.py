"""``check`` with several models or base URLs: side by side, with a verdict on the
difference (issue 12: "if one model fails but another streams, the issue may be provider
routing rather than your code")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssestream.check import Problem, Report, compare
from ssestream.cli import main

DEMO = Path(__file__).parents[1] / "src/ssestream/_data/zai-glm-4.7-flash-tool-turn1.sse"


def report(model: str, *codes: str, base_url: str = "http://a/v1") -> Report:
    problems = tuple(Problem(code=code, message=code) for code in codes)
    return Report(base_url=base_url, model=model, problems=problems)


def test_one_model_failing_where_another_streams_is_specific_to_it() -> None:
    comparison = compare([report("good"), report("bad", "buffered")])
    assert comparison.labels == ("good", "bad")
    assert comparison.specific == ("bad",)
    assert comparison.verdict.startswith("good streams correctly but not bad (bad: buffered)")
    assert "not the client or the network path" in comparison.verdict
    assert comparison.exit_status == 1


def test_the_same_problem_everywhere_is_shared() -> None:
    comparison = compare([report("a", "buffered"), report("b", "buffered")])
    assert comparison.specific == ()
    assert comparison.verdict.startswith("all 2 show the same problems (buffered)")


def test_different_problems_and_all_healthy() -> None:
    mixed = compare([report("a", "buffered"), report("b", "missing_done")])
    assert mixed.verdict == "each fails in its own way: a: buffered; b: missing_done"
    assert mixed.specific == ("a", "b")
    healthy = compare([report("a"), report("b"), report("c")])
    assert healthy.verdict == "all 3 stream correctly"
    assert healthy.exit_status == 0


def test_routes_are_labelled_with_their_base_url() -> None:
    comparison = compare([report("m", base_url="http://a/v1"), report("m", base_url="http://b/v1")])
    assert comparison.labels == ("m @ http://a/v1", "m @ http://b/v1")
    with pytest.raises(ValueError, match="at least two"):
        compare([report("m")])


@pytest.fixture
def two_routes() -> Iterator[tuple[str, str]]:
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    from ssestream.testing import create_app, running_server

    healthy = create_app([DEMO], pace=4.0)
    buffered = create_app([DEMO], pace=4.0, fault="buffer")
    with running_server(healthy) as good, running_server(buffered) as bad:
        yield f"{good}/v1", f"{bad}/v1"


def test_check_compares_two_routes_side_by_side(
    two_routes: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = two_routes
    args = ["check", "--json", "--model", "glm-4.7-flash", "--base-url", good, "--base-url", bad]
    status = main(args)
    out = json.loads(capsys.readouterr().out)
    assert status == out["exit_status"] == 1
    assert [r["label"] for r in out["reports"]] == [
        f"glm-4.7-flash @ {good}",
        f"glm-4.7-flash @ {bad}",
    ]
    assert [r["verdict"] for r in out["reports"]] == ["streaming works", "problems: buffered"]
    assert out["specific"] == [f"glm-4.7-flash @ {bad}"]
    assert "is specific to that model or route" in out["verdict"]


def test_check_compare_with_rich_prints_the_table_and_the_difference(
    two_routes: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = two_routes
    status = main(["check", "--model", "glm-4.7-flash", "--base-url", good, "--base-url", bad])
    out = capsys.readouterr().out
    assert status == 1
    assert "side by side" in out
    assert "difference:" in out
    assert "chunks per read" in out


def test_unpaired_targets_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["check", "--json", "--model", "a", "--model", "b", "--model", "c"]
    assert main([*args, "--base-url", "http://x/v1", "--base-url", "http://y/v1"]) == 2
    assert "to compare, give several --model" in capsys.readouterr().err
