"""The pytest plugin ends a suite whose target cannot be reached (or whose config is bad) with one
`testbed: ...` line and exit code 3 (2), with and without xdist: never an INTERNALERROR.

A target double whose access() raises TargetUnreachable like a port-forward that cannot open;
real pytest subprocesses (xdist workers included), no cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

LINE = "testbed: cannot forward svc/rate:50051 in namespace testbed-dev-shop: error: unable to forward"
CONFTEST = f'''
from contextlib import contextmanager
import pytest
from testbed.errors import TargetUnreachable

class Unreachable:
    name = "kube"

    @contextmanager
    def access(self):
        raise TargetUnreachable({LINE.removeprefix("testbed: ")!r})
        yield

@pytest.fixture(scope="session")
def testbed_target():
    return Unreachable()
'''
TESTS = '''
import pytest

@pytest.mark.parametrize("i", range(8))
def test_uses_the_shop(FIXTURE, i):
    pass
'''


def run_suite(tmp_path: Path, workers: str, fixture: str = "testbed_endpoints", **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_suite.py").write_text(TESTS.replace("FIXTURE", fixture))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TESTBED_", "PYTEST_"))} | env
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers, str(tmp_path)],
                          cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("workers", ["0", "2"])
def test_unreachable_target_is_exit_3_with_one_line(tmp_path: Path, workers: str) -> None:
    proc = run_suite(tmp_path, workers)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output
    assert "INTERNALERROR" not in output and "Traceback" not in output, output
    assert any(line.strip() == LINE for line in proc.stderr.splitlines()) or f"Exit: {LINE}" in output, output
    assert " passed" not in output


def test_bad_config_under_xdist_is_exit_2_with_one_line(tmp_path: Path) -> None:
    proc = run_suite(tmp_path, "2", "testbed_config", TESTBED_TARGET="nope")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "INTERNALERROR" not in output, output
    assert [line for line in proc.stderr.splitlines() if line.startswith("testbed: ")] == [
        "testbed: testbed.yaml:target: Input should be 'local', 'kube' or 'sim'"], output
