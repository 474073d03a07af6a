"""PortForwards without a cluster: reading kubectl's output, the command it runs, refusing bad input,
and the watchdog that stops kubectl groups an owner left behind (with real processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import deque
from pathlib import Path

import pytest

from testbed.errors import ConfigError, TargetUnreachable
from testbed.kube.portforward import (
    PortForwards,
    error_line,
    find_kubectl,
    forwarding_port,
    is_connection_line,
    validate_target,
)
from testbed.kube.watchdog import Watchdog

pytestmark = pytest.mark.unit


@pytest.fixture
def kubectl(tmp_path: Path) -> Path:
    """An executable file where a kubectl is expected (never run by these tests)."""
    path = tmp_path / "kubectl"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_forwarding_line_gives_the_ipv4_local_port_only() -> None:
    assert forwarding_port("Forwarding from 127.0.0.1:43443 -> 50051\n") == 43443
    assert forwarding_port("Forwarding from [::1]:43443 -> 50051") is None
    assert forwarding_port("Handling connection for 43443") is None
    assert is_connection_line("Handling connection for 43443\n")
    assert not is_connection_line("Forwarding from 127.0.0.1:43443 -> 50051")


@pytest.mark.parametrize(("lines", "expected"), [
    (['Error from server (NotFound): services "nope" not found'], 'Error from server (NotFound): services "nope" not found'),
    (["Forwarding from 127.0.0.1:1 -> 2", "E1122 21:20:00.123456    1234 portforward.go:413] an error occurred forwarding 1 -> 2: boom",
      "error: lost connection to pod"], "error: lost connection to pod"),
    (["Forwarding from 127.0.0.1:1 -> 2", "E1122 21:20:00.123456    1234 portforward.go:413] an error occurred forwarding 1 -> 2: boom"],
     "an error occurred forwarding 1 -> 2: boom"),
    (["Unable to listen on port 5000: Listeners failed", "error: unable to listen on any of the requested ports: [{5000 80}]"],
     "error: unable to listen on any of the requested ports: [{5000 80}]"),
    (["The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"],
     "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"),
    (["something odd", "  "], "something odd"),
    ([], "no output"),
])
def test_error_line_is_kubectls_own_last_error(lines: list[str], expected: str) -> None:
    assert error_line(lines) == expected


@pytest.mark.parametrize("target", ["svc/user", "service/payment", "pod/web-84b95bdc5f-vwxs2", "deployment/cart"])
def test_targets_kubectl_accepts(target: str) -> None:
    assert validate_target(target) == target


@pytest.mark.parametrize("target", ["user", "svc/", "svc/User", "node/x", "svc/a b", "svc/user:50051"])
def test_other_targets_are_a_usage_error(target: str) -> None:
    with pytest.raises(ConfigError, match="KIND/NAME"):
        validate_target(target)


def test_command_binds_loopback_and_names_cluster_namespace_and_ports(kubectl: Path) -> None:
    forwards = PortForwards(Path("/k/config"), "ctx", "testbed-dev-shop", kubectl=kubectl, ready_timeout_s=15)
    first = forwards.command("svc/user", 50051)
    again = forwards.command("svc/user", 50051, 43443)
    assert first[:5] == [str(kubectl), "--kubeconfig", "/k/config", "--context", "ctx"]
    assert first[5:9] == ["--namespace", "testbed-dev-shop", "port-forward", "--address"] and first[9] == "127.0.0.1"
    assert "--pod-running-timeout=10s" in first  # ends before our own wait, so kubectl's error is what we report
    assert first[-2:] == ["svc/user", ":50051"] and again[-1] == "43443:50051"
    assert "--context" not in PortForwards(Path("/k/config"), None, "ns", kubectl=kubectl).command("svc/user", 1)


def test_no_kubectl_is_unreachable_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TargetUnreachable, match="kubectl is not installed") as caught:
        find_kubectl()
    assert caught.value.exit_code == 3
    with pytest.raises(TargetUnreachable, match="not an executable file"):
        find_kubectl(tmp_path / "kubectl")
    with PortForwards(Path("/k/config"), None, "ns") as forwards, pytest.raises(TargetUnreachable):
        forwards.open("svc/user", 50051)


def test_closed_forwards_refuse_to_open_and_close_twice(kubectl: Path) -> None:
    forwards = PortForwards(Path("/k/config"), None, "ns", kubectl=kubectl)
    forwards.close()
    forwards.close()
    with pytest.raises(TargetUnreachable, match="closed"):
        forwards.open("svc/user", 50051)


def _wait_gone(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> bool:
    try:
        process.wait(timeout_s)
        return True
    except subprocess.TimeoutExpired:
        return False


def test_watchdog_stops_watched_groups_when_its_pipe_closes_and_spares_forgotten_ones() -> None:
    # `sh -c 'trap "" TERM; ...'` ignores SIGTERM, so the watchdog must escalate to SIGKILL.
    stubborn = subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 60 & wait"], start_new_session=True)
    spared = subprocess.Popen(["sleep", "60"], start_new_session=True)
    watchdog = Watchdog()
    try:
        watchdog.watch(stubborn.pid)
        watchdog.watch(spared.pid)
        watchdog.forget(spared.pid)
        started = time.monotonic()
        watchdog.close()  # as when the owner dies: the pipe's write end closes
        assert _wait_gone(stubborn)
        assert time.monotonic() - started < 8
        assert spared.poll() is None
    finally:
        for process in (stubborn, spared):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def test_error_line_reads_a_deque_that_grows_meanwhile() -> None:
    lines: deque[str] = deque(maxlen=40)

    class Appending(str):  # stands in for the reader thread appending between two items
        def strip(self, chars: str | None = None) -> str:
            lines.append("Handling connection for 1")
            return str.strip(self, chars)

    lines.extend([Appending("error: lost connection to pod"), "x"])
    assert error_line(lines) == "error: lost connection to pod"
