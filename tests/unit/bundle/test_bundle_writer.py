"""A whole bundle from a RunSummary: files, layout, report content, and the atomic `latest` link."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from markupsafe import Markup

from testbed import errors
from testbed.bundle import RunBundle, new_run_id, write_bundle
from testbed.bundle.html import ReportSection, render_report
from testbed.bundle.latest import point_latest
from testbed.bundle.layout import RUN_ID_PATTERN
from testbed.results.model import Outcome, RunSummary, SuiteResult, TestCase

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 22, 19, 30, tzinfo=timezone.utc)


def _summary(run_id: str) -> RunSummary:
    e2e = SuiteResult("e2e", (
        TestCase("test_ok", Outcome.PASSED, "suites.e2e.test_a"),
        TestCase("test_bad", Outcome.FAILED, "suites.e2e.test_a", message="assert <b>1</b> == 2", details="E  assert 1 == 2"),
        TestCase("test_skip", Outcome.SKIPPED, "suites.e2e.test_a", message="needs chromium"),
    ), 1.5)
    ui = SuiteResult("ui", (TestCase("test_login", Outcome.ERROR, "suites.ui.test_b", message="setup failed",
                                     properties=(("screenshot", "artifacts/ui/login.png"),)),), 2.0)
    return RunSummary(run_id, "local", START, START + timedelta(seconds=4), (e2e, ui))


def test_run_id_is_utc_timestamp_and_short_random() -> None:
    assert new_run_id(datetime(2026, 11, 22, 20, 30, tzinfo=timezone(timedelta(hours=1))), "a1b2c3") == "20261122-193000-a1b2c3"
    first, second = new_run_id(), new_run_id()
    assert RUN_ID_PATTERN.match(first) and first != second


def test_write_bundle_lays_out_every_file(tmp_path: Path) -> None:
    log = tmp_path / "user.log"
    log.write_text('{"ts": "2026-11-22T19:30:01Z", "msg": "in"}\n{"ts": "2026-11-22T18:00:00Z", "msg": "out"}\n')
    bundle = RunBundle(tmp_path / "reports", "20261122-193000-a1b2c3").create(("e2e", "ui"))
    (bundle.artifacts("ui") / "login.png").write_bytes(b"\x89PNG")
    bundle.suite_output("e2e").write_text("pytest said things")
    write_bundle(bundle, _summary(bundle.run_id), {"user": str(log)})

    root = bundle.root
    assert {p.relative_to(root).as_posix() for p in root.rglob("*")} >= {
        "junit.xml", "summary.json", "report.html", "logs/user.log", "pytest/e2e.log", "artifacts/e2e", "artifacts/ui/login.png",
    }
    summary = json.loads(bundle.summary.read_text())
    assert summary["verdict"] == "fail" and summary["suites"]["e2e"] == {
        "passed": 1, "failed": 1, "skipped": 1, "errors": 0, "duration_s": 1.5,
    }
    assert (root / "logs" / "user.log").read_text().count("\n") == 1
    latest = tmp_path / "reports" / "latest"
    assert latest.is_symlink() and os.readlink(latest) == bundle.run_id
    assert (latest / "summary.json").is_file()
    assert not list((tmp_path / "reports").glob(".*"))


def test_report_is_self_contained_and_shows_failures_skips_logs_and_artifacts(tmp_path: Path) -> None:
    bundle = RunBundle(tmp_path, "20261122-193000-a1b2c3").create(("e2e", "ui"))
    (bundle.artifacts("ui") / "login.png").write_bytes(b"\x89PNG")
    bundle.suite_output("e2e").write_text("out")
    page = render_report(_summary(bundle.run_id), bundle, sections=[ReportSection("Latency", Markup("<svg id='plot'></svg>"))])
    assert "<style>" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "no external assets"
    assert not re.search(r"<(script|link)\b", page)
    assert "assert &lt;b&gt;1&lt;/b&gt; == 2" in page, "messages are escaped"
    assert "suites.e2e.test_a::test_bad" in page and "E  assert 1 == 2" in page
    assert "suites.ui.test_b::test_login" in page and "setup failed" in page
    assert "Skipped (1)" in page and "needs chromium" in page
    assert 'href="pytest/e2e.log"' in page and 'href="artifacts/ui/login.png"' in page
    assert 'href="summary.json"' in page and 'href="junit.xml"' in page
    assert "<svg id='plot'></svg>" in page
    assert ">fail<" in page


def test_latest_is_replaced_atomically_and_refuses_a_real_directory(tmp_path: Path) -> None:
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-2").mkdir()
    point_latest(tmp_path, "run-1")
    point_latest(tmp_path, "run-2")
    assert os.readlink(tmp_path / "latest") == "run-2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run-1", "run-2"]
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "latest").mkdir()
    with pytest.raises(errors.TestbedError, match="not a symlink"):
        point_latest(other, "run-1")
