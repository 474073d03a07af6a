"""report.html: one self-contained page (inline CSS, no external assets) for a run.

Shows the verdict, a table per suite, every failure and error with its message, every
skipped test with its reason, and relative links to the logs, pytest output and
artifacts in the bundle. Later reports (load, chaos) add `ReportSection`s, e.g. inline SVG plots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from testbed.bundle.layout import RunBundle
from testbed.bundle.logs import LogSlice
from testbed.results.model import RunSummary, SuiteCounts, iso_utc


@dataclass(frozen=True)
class ReportSection:
    """Extra content for the report; `html` must be self-contained and already safe."""

    title: str
    html: Markup


@dataclass(frozen=True)
class _SuiteRow:
    name: str
    ok: bool
    counts: SuiteCounts
    output: str | None
    artifacts: tuple[str, ...]


@dataclass(frozen=True)
class _LogRow:
    service: str
    kept: int
    source: str
    problem: str
    link: str


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("testbed.bundle", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _files_under(bundle: RunBundle, directory: Path) -> tuple[str, ...]:
    if not directory.is_dir():
        return ()
    return tuple(bundle.relative(p) for p in sorted(directory.rglob("*")) if p.is_file())


def render_report(
    summary: RunSummary, bundle: RunBundle, logs: Sequence[LogSlice] = (), sections: Sequence[ReportSection] = ()
) -> str:
    suites = [
        _SuiteRow(
            name=suite.name, ok=suite.ok, counts=suite.counts,
            output=bundle.relative(bundle.suite_output(suite.name)) if bundle.suite_output(suite.name).is_file() else None,
            artifacts=_files_under(bundle, bundle.artifacts(suite.name)),
        )
        for suite in summary.suites
    ]
    log_rows = [
        _LogRow(log.service, log.kept, log.source, log.problem, bundle.relative(log.path) if not log.problem else "")
        for log in logs
    ]
    return _environment().get_template("report.html").render(
        summary=summary,
        verdict=summary.verdict.value,
        started=iso_utc(summary.started),
        finished=iso_utc(summary.finished),
        totals=summary.totals,
        suites=suites,
        problems=[(suite.name, case) for suite in summary.suites for case in suite.problems],
        skipped=[(suite.name, case) for suite in summary.suites for case in suite.skipped],
        logs=log_rows,
        sections=list(sections),
    )
