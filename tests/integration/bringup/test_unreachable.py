"""A wrong kubeconfig, context or cluster fails fast: one clear line and exit 3 within 10 s (real subprocesses)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration
DEADLINE_S = 10.0


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "here",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "here", "context": {"cluster": "c", "user": "u"}}],
    }))
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_testbed(*args: str, tmp_path: Path, **env_extra: str) -> tuple[int, str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESTBED_")}
    env.update(TESTBED_STATE_DIR=str(tmp_path / "state"), TESTBED_REPORTS_DIR=str(tmp_path / "reports"), **env_extra)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "testbed.cli.main", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=tmp_path)
    return proc.returncode, proc.stderr, time.monotonic() - start


@pytest.mark.parametrize("case", ["wrong-context", "closed-port", "missing-file"])
def test_kube_target_unreachable_exits_3_fast(case: str, tmp_path: Path) -> None:
    good = kubeconfig(tmp_path / "kubeconfig", f"https://127.0.0.1:{closed_port()}")
    args = {"wrong-context": ["--kubeconfig", str(good), "--context", "no-such-context"],
            "closed-port": ["--kubeconfig", str(good)],
            "missing-file": ["--kubeconfig", str(tmp_path / "nope.yaml")]}[case]
    rc, err, elapsed = run_testbed("up", "--target", "kube", *args, "--bundle", str(tmp_path), tmp_path=tmp_path)
    assert rc == 3, err
    assert elapsed <= DEADLINE_S
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("testbed: "), err
    assert "Traceback" not in err


def test_sim_target_without_its_cluster_exits_3(tmp_path: Path) -> None:
    rc, err, elapsed = run_testbed("up", "--target", "sim", tmp_path=tmp_path,
                                   TESTBED_KUBE__SIM_CLUSTER=f"absent-{os.getpid()}")
    assert rc == 3, err
    assert elapsed <= DEADLINE_S and "testbed sim up --name absent-" in err
