"""A suite process that outlives the conform deadline is stopped, with its whole process group, and counts as an error."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from testbed.bundle.layout import RunBundle
from testbed.conform.runner import SuiteRun, run_suite
from testbed.results.model import Outcome

pytestmark = pytest.mark.integration

SLOW_SUITE = '''
import os, subprocess, sys, time

def test_sleeps_past_the_deadline(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(os.environ["PID_FILE"], "w") as out:
        out.write(str(child.pid))
    time.sleep(60)
'''


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_deadline_stops_the_suite_and_its_children(tmp_path: Path) -> None:
    suite = tmp_path / "suites" / "policy"
    suite.mkdir(parents=True)
    (suite / "test_slow_demo.py").write_text(SLOW_SUITE)
    pid_file = tmp_path / "child.pid"
    bundle = RunBundle(tmp_path / "reports", "20261122-193000-a1b2c3")
    run = SuiteRun("policy", suite, bundle, {**os.environ, "PID_FILE": str(pid_file)})
    started = time.monotonic()
    result = run_suite(run, deadline=time.monotonic() + 4.0)
    assert time.monotonic() - started < 15.0
    assert not result.ok and result.exit_code is None
    assert [c.outcome for c in result.cases] == [Outcome.ERROR]
    assert result.cases[0].message.startswith("killed at the conform deadline")
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the suite's own children are stopped too"


COUNTED_SUITE = '''
import pytest

def test_a():
    pass

def test_b():
    assert False

@pytest.mark.skip(reason="counted")
def test_c():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("setup")

def test_d(broken):
    pass
'''


@pytest.mark.parametrize("workers", [None, "2"])
def test_live_progress_counts_every_test_once_with_and_without_xdist(tmp_path: Path, workers: str | None) -> None:
    suite = tmp_path / "suites" / "policy"
    suite.mkdir(parents=True)
    (suite / "test_counted_demo.py").write_text(COUNTED_SUITE)
    seen: list[tuple[int | None, dict[str, int]]] = []
    run = SuiteRun("policy", suite, RunBundle(tmp_path / "reports", "20261122-193000-a1b2c3"), dict(os.environ), workers)
    result = run_suite(run, time.monotonic() + 120, lambda live: seen.append((live.total, dict(live.counts))))
    assert seen[-1] == (4, {"passed": 1, "failed": 1, "skipped": 1, "error": 1})
    counts = result.counts
    assert (counts.passed, counts.failed, counts.skipped, counts.errors) == (1, 1, 1, 1)
    assert not list((tmp_path / "reports").rglob(".*progress*")), "the progress file is removed"
