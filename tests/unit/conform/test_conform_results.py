"""How a suite process's exit code and JUnit XML combine into one SuiteResult; progress lines; suite env."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.bundle.layout import RunBundle
from testbed.conform.runner import SuiteProgress, SuiteRun, _ProgressReader, not_run, pytest_command, suite_result
from testbed.conform.session import ConformPlan, suite_environment
from testbed.config import Config
from testbed.results.model import Outcome, SuiteResult

pytestmark = pytest.mark.unit

ONE_PASS = '<testsuites><testsuite name="pytest"><testcase classname="t" name="ok" time="0.1"/></testsuite></testsuites>'
ONE_FAIL = '<testsuites><testsuite name="pytest"><testcase classname="t" name="bad"><failure message="no">tb</failure></testcase></testsuite></testsuites>'
COLLECTION_ERROR = '<testsuites><testsuite name="pytest"><testcase classname="" name="t"><error message="collection failure">E</error></testcase></testsuite></testsuites>'
EMPTY = '<testsuites><testsuite name="pytest" tests="0"></testsuite></testsuites>'


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    output = tmp_path / "e2e.log"
    output.write_text("line 1\nERROR: usage: unrecognized arguments: -n\n")
    return tmp_path / "e2e.junit.xml", output


def _outcomes(result: SuiteResult) -> list[tuple[str, str]]:
    return [(c.outcome.value, c.message) for c in result.cases]


@pytest.mark.parametrize(("xml", "code", "expected"), [
    (ONE_PASS, 0, [("passed", "")]),
    (ONE_FAIL, 1, [("failed", "no")]),
    (COLLECTION_ERROR, 2, [("error", "collection failure")]),
    (EMPTY, 5, [("error", "pytest collected no tests")]),
    (EMPTY, 3, [("error", "pytest exited 3: internal error")]),
    (ONE_PASS, 1, [("passed", ""), ("error", "pytest exited 1 but its JUnit XML records no failure")]),
    (None, 4, [("error", "pytest exited 4 without writing JUnit XML")]),
])
def test_exit_code_adds_an_error_only_when_the_xml_cannot_explain_it(
    files: tuple[Path, Path], xml: str | None, code: int, expected: list[tuple[str, str]]
) -> None:
    junit, output = files
    if xml is not None:
        junit.write_text(xml)
    result = suite_result("e2e", junit, code, 1.0, output)
    assert _outcomes(result) == expected
    assert result.ok is (expected == [("passed", "")])
    for case in result.cases:
        if case.classname == "testbed.conform":
            assert "unrecognized arguments" in case.details, "the pytest output tail explains why"


UNREACHABLE = "testbed: cannot forward svc/rate:50051 in namespace testbed-dev-shop: error: unable to forward port"
SETUP_ERROR = ('<testsuites><testsuite name="pytest"><testcase classname="suites.e2e.test_a" name="test_x">'
               f'<error message="failed on setup with &quot;Failed: {UNREACHABLE}&quot;">E</error></testcase></testsuite></testsuites>')


@pytest.mark.parametrize(("xml", "tail"), [
    (EMPTY, f"no tests ran in 0.21s\n!!!!!!!!!! _pytest.outcomes.Exit: {UNREACHABLE} !!!!!!!!!!\n"),  # -n 0: pytest.exit
    (SETUP_ERROR,
     f"ERROR suites/e2e/test_a.py::test_x - Failed: testbed: cannot forward svc/rate:50051 i...\n"
     f"! xdist.dsession.Interrupted: {UNREACHABLE} !\n1 error in 1.6s\n{UNREACHABLE}\n"),  # -n 2: workers' errors
])
def test_a_suite_the_plugin_stopped_names_its_testbed_line(files: tuple[Path, Path], xml: str, tail: str) -> None:
    junit, output = files
    junit.write_text(xml)
    output.write_text(f"collecting ...\n{tail}")
    result = suite_result("e2e", junit, 3, 1.0, output)
    assert result.cases[-1].outcome is Outcome.ERROR and result.cases[-1].message == f"pytest exited 3: {UNREACHABLE}"


def test_a_killed_suite_is_an_error_even_with_passes(files: tuple[Path, Path]) -> None:
    junit, output = files
    junit.write_text(ONE_PASS)
    result = suite_result("e2e", junit, None, 9.0, output, killed="killed at the conform deadline after 9s")
    assert [c.outcome for c in result.cases] == [Outcome.PASSED, Outcome.ERROR]
    assert not result.ok and result.exit_code is None


def test_not_run_is_an_error() -> None:
    result = not_run("ui", "interrupted")
    assert result.counts.errors == 1 and result.cases[0].message == "not run: interrupted"


def test_progress_reader_counts_complete_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    progress = SuiteProgress("e2e")
    reader = _ProgressReader(path, progress)
    assert reader.poll() is False
    path.write_text('{"event": "collected", "total": 3}\n{"event": "test", "outcome": "passed"}\n{"event": "test", "outc')
    assert reader.poll() is True
    assert (progress.total, progress.done) == (3, 1)
    with path.open("a") as out:
        out.write('ome": "skipped"}\nnot json\n')
    reader.poll()
    assert progress.counts["skipped"] == 1 and progress.done == 2


def test_suites_get_run_id_dirs_target_and_absolute_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bundle = RunBundle(Path("reports"), "20261122-193000-a1b2c3")
    plan = ConformPlan(Config(), {"e2e": tmp_path / "e2e"}, Path("reports"), config_file=Path("testbed.yaml"), workers="2")
    env = suite_environment(plan, bundle, "e2e", {"PATH": "/bin", "TESTBED_RUN_ID": "stale"})
    assert env == {
        "PATH": "/bin",
        "TESTBED_RUN_ID": "20261122-193000-a1b2c3",
        "TESTBED_RUN_DIR": str(tmp_path / "reports" / "20261122-193000-a1b2c3"),
        "TESTBED_TARGET": "local",
        "TESTBED_SUITE": "e2e",
        "TESTBED_ARTIFACTS_DIR": str(tmp_path / "reports" / "20261122-193000-a1b2c3" / "artifacts" / "e2e"),
        "TESTBED_CONFIG": str(tmp_path / "testbed.yaml"),
    }
    command = pytest_command(SuiteRun("e2e", tmp_path / "e2e", bundle, env, plan.workers))
    assert command[1:4] == ["-m", "pytest", str(tmp_path / "e2e")]
    assert "no:cacheprovider" in command and command[-2:] == ["-n", "2"]
    assert f"--junitxml={bundle.suite_junit('e2e')}" in command
