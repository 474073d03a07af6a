"""Write a finished run into its bundle: junit.xml, summary.json, logs, report.html, then reports/latest.

`latest` is moved last, so it only ever points at a complete bundle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from testbed.bundle.html import ReportSection, render_report
from testbed.bundle.latest import point_latest
from testbed.bundle.layout import RunBundle
from testbed.bundle.logs import LogSlice, collect_logs
from testbed.results.junit import write_junit
from testbed.results.model import RunSummary


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_bundle(
    bundle: RunBundle,
    summary: RunSummary,
    service_logs: Mapping[str, str] | None = None,
    sections: Sequence[ReportSection] = (),
) -> tuple[LogSlice, ...]:
    """Write every file of the bundle for `summary`; `service_logs` is service -> log file (Endpoints.logs)."""
    bundle.create(tuple(suite.name for suite in summary.suites))
    write_junit(summary, bundle.junit)
    _write_atomic(bundle.summary, json.dumps(summary.to_dict(), indent=2) + "\n")
    logs = collect_logs(service_logs or {}, bundle.logs_dir, summary.started, summary.finished)
    _write_atomic(bundle.report, render_report(summary, bundle, logs, sections))
    point_latest(bundle.reports_dir, bundle.run_id)
    return logs
