"""`testbed sim status|kubeconfig|up` against the session's cluster, in-process and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from testbed.cli.main import main
from testbed.sim.cluster import SimCluster

pytestmark = [pytest.mark.integration, pytest.mark.sim]


def test_status_in_process_reports_healthy_with_exit_0(sim_cluster: SimCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sim", "status", "--name", sim_cluster.name])

    out = capsys.readouterr().out
    assert code == 0
    assert f"sim cluster {sim_cluster.name!r}: healthy" in out
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller"):
        assert component in out


def test_status_json_as_a_subprocess(sim_cluster: SimCluster) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "testbed.cli.main", "sim", "status", "--name", sim_cluster.name, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["state"] == "healthy" and report["api_ready"] is True
    assert report["apiserver"].startswith("https://127.0.0.1:")
    assert {n["name"] for n in report["nodes"] if n["ready"]} >= {"sim-node-1", "sim-node-2", "sim-node-3"}


def test_kubeconfig_prints_the_path(sim_cluster: SimCluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "kubeconfig", "--name", sim_cluster.name]) == 0

    assert capsys.readouterr().out.strip() == str(sim_cluster.kubeconfig)


def test_up_on_a_running_cluster_is_a_no_op(sim_cluster: SimCluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "up", "--name", sim_cluster.name]) == 0

    assert "was already up" in capsys.readouterr().out
