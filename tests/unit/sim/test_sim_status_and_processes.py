from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import yaml

from testbed.errors import ExitCode
from testbed.sim.processes import (
    Proc,
    is_running,
    listening_ports,
    listening_sockets,
    port_in_use,
    read_pidfiles,
    socket_inodes,
)
from testbed.sim.status import SimState, inspect, recorded_components

pytestmark = pytest.mark.unit


def own_comm() -> str:
    stat = Path(f"/proc/{os.getpid()}/stat").read_text()
    return stat[stat.index("(") + 1 : stat.rindex(")")]


def write_cluster(workdir: Path, pids: dict[str, int]) -> None:
    (workdir / "pids").mkdir(parents=True)
    for name, pid in pids.items():
        (workdir / "pids" / f"{name}.pid").write_text(str(pid))
    config = {
        "kind": "KwokctlConfiguration",
        "components": [
            {"name": "etcd", "binary": str(workdir / "bin/etcd"), "ports": [{"port": 1}, {"port": 2}]},
            {"name": "kube-apiserver", "binary": str(workdir / "bin/kube-apiserver"), "ports": [{"port": 3}]},
        ],
    }
    (workdir / "kwok.yaml").write_text(yaml.safe_dump_all([config, {"kind": "Stage"}]))


def test_states_map_to_the_documented_exit_codes() -> None:
    assert SimState.HEALTHY.exit_code is ExitCode.OK
    assert SimState.UNHEALTHY.exit_code is ExitCode.FAILED
    assert SimState.DOWN.exit_code is ExitCode.UNREACHABLE
    assert SimState.ABSENT.exit_code is ExitCode.UNREACHABLE


def test_a_missing_cluster_is_absent(tmp_path: Path) -> None:
    status = inspect("nope", tmp_path / "nope", tmp_path / "nope" / "kubeconfig.yaml")

    assert status.state is SimState.ABSENT and status.exit_code == 3


def test_a_cluster_whose_processes_are_gone_is_down(tmp_path: Path) -> None:
    write_cluster(tmp_path, {"etcd": 2**22 + 7, "kube-apiserver": 2**22 + 8})

    status = inspect("dead", tmp_path, tmp_path / "kubeconfig.yaml")

    assert status.state is SimState.DOWN and status.exit_code == 3
    assert "etcd is not running" in status.problems
    assert [c.ports for c in status.components] == [(1, 2), (3,)]


def test_recorded_components_and_pidfiles_are_read(tmp_path: Path) -> None:
    write_cluster(tmp_path, {"etcd": 11})

    assert [(c.name, c.ports) for c in recorded_components(tmp_path)] == [("etcd", (1, 2)), ("kube-apiserver", (3,))]
    assert read_pidfiles(tmp_path) == [Proc("etcd", 11)]


def test_a_process_is_running_only_under_its_own_name() -> None:
    assert is_running(Proc(own_comm(), os.getpid()))
    assert not is_running(Proc("kube-apiserver", os.getpid())), "a recycled pid is not the component"
    assert not is_running(Proc(own_comm(), 2**22 + 9))


def test_listening_ports_and_conflicts_on_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        assert port not in listening_ports()
        server.listen()

        assert port in listening_ports()
        assert port_in_use(port)
    assert not port_in_use(port)


def test_a_listening_socket_is_traced_to_its_process() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        mine = {inode: p for inode, p in listening_sockets().items() if inode in socket_inodes(os.getpid())}

    assert port in mine.values()
