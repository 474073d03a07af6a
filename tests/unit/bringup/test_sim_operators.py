"""The stand-in operators' kwok: found through the sim cluster (not the kubeconfig's folder),
started only once its log says it watches every Stage kind, stopped even if it already exited.

A fake `kwok` (a script of that name, so /proc shows comm "kwok") stands in for the real one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from testbed.bringup import sim_operators
from testbed.errors import ConfigError, ProvisioningFailed

pytestmark = pytest.mark.unit

PORT = 46443
STAGES = [
    {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": f"s{i}"},
     "spec": {"resourceRef": {"apiGroup": group, "kind": kind}}}
    for i, (group, kind) in enumerate([("postgresql.cnpg.io/v1", "Cluster"), ("postgresql.cnpg.io/v1", "Cluster"),
                                       ("postgresql.cnpg.io/v1", "Database"), ("projectcontour.io/v1", "HTTPProxy")])
]
WATCH_LINES = [
    '{"level":"INFO","msg":"watching stages","gvr":"postgresql.cnpg.io/v1, Resource=clusters"}',
    '{"level":"INFO","msg":"watching stages","gvr":"postgresql.cnpg.io/v1, Resource=databases"}',
    '{"level":"INFO","msg":"watching stages","gvr":"projectcontour.io/v1, Resource=httpproxies"}',
]


def _kubeconfig(path: Path, port: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "clusters": [{"name": "k", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {}}],
    }))
    return path


@pytest.fixture
def sim_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sim state dir (TESTBED_CACHE) holding one cluster, "one", whose apiserver listens on PORT."""
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))
    workdir = tmp_path / "cache" / "sim" / "state" / "kwok" / "clusters" / "one"
    workdir.mkdir(parents=True)
    (workdir / "kwok.yaml").write_text(yaml.safe_dump({
        "kind": "KwokctlConfiguration",
        "components": [{"name": "kube-apiserver", "binary": "/x/kube-apiserver", "ports": [{"port": PORT}]}],
    }))
    _kubeconfig(workdir / "kubeconfig.yaml", PORT)
    return workdir


def _fake_kwok(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    kwok = tmp_path / "fakebin" / "kwok"
    kwok.parent.mkdir(exist_ok=True)
    kwok.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    kwok.chmod(0o755)
    monkeypatch.setattr(sim_operators, "locate", lambda bin_dir=None: {"kwok": kwok})
    monkeypatch.setattr(sim_operators, "wait_openapi", lambda kubeconfig, stages: None)


def _stages(tmp_path: Path) -> Path:
    path = tmp_path / "stages.yaml"
    path.write_text(yaml.safe_dump_all(STAGES))
    return path


def test_a_kubeconfig_elsewhere_finds_the_clusters_own_dir(sim_state: Path, tmp_path: Path) -> None:
    elsewhere = _kubeconfig(tmp_path / "home" / ".kube" / "config", PORT)
    assert sim_operators.cluster_workdir(elsewhere) == sim_state
    assert sim_operators.cluster_workdir(sim_state / "kubeconfig.yaml") == sim_state
    assert sim_operators.cluster_workdir(_kubeconfig(tmp_path / "other" / "config", PORT + 1)) is None


def test_starting_against_a_non_sim_cluster_is_a_config_error(sim_state: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not point at a sim cluster"):
        sim_operators.ensure_running(_kubeconfig(tmp_path / "other" / "config", PORT + 1), _stages(tmp_path))
    assert sim_operators.stop(_kubeconfig(tmp_path / "other" / "config", PORT + 1)) is False


def test_the_log_says_which_kinds_kwok_watches() -> None:
    text = "\n".join(["not json", '{"msg":"Watch nodes"}', *WATCH_LINES])
    assert sim_operators.watching(text) == {"postgresql.cnpg.io/v1": {"clusters", "databases"},
                                            "projectcontour.io/v1": {"httpproxies"}}


def test_started_once_every_kind_is_watched_and_down_finds_the_pid(sim_state: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    lines = "\n".join(WATCH_LINES)
    _fake_kwok(tmp_path, f'''
        import sys, time
        time.sleep(0.5)
        print({lines!r}, flush=True)
        time.sleep(60)
    ''', monkeypatch)
    elsewhere = _kubeconfig(tmp_path / "home" / "config", PORT)
    started = time.monotonic()
    assert sim_operators.ensure_running(elsewhere, _stages(tmp_path)) is True
    assert time.monotonic() - started >= 0.5  # it waited for the log, not for a fixed sleep
    pid = int((sim_state / "pids" / "kwok.pid").read_text())  # where `testbed sim down` looks
    assert sim_operators.running_pid(elsewhere) == pid
    assert sim_operators.in_sync(elsewhere, _stages(tmp_path))
    assert sim_operators.ensure_running(elsewhere, _stages(tmp_path)) is False
    assert sim_operators.stop(elsewhere) is True
    assert not sim_operators._alive(pid)
    assert not (sim_state / "pids" / "kwok.pid").exists()


def test_a_kwok_that_exits_while_starting_fails_with_its_log(sim_state: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_kwok(tmp_path, '''
        print("unable to find the kind", flush=True)
        raise SystemExit(3)
    ''', monkeypatch)
    with pytest.raises(ProvisioningFailed, match="status 3") as err:
        sim_operators.ensure_running(sim_state / "kubeconfig.yaml", _stages(tmp_path))
    assert "unable to find the kind" in err.value.diagnosis
    assert not (sim_state / "pids" / "kwok.pid").exists()


def test_a_kwok_that_never_watches_times_out_and_is_stopped(sim_state: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_kwok(tmp_path, f'''
        import time
        print({WATCH_LINES[0]!r}, flush=True)
        time.sleep(60)
    ''', monkeypatch)
    with pytest.raises(ProvisioningFailed, match="not yet watching: postgresql.cnpg.io/v1, projectcontour.io/v1"):
        sim_operators.ensure_running(sim_state / "kubeconfig.yaml", _stages(tmp_path), startup_timeout_s=1.0)
    assert sim_operators.running_pid(sim_state / "kubeconfig.yaml") is None


def test_stop_tolerates_a_process_that_exits_first(sim_state: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The pid of a child that has already exited and been reaped: whatever a future stop() does
    # with it, it can never signal a live process of ours (never the pytest worker itself).
    child = subprocess.Popen(["true"])
    assert child.wait(timeout=30) == 0
    dead_pid = child.pid
    (sim_state / "pids").mkdir()
    (sim_state / "pids" / "kwok.pid").write_text(str(dead_pid))
    monkeypatch.setattr(sim_operators, "_alive", lambda pid: True)  # alive when read, gone when signalled
    signalled: list[int] = []

    def gone(pid: int, sig: signal.Signals) -> None:
        signalled.append(pid)
        raise ProcessLookupError(pid)

    monkeypatch.setattr(sim_operators.os, "kill", gone)
    assert sim_operators.stop(sim_state / "kubeconfig.yaml") is True
    assert signalled and set(signalled) == {dead_pid}
    assert not (sim_state / "pids" / "kwok.pid").exists()
