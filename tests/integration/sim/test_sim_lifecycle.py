"""`up` twice is a no-op, `down` leaves no process or port behind, and bad input is one line.

These tests make clusters of their own (besides the session's), small ones to stay quick.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.errors import ConfigError
from testbed.kube.wait import Seen, wait_until
from testbed.sim.binaries import missing_binaries
from testbed.sim.cluster import SimCluster
from testbed.sim.config import SimClusterSpec
from testbed.sim.processes import is_running, listening_ports, read_pidfiles
from testbed.sim.status import SimState, recorded_components
from testbed.testing.prereqs import require

pytestmark = [pytest.mark.integration, pytest.mark.sim]


@pytest.fixture
def own_cluster() -> Iterator[SimCluster]:
    require(not missing_binaries(), f"sim binaries missing: {missing_binaries()}; run `testbed sim build`")
    cluster = SimCluster(f"lifecycle-{os.getpid()}")
    try:
        yield cluster
    finally:
        cluster.down()


def processes_mentioning(path: Path) -> list[str]:
    """Live processes whose command line names `path` (kwokctl passes each its workdir)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmdline:
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def test_up_twice_is_a_no_op_and_down_leaves_no_process_or_port(own_cluster: SimCluster) -> None:
    spec = SimClusterSpec(name=own_cluster.name, nodes=2)
    first = own_cluster.up(spec)
    second = own_cluster.up(spec)
    procs = read_pidfiles(own_cluster.workdir)
    ports = {port for comp in recorded_components(own_cluster.workdir) for port in comp.ports}
    assert first.created and not second.created
    assert second.apiserver == first.apiserver and second.nodes == first.nodes
    assert {p.name for p in procs} == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller"}
    assert all(is_running(p) for p in procs) and ports <= listening_ports()

    result = own_cluster.down()

    assert result.existed and sorted(result.stopped) == sorted(p.name for p in procs)
    assert [p for p in procs if is_running(p)] == []
    assert ports & listening_ports() == set()
    assert processes_mentioning(own_cluster.workdir) == []
    assert not own_cluster.workdir.exists()
    assert own_cluster.status().state is SimState.ABSENT
    assert own_cluster.down().existed is False


def test_up_on_a_port_in_use_is_a_clear_config_error(own_cluster: SimCluster) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        with pytest.raises(ConfigError, match=f"port 127.0.0.1:{port} is already in use"):
            own_cluster.up(SimClusterSpec(name=own_cluster.name, nodes=1, apiserver_port=port))

    assert not own_cluster.exists(), "nothing was started"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "testbed.cli.main", "sim", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_port_conflict_is_one_line_with_exit_2(own_cluster: SimCluster) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        done = run_cli("up", "--name", own_cluster.name, "--port", str(holder.getsockname()[1]))

    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "already in use" in done.stderr and "Traceback" not in done.stderr


def test_cli_down_of_a_missing_cluster_is_a_no_op(own_cluster: SimCluster) -> None:
    done = run_cli("down", "--name", own_cluster.name)

    assert done.returncode == 0
    assert "nothing to do" in done.stdout


def _try_bind(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def test_restarting_onto_a_port_someone_took_is_a_port_conflict_that_leaves_nothing(own_cluster: SimCluster) -> None:
    # A port from the kernel's ephemeral range, which kwokctl (allocating downwards from
    # 32767) never hands out, so squatting it below cannot hit a cluster made in parallel.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        api_port = probe.getsockname()[1]
    own_cluster.up(SimClusterSpec(name=own_cluster.name, nodes=1, apiserver_port=api_port))
    assert own_cluster.endpoints()["kube-apiserver"] == f"https://127.0.0.1:{api_port}"
    for proc in read_pidfiles(own_cluster.workdir):  # a crash: every component dies at once
        os.kill(proc.pid, signal.SIGKILL)
    wait_until(
        "killed components to exit",
        lambda: Seen(not any(is_running(p) for p in read_pidfiles(own_cluster.workdir)), "exiting"),
        timeout_s=10,
    )
    assert own_cluster.status().state is SimState.DOWN

    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Sockets of the killed apiserver can linger for a moment: squat as soon as the port frees.
        wait_until("the killed apiserver's port to be free to squat", lambda: Seen(_try_bind(squatter, api_port), "in use"), timeout_s=30)
        squatter.listen()

        with pytest.raises(ConfigError, match="port conflict .*address already in use"):
            own_cluster.up(SimClusterSpec(name=own_cluster.name, nodes=1, apiserver_port=api_port), timeout_s=60)

        assert processes_mentioning(own_cluster.workdir) == []
        assert not own_cluster.exists()


def test_up_restarts_a_cluster_whose_processes_all_died(own_cluster: SimCluster) -> None:
    spec = SimClusterSpec(name=own_cluster.name, nodes=1)
    own_cluster.up(spec)
    for proc in read_pidfiles(own_cluster.workdir):
        os.kill(proc.pid, signal.SIGKILL)  # they linger as zombies until init reaps them
    wait_until(
        "killed components to exit",
        lambda: Seen(not any(is_running(p) for p in read_pidfiles(own_cluster.workdir)), "exiting"),
        timeout_s=10,
    )
    assert own_cluster.status().exit_code == 3

    again = own_cluster.up(spec)

    assert again.created and own_cluster.status().state is SimState.HEALTHY
