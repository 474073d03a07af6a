"""`testbed conform`: run the conformance suites against the current testbed and write a run bundle.

A thin edge: parse flags, validate everything before running, show live progress and a
summary table. testbed.conform runs the suites; testbed.bundle writes reports/<run-id>/.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from testbed.cli.kube_options import cluster_options, kube_flags
from testbed.cli.options import config_from, target_options
from testbed.errors import ExitCode

if TYPE_CHECKING:
    from testbed.conform.runner import SuiteProgress
    from testbed.results.model import RunSummary, SuiteResult

CONFORM_EXIT_CODES = """\b
Exit codes:
  0    every selected suite passed (skipped tests allowed, and counted)
  1    a test failed or errored, or a suite could not run (collection
       error, no tests, deadline) - see reports/latest/report.html
  2    usage or configuration error (unknown suite, bad flag, bad config)
  3    the testbed is not up, not healthy or not reachable (checked
       before any test runs)
  130  interrupted (the bundle is still written)
"""


class _LiveProgress:
    """A spinner per suite with live pass/fail/skip counts, on stderr."""

    def __init__(self, console: Console, suites: list[str]) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description:<10}"), TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(), console=console,
        )
        self.tasks: dict[str, TaskID] = {
            name: self.progress.add_task(name, status="queued", start=False, total=None) for name in suites
        }

    def started(self, suite: str) -> None:
        self.progress.start_task(self.tasks[suite])
        self.progress.update(self.tasks[suite], status="running")

    def update(self, live: SuiteProgress) -> None:
        of = f" of {live.total}" if live.total else ""
        counts = ", ".join(f"{n} {k}" for k, n in live.counts.items() if n)
        self.progress.update(self.tasks[live.suite], status=f"{live.done}{of} done{': ' + counts if counts else ''}")

    def finished(self, result: SuiteResult) -> None:
        c = result.counts
        mark = "[green]pass[/]" if result.ok else "[red]fail[/]"
        status = f"{mark}: {c.passed} passed, {c.failed} failed, {c.errors} errors, {c.skipped} skipped"
        self.progress.update(self.tasks[result.name], status=status, total=1, completed=1)
        self.progress.stop_task(self.tasks[result.name])


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the running suite like Ctrl-C does: suites run in their own session, so they would outlive us."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _summary_table(summary: RunSummary) -> Table:
    table = Table(title=f"conform {summary.run_id} on {summary.target}: {summary.verdict.value}")
    for column in ("suite", "result", "passed", "failed", "errors", "skipped", "duration (s)"):
        table.add_column(column, justify="left" if column in ("suite", "result") else "right")
    for suite in summary.suites:
        c = suite.counts
        result = "[green]pass[/]" if suite.ok else "[red]fail[/]"
        table.add_row(suite.name, result, str(c.passed), str(c.failed), str(c.errors), str(c.skipped), f"{c.duration_s:.1f}")
    return table


@click.command(epilog=CONFORM_EXIT_CODES)
@target_options
@cluster_options
@click.option("--suite", "suite_flag", default=None, metavar="e2e,ui,...", help="Comma-separated suites; default from config.")
@click.option("-n", "workers", default=None, metavar="auto|N", help="pytest-xdist workers per suite.")
@click.option("--reports-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where run bundles go (default: reports).")
@click.option("--suites-dir", type=click.Path(file_okay=False, path_type=Path), default=None, hidden=True)
def conform(
    target: str | None, config_path: Path | None, suite_flag: str | None, workers: str | None,
    reports_dir: Path | None, suites_dir: Path | None, **kube: Any,
) -> ExitCode:
    """Run the conformance suites against the current testbed and write reports/<run-id>/.

    Checks that the target is up and healthy before running anything. Each suite runs in
    its own pytest process; the bundle holds junit.xml, summary.json, report.html, the
    service logs of the run window and per-suite pytest output and artifacts.
    reports/latest points at the newest run.
    """
    from testbed.conform.session import ConformObserver, ConformPlan, reach_target, run_conform
    from testbed.conform.suites import default_suites_dir, parse_suite_flag, parse_workers, resolve_suites
    from testbed.results.model import Verdict

    selected = parse_suite_flag(suite_flag)
    pytest_workers = parse_workers(workers)
    config = config_from(config_path, target=target, suites=selected, reports_dir=reports_dir, **kube_flags(kube))
    suites = resolve_suites(config.suites, suites_dir or default_suites_dir())
    plan = ConformPlan(config, suites, config.reports_dir, config_path, pytest_workers)

    reached = reach_target(config)  # exit 3 here, before anything runs or any progress is drawn
    err = Console(stderr=True)
    live = _LiveProgress(err, list(suites))
    observer = ConformObserver(suite_started=live.started, suite_progress=live.update, suite_finished=live.finished)
    with _sigterm_as_interrupt(), live.progress:
        summary, bundle = run_conform(plan, reached, observer)
    out = Console()
    out.print(_summary_table(summary))
    totals = summary.totals
    out.print(
        f"{totals.passed} passed, {totals.failed} failed, {totals.errors} errors, {totals.skipped} skipped"
        f" - verdict {summary.verdict.value}"
    )
    out.print(f"report: {bundle.report}", soft_wrap=True, highlight=False)
    return ExitCode.OK if summary.verdict is Verdict.PASS else ExitCode.FAILED
