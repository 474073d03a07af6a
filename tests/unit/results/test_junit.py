"""pytest's JUnit XML -> the result model -> one merged junit.xml, with counts that agree everywhere."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from testbed.results.junit import parse_junit, write_junit
from testbed.results.model import Outcome, RunSummary, SuiteResult, TestCase, Verdict

pytestmark = pytest.mark.unit

PYTEST_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="2" tests="6" time="1.500">
<testcase classname="test_a" name="test_ok" time="0.010"/>
<testcase classname="test_a" name="test_bad" time="0.020"><failure message="assert 1 == 2">def test_bad():
&gt;       assert 1 == 2
E       assert 1 == 2</failure></testcase>
<testcase classname="test_a" name="test_skip" time="0.000"><skipped type="pytest.skip" message="no chromium">/x.py:3: no chromium</skipped></testcase>
<testcase classname="test_a" name="test_xfail" time="0.000"><skipped type="pytest.xfail" message="known bug" /></testcase>
<testcase classname="test_a" name="test_setup" time="0.000"><error message="failed on setup with &quot;RuntimeError: boom&quot;">RuntimeError: boom</error></testcase>
<testcase classname="test_a" name="test_prop" time="0.100"><properties><property name="screenshot" value="artifacts/ui/x.png"/></properties></testcase>
</testsuite></testsuites>
"""


def _write(tmp_path: Path, text: str, name: str = "j.xml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_parse_counts_each_outcome_and_keeps_messages(tmp_path: Path) -> None:
    cases, duration = parse_junit(_write(tmp_path, PYTEST_JUNIT))
    by_name = {case.name: case for case in cases}
    assert [c.outcome for c in cases].count(Outcome.PASSED) == 2
    assert by_name["test_bad"].outcome is Outcome.FAILED
    assert by_name["test_bad"].message == "assert 1 == 2"
    assert "E       assert 1 == 2" in by_name["test_bad"].details
    assert by_name["test_skip"].message == "no chromium"
    assert by_name["test_xfail"].outcome is Outcome.SKIPPED and by_name["test_xfail"].message == "xfail: known bug"
    assert by_name["test_setup"].outcome is Outcome.ERROR
    assert by_name["test_prop"].properties == (("screenshot", "artifacts/ui/x.png"),)
    assert by_name["test_bad"].duration_s == pytest.approx(0.02)
    assert duration == pytest.approx(1.5)


def test_failure_plus_teardown_error_is_one_failed_case_mentioning_both(tmp_path: Path) -> None:
    text = """<testsuite name="pytest"><testcase classname="t" name="both">
    <failure message="assert False">tb1</failure><error message="teardown boom">tb2</error></testcase></testsuite>"""
    (case,), _ = parse_junit(_write(tmp_path, text))
    assert case.outcome is Outcome.FAILED
    assert "teardown boom" in case.message
    assert "tb1" in case.details and "tb2" in case.details


def test_collection_error_counts_as_error(tmp_path: Path) -> None:
    text = """<testsuites><testsuite name="pytest" errors="1" tests="1"><testcase classname="" name="suites.e2e.test_x">
    <error message="collection failure">ImportError: no module named nope</error></testcase></testsuite></testsuites>"""
    (case,), _ = parse_junit(_write(tmp_path, text))
    assert case.outcome is Outcome.ERROR and case.message == "collection failure"


@pytest.mark.parametrize("text", [None, "<testsuites><testsuite", "not xml at all"])
def test_missing_or_malformed_file_is_one_error_case_not_an_exception(tmp_path: Path, text: str | None) -> None:
    path = tmp_path / "j.xml" if text is None else _write(tmp_path, text)
    (case,), duration = parse_junit(path)
    assert case.outcome is Outcome.ERROR and "JUnit XML" in case.message
    assert duration == 0.0


def _summary(suites: tuple[SuiteResult, ...]) -> RunSummary:
    start = datetime(2026, 11, 22, 19, 30, tzinfo=timezone.utc)
    return RunSummary("20261122-193000-a1b2c3", "local", start, start + timedelta(seconds=12.5), suites)


def _suite(name: str, path: Path) -> SuiteResult:
    cases, duration = parse_junit(path)
    return SuiteResult(name=name, cases=cases, duration_s=duration)


def test_merged_junit_has_one_testsuite_per_suite_and_consistent_totals(tmp_path: Path) -> None:
    e2e = _write(tmp_path, PYTEST_JUNIT, "e2e.xml")
    ui = _write(tmp_path, '<testsuites><testsuite name="pytest"><testcase classname="u" name="t" time="2"/></testsuite></testsuites>', "ui.xml")
    suites = (_suite("e2e", e2e), _suite("ui", ui))
    out = tmp_path / "junit.xml"
    write_junit(_summary(suites), out)
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("7", "1", "1", "2")
    assert [s.get("name") for s in root.iter("testsuite")] == ["e2e", "ui"]
    e2e_el = root.find("testsuite[@name='e2e']")
    assert e2e_el is not None and e2e_el.get("tests") == "6" and e2e_el.get("failures") == "1"
    # The merged file parses back to the same cases.
    reparsed, _ = parse_junit(out)
    assert [(c.name, c.outcome, c.message) for c in reparsed] == [(c.name, c.outcome, c.message) for s in suites for c in s.cases]
    assert not list(tmp_path.glob(".*.tmp"))


def test_verdict_passes_with_skips_and_fails_on_any_failure_error_or_nothing_run() -> None:
    ok = SuiteResult("e2e", (TestCase("a", Outcome.PASSED), TestCase("b", Outcome.SKIPPED, message="why")))
    failed = SuiteResult("ui", (TestCase("c", Outcome.FAILED),))
    errored = SuiteResult("ui", (TestCase("d", Outcome.ERROR),))
    assert _summary((ok,)).verdict is Verdict.PASS
    assert _summary((ok, failed)).verdict is Verdict.FAIL
    assert _summary((ok, errored)).verdict is Verdict.FAIL
    assert _summary(()).verdict is Verdict.FAIL


def test_summary_document_shape() -> None:
    suite = SuiteResult("e2e", (TestCase("a", Outcome.PASSED), TestCase("b", Outcome.SKIPPED), TestCase("c", Outcome.ERROR)), 3.21)
    doc = _summary((suite,)).to_dict()
    assert doc == {
        "run_id": "20261122-193000-a1b2c3",
        "target": "local",
        "started": "2026-11-22T19:30:00.000Z",
        "finished": "2026-11-22T19:30:12.500Z",
        "verdict": "fail",
        "suites": {"e2e": {"passed": 1, "failed": 0, "skipped": 1, "errors": 1, "duration_s": 3.21}},
    }
