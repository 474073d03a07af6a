"""The result model: one TestCase per test, one SuiteResult per suite, one RunSummary per run.

Frozen dataclasses so results can be passed around and compared without surprises.
Counting and the run's verdict are computed here, from the cases, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # includes xfail: the test ran as expected-to-fail or was skipped with a reason
    ERROR = "error"  # collection/setup/teardown errors, and suites that could not run at all


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"


@dataclass(frozen=True)
class TestCase:
    """One test's result. `message` is the one-line reason; `details` the full text (traceback)."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    outcome: Outcome
    classname: str = ""
    message: str = ""
    details: str = ""
    duration_s: float = 0.0
    properties: tuple[tuple[str, str], ...] = ()  # record_property() pairs, e.g. ("screenshot", "artifacts/ui/x.png")

    @property
    def full_name(self) -> str:
        return f"{self.classname}::{self.name}" if self.classname else self.name

    @property
    def problem(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.ERROR)


@dataclass(frozen=True)
class SuiteCounts:
    """The per-suite numbers summary.json carries."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    duration_s: float = 0.0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped + self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed, "failed": self.failed, "skipped": self.skipped,
            "errors": self.errors, "duration_s": round(self.duration_s, 3),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteCounts:
        return cls(
            passed=int(data["passed"]), failed=int(data["failed"]), skipped=int(data["skipped"]),
            errors=int(data["errors"]), duration_s=float(data["duration_s"]),
        )


@dataclass(frozen=True)
class SuiteResult:
    """One suite's run. `exit_code` is pytest's (None if it never started or was killed)."""

    name: str
    cases: tuple[TestCase, ...] = ()
    duration_s: float = 0.0
    exit_code: int | None = None

    def count(self, outcome: Outcome) -> int:
        return sum(1 for case in self.cases if case.outcome is outcome)

    @property
    def counts(self) -> SuiteCounts:
        return SuiteCounts(
            passed=self.count(Outcome.PASSED), failed=self.count(Outcome.FAILED),
            skipped=self.count(Outcome.SKIPPED), errors=self.count(Outcome.ERROR), duration_s=self.duration_s,
        )

    @property
    def ok(self) -> bool:
        """Passed: nothing failed or errored (skips are allowed, and counted)."""
        return not any(case.problem for case in self.cases)

    @property
    def problems(self) -> tuple[TestCase, ...]:
        return tuple(case for case in self.cases if case.problem)

    @property
    def skipped(self) -> tuple[TestCase, ...]:
        return tuple(case for case in self.cases if case.outcome is Outcome.SKIPPED)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the millisecond: 2026-11-22T19:30:00.123Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RunSummary:
    """A whole conform run: what ran where and when, and the verdict derived from it."""

    run_id: str
    target: str
    started: datetime
    finished: datetime
    suites: tuple[SuiteResult, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> Verdict:
        ok = bool(self.suites) and all(suite.ok for suite in self.suites)
        return Verdict.PASS if ok else Verdict.FAIL

    @property
    def totals(self) -> SuiteCounts:
        counts = [suite.counts for suite in self.suites]
        return SuiteCounts(
            passed=sum(c.passed for c in counts), failed=sum(c.failed for c in counts),
            skipped=sum(c.skipped for c in counts), errors=sum(c.errors for c in counts),
            duration_s=(self.finished - self.started).total_seconds(),
        )

    def to_dict(self) -> dict[str, Any]:
        """The summary.json document."""
        return {
            "run_id": self.run_id,
            "target": self.target,
            "started": iso_utc(self.started),
            "finished": iso_utc(self.finished),
            "verdict": self.verdict.value,
            "suites": {suite.name: suite.counts.to_dict() for suite in self.suites},
        }
