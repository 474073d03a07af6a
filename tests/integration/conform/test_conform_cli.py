"""`testbed conform` against the real local testbed, in-process and as a subprocess.

A throwaway suite in tmp_path (one pass, one fail, one skip, an artifact) proves the
counting, the merged junit.xml, summary.json, report.html and reports/latest. The
suites directory comes from the hidden --suites-dir option; everything else is real.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from testbed.bundle.layout import RUN_ID_PATTERN
from testbed.bundle.logs import line_time
from testbed.cli.main import main

pytestmark = pytest.mark.integration

DEMO_SUITE = '''
import os
import pytest

def test_passes_and_sees_the_run_environment():
    run_dir = os.environ["TESTBED_RUN_DIR"]
    assert os.path.basename(run_dir) == os.environ["TESTBED_RUN_ID"]
    assert os.environ["TESTBED_TARGET"] == "local"
    assert os.environ["TESTBED_SUITE"] == "e2e"
    assert os.environ["TESTBED_CONFIG"].endswith("testbed.yaml")
    with open(os.path.join(os.environ["TESTBED_ARTIFACTS_DIR"], "evidence.txt"), "w") as out:
        out.write("written by the suite")

def test_fails():
    assert 1 == 2, "DEMO-FAILURE one is not two"

@pytest.mark.skip(reason="DEMO-SKIP needs nothing, skipped on purpose")
def test_skipped():
    pass
'''

PASSING_SUITE = '''
def test_one():
    assert True

def test_two():
    assert True
'''

SLOW_SUITE = '''
import os, subprocess, sys, time

def test_waits_to_be_stopped():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(os.path.join(os.environ["TESTBED_RUN_DIR"], "..", "child.pid"), "w") as out:
        out.write(str(child.pid))
    time.sleep(120)
'''

BROKEN_SUITE = "import module_that_does_not_exist\n\ndef test_never():\n    pass\n"


def cli(workdir: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "testbed.cli.main", *args], cwd=workdir, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, "COLUMNS": "200"},
    )


def _write_suite(suites: Path, name: str, source: str) -> None:
    (suites / name).mkdir(parents=True)
    (suites / name / f"test_{name}_demo.py").write_text(textwrap.dedent(source))


@pytest.fixture(scope="module")
def testbed_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real local testbed (LocalTarget via `testbed up`) in its own state dir, for the whole module."""
    workdir = tmp_path_factory.mktemp("conform")
    (workdir / "testbed.yaml").write_text(f"state_dir: {workdir / 'state'}\nreports_dir: {workdir / 'reports'}\n")
    suites = workdir / "suites"
    _write_suite(suites, "e2e", DEMO_SUITE)
    _write_suite(suites, "ui", PASSING_SUITE)
    _write_suite(suites, "load", BROKEN_SUITE)
    _write_suite(suites, "chaos", SLOW_SUITE)
    up = cli(workdir, "up")
    assert up.returncode == 0, up.stderr
    yield workdir
    down = cli(workdir, "down")
    assert down.returncode == 0, down.stderr


def _conform_args(workdir: Path, *extra: str) -> list[str]:
    return ["conform", "--config", str(workdir / "testbed.yaml"), "--suites-dir", str(workdir / "suites"), *extra]


def _latest(workdir: Path) -> Path:
    link = workdir / "reports" / "latest"
    assert link.is_symlink() and RUN_ID_PATTERN.match(os.readlink(link))
    return link.resolve()


def test_nothing_up_exits_3_quickly_in_process_and_as_subprocess(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "testbed.yaml").write_text(f"state_dir: {tmp_path / 'state'}\nreports_dir: {tmp_path / 'reports'}\n")
    _write_suite(tmp_path / "suites", "e2e", PASSING_SUITE)
    args = _conform_args(tmp_path, "--suite", "e2e")
    started = time.monotonic()
    assert main(args) == 3
    assert time.monotonic() - started < 5.0
    assert "not up" in capsys.readouterr().err
    started = time.monotonic()
    done = cli(tmp_path, *args)
    assert time.monotonic() - started < 5.0, "a user's `testbed conform` with nothing up must exit within 5 s"
    assert done.returncode == 3, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("testbed: ")
    assert not (tmp_path / "reports").exists(), "nothing ran, so no bundle"


