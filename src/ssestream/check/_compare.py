"""Comparing checks of several models or routes (pure): is the problem theirs, or yours?

The debugging rule this implements: "If one model fails but another streams, the issue
may be provider routing rather than your code." So the verdict on a difference rests on
which targets stream correctly and which problems they share:

* all stream correctly: nothing to compare;
* some do and some do not: the problems are specific to the failing targets (their
  model, backend or route), since the client, the network path and the check are the
  same for all;
* none does, with the same problem codes: the cause is what they share (the client's
  network, a proxy in front of all of them, the server software), not one model;
* none does, with different problems: each target has its own; read each report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._records import Report

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """The verdict on several checks side by side.

    Attributes:
        labels: one per report, in order (``model`` or ``model @ base_url``).
        reports: the reports compared.
        verdict: one sentence on the difference (see the module docstring).
        specific: the labels of the targets whose problems are their own (empty when
            all agree).
    """

    labels: tuple[str, ...]
    reports: tuple[Report, ...]
    verdict: str
    specific: tuple[str, ...] = ()

    @property
    def exit_status(self) -> int:
        """The worst of the reports' exit statuses (0, 1 or 2)."""
        return max((report.exit_status for report in self.reports), default=0)

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` form: ``{"verdict", "specific", "exit_status", "reports"}``."""
        return {
            "verdict": self.verdict,
            "specific": list(self.specific),
            "exit_status": self.exit_status,
            "reports": [
                {"label": label, **report.to_dict()}
                for label, report in zip(self.labels, self.reports, strict=True)
            ],
        }


def _codes(report: Report) -> tuple[str, ...]:
    return tuple(sorted(problem.code for problem in report.problems))


def compare(reports: Sequence[Report]) -> Comparison:
    """Compare the reports of several models or base URLs checked the same way.

    Each label is the report's model, with its base URL when the base URLs differ.

    Raises:
        ValueError: fewer than two reports.
    """
    if len(reports) < 2:
        raise ValueError("compare() needs at least two reports")
    urls = {report.base_url for report in reports}
    labels = tuple(
        report.model if len(urls) == 1 else f"{report.model} @ {report.base_url}"
        for report in reports
    )
    working = [label for label, report in zip(labels, reports, strict=True) if report.ok]
    failing = [label for label, report in zip(labels, reports, strict=True) if not report.ok]
    if not failing:
        verdict = f"all {len(reports)} stream correctly"
        specific: tuple[str, ...] = ()
    elif working:
        problems = "; ".join(
            f"{label}: {', '.join(_codes(report))}"
            for label, report in zip(labels, reports, strict=True)
            if not report.ok
        )
        verdict = (
            f"{', '.join(working)} stream{'s' if len(working) == 1 else ''} correctly but "
            f"not {', '.join(failing)} ({problems}): the problem is specific to "
            f"{'that model or route' if len(failing) == 1 else 'those models or routes'} "
            "(provider routing, the model's backend), not the client or the network path, "
            "which are the same for all"
        )
        specific = tuple(failing)
    elif len({_codes(report) for report in reports}) == 1:
        verdict = (
            f"all {len(reports)} show the same problems ({', '.join(_codes(reports[0]))}): "
            "the cause is what they share (the client's network, a proxy or gateway in "
            "front of them, the server software), not one model"
        )
        specific = ()
    else:
        verdict = "each fails in its own way: " + "; ".join(
            f"{label}: {', '.join(_codes(report))}"
            for label, report in zip(labels, reports, strict=True)
        )
        specific = tuple(failing)
    return Comparison(labels=labels, reports=tuple(reports), verdict=verdict, specific=specific)