def test_unknown_suite_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = cli(tmp_path, "conform", "--suite", "e2e,nosuch")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "testbed: --suite: unknown suite 'nosuch'; expected some of e2e, ui, policy, cluster, load, chaos"
    ]
    missing_dir = cli(tmp_path, "conform", "--suite", "chaos", "--suites-dir", str(tmp_path))
    assert missing_dir.returncode == 2 and "suite 'chaos' not found" in missing_dir.stderr
    assert len(missing_dir.stderr.strip().splitlines()) == 1


def test_in_process_run_counts_pass_fail_skip_and_writes_the_bundle(testbed_up: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workdir = testbed_up
    assert main(_conform_args(workdir, "--suite", "e2e")) == 1
    out = capsys.readouterr().out
    assert "1 passed, 1 failed, 0 errors, 1 skipped - verdict fail" in out

    run = _latest(workdir)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["run_id"] == run.name and summary["target"] == "local" and summary["verdict"] == "fail"
    assert summary["suites"]["e2e"]["passed"] == 1
    assert (summary["suites"]["e2e"]["failed"], summary["suites"]["e2e"]["skipped"], summary["suites"]["e2e"]["errors"]) == (1, 1, 0)
    started = datetime.fromisoformat(summary["started"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(summary["finished"].replace("Z", "+00:00"))
    assert summary["started"].endswith("Z") and started < finished

    root = ET.parse(run / "junit.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")

    page = (run / "report.html").read_text()
    assert "DEMO-FAILURE one is not two" in page and "DEMO-SKIP needs nothing" in page and "Skipped (1)" in page
    assert 'href="artifacts/e2e/evidence.txt"' in page and 'href="pytest/e2e.log"' in page
    assert (run / "artifacts" / "e2e" / "evidence.txt").read_text() == "written by the suite"

    logs = sorted(p.name for p in (run / "logs").iterdir())
    assert "user.log" in logs and "web.log" in logs and len(logs) == 10
    for log in (run / "logs").iterdir():
        assert f'href="logs/{log.name}"' in page
        for line in log.read_text().splitlines():
            moment = line_time(line)
            assert moment is None or started <= moment <= finished


def test_passing_suites_exit_0_and_move_latest(testbed_up: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workdir = testbed_up
    assert main(_conform_args(workdir, "--suite", "ui")) == 0
    first = _latest(workdir)
    assert json.loads((first / "summary.json").read_text())["verdict"] == "pass"
    assert main(_conform_args(workdir, "--suite", "ui")) == 0
    second = _latest(workdir)
    assert second != first and second.parent == first.parent
    capsys.readouterr()


def test_subprocess_run_with_xdist_merges_suites_and_counts_a_broken_suite_as_errors(testbed_up: Path) -> None:
    workdir = testbed_up
    done = cli(workdir, *_conform_args(workdir, "--suite", "e2e,ui,load", "-n", "2"))
    assert done.returncode == 1, done.stderr
    run = _latest(workdir)
    summary = json.loads((run / "summary.json").read_text())
    assert list(summary["suites"]) == ["e2e", "ui", "load"]
    assert summary["suites"]["ui"]["passed"] == 2 and summary["suites"]["ui"]["failed"] == 0
    assert summary["suites"]["load"]["errors"] >= 1 and summary["suites"]["load"]["passed"] == 0
    suites = [s.get("name") for s in ET.parse(run / "junit.xml").getroot().iter("testsuite")]
    assert suites == ["e2e", "ui", "load"]
    page = (run / "report.html").read_text()
    assert "module_that_does_not_exist" in page
    assert str(run.name) in done.stdout and "verdict fail" in done.stdout


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_stops_the_running_suite_writes_the_bundle_and_exits_130(testbed_up: Path) -> None:
    workdir = testbed_up
    pid_file = workdir / "reports" / "child.pid"
    pid_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "testbed.cli.main", *_conform_args(workdir, "--suite", "chaos,ui")],
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pid_file.exists(), "the slow suite started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    run = _latest(workdir)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["verdict"] == "fail"
    assert summary["suites"]["chaos"]["errors"] == 1 and summary["suites"]["ui"]["errors"] == 1
    assert "not run: interrupted" in (run / "report.html").read_text()
    child = int(pid_file.read_text())
    until = time.monotonic() + 10
    while _alive(child) and time.monotonic() < until:
        time.sleep(0.05)
    assert not _alive(child), "no suite process is left behind"
