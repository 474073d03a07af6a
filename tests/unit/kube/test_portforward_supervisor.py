"""PortForwards' supervisor with a fake kubectl: restart, a restart that cannot start, a lost port,
and cleanup of open_many and close(). Real processes and loopback sockets, no cluster; a few seconds.

The fake prints kubectl's lines ("Forwarding from 127.0.0.1:N -> R", "Handling connection for N",
kubectl's errors) and listens on the local port it was given (or a free one for ":R"). A file
`fail-<kind>-<name>` next to it makes it exit with kubectl's NotFound error for that target; a file
`linger` makes it leave a child holding its output open (so reading its last lines takes a while).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testbed.errors import TargetUnreachable
from testbed.kube import portforward
from testbed.kube.portforward import Forward, PortForwards

pytestmark = pytest.mark.unit

FAKE_KUBECTL = """#!{python}
import pathlib, socket, subprocess, sys
here = pathlib.Path(__file__).parent
target, (local, remote) = sys.argv[-2], sys.argv[-1].split(":")
if (here / ("fail-" + target.replace("/", "-"))).exists():
    sys.exit(print(f'Error from server (NotFound): services "{{target.split("/")[1]}}" not found', flush=True) or 1)
if (here / "linger").exists():  # a child that keeps kubectl's output open after kubectl exits
    subprocess.Popen(["sleep", "30"])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as kubectl's (Go's) listeners: TIME_WAIT is no obstacle
try:
    server.bind(("127.0.0.1", int(local or 0)))
except OSError as err:
    print(f"Unable to listen on port {{local}}: Listeners failed to create with the following errors: [{{err}}]")
    sys.exit(print(f"error: unable to listen on any of the requested ports: [{{{{{{local}} {{remote}}}}}}]", flush=True) or 1)
server.listen(16)
print(f"Forwarding from 127.0.0.1:{{server.getsockname()[1]}} -> {{remote}}", flush=True)
while True:
    server.accept()[0].close()
    print(f"Handling connection for {{server.getsockname()[1]}}", flush=True)
"""


@pytest.fixture
def kubectl(tmp_path: Path) -> Path:
    path = tmp_path / "kubectl"
    path.write_text(FAKE_KUBECTL.format(python=sys.executable))
    path.chmod(0o755)
    return path


@pytest.fixture
def forwards(kubectl: Path) -> Iterator[PortForwards]:
    with PortForwards(Path("/k/config"), None, "ns", kubectl=kubectl, ready_timeout_s=10) as opened:
        yield opened


def fakes_running(kubectl: Path) -> list[int]:
    """Live (not zombie) processes of this fake kubectl."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(kubectl).encode() in (proc / "cmdline").read_bytes() and alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """Running and not a zombie (a child stopped by PortForwards is also reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def kill_current(forward: Forward) -> int:
    """What kubectl does when its pod goes away: exit. Returns the restart count to wait past."""
    assert forward.run is not None
    restarts = forward.restarts
    os.kill(forward.run.process.pid, signal.SIGKILL)
    return restarts


def connects(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


def test_a_kubectl_that_exits_is_restarted_on_the_same_port(forwards: PortForwards) -> None:
    address = forwards.open("svc/user", 50051)
    forward = forwards.forwards()[0]
    before = kill_current(forward)
    assert wait_until(lambda: forward.restarts > before)
    assert forwards.wait_ready("svc/user", 50051, 10) == address and connects(address)
    assert forward.last_exit.startswith("kubectl exited -9: ") and len(forward.pids) == 2


def test_a_restart_that_cannot_start_kubectl_is_retried_and_spares_the_other_forwards(
        forwards: PortForwards, kubectl: Path, caplog: pytest.LogCaptureFixture) -> None:
    forwards.open_many([("svc/user", 50051), ("svc/cart", 50051)])
    user, cart = forwards.forwards()
    before = kill_current(user)
    assert wait_until(lambda: user.restarts > before)  # this kubectl was started for the supervisor
    assert forwards.wait_ready("svc/user", 50051, 10)
    restarted_user = user.run.process.pid if user.run else 0
    kubectl.chmod(0o644)  # the next start raises PermissionError
    kill_current(cart)
    assert wait_until(lambda: cart.last_exit.startswith("restart failed: "), 10), cart.last_exit
    time.sleep(1.0)  # several retries
    assert forwards._supervisor is not None and forwards._supervisor.is_alive()
    assert alive(restarted_user), "a kubectl the supervisor had restarted died with a failed restart"
    assert connects(user.address)
    assert sum("restart failed" in r.getMessage() for r in caplog.records) == 1  # logged once, not per retry
    kubectl.chmod(0o755)
    assert forwards.wait_ready("svc/cart", 50051, 10) == cart.address


def test_a_lost_port_fails_the_forward_with_that_reason(forwards: PortForwards) -> None:
    forwards.open("svc/user", 50051)
    forward = forwards.forwards()[0]
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the TIME_WAITs of earlier connections
    try:
        with forwards._lock:  # no restart until another process holds the port
            assert forward.run is not None
            kill_current(forward)
            forward.run.process.wait(5)
            squatter.bind(("127.0.0.1", forward.local_port))
            squatter.listen(1)
        with pytest.raises(TargetUnreachable, match=rf"svc/user:50051 .*local port {forward.local_port} was taken") as caught:
            forwards.wait_ready("svc/user", 50051, 15)
        assert "unable to listen" in caught.value.message and "\n" not in caught.value.message
        with pytest.raises(TargetUnreachable, match="was taken"):
            forwards.open("svc/user", 50051)  # the next use says so too
        restarts = forward.restarts
        time.sleep(3 * portforward.SUPERVISE_INTERVAL_S)
        assert forward.restarts == restarts  # given up: no more restarts
    finally:
        squatter.close()


def test_a_slow_restart_does_not_hold_the_lock(forwards: PortForwards, kubectl: Path) -> None:
    (kubectl.parent / "linger").touch()
    forwards.open("svc/user", 50051)
    forward = forwards.forwards()[0]
    before = kill_current(forward)  # its `sleep` keeps the output open: the restart waits ~1 s reading it
    slowest = 0.0
    while forward.restarts == before and slowest < 5:
        started = time.monotonic()
        forwards.forwards()
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.01)
    assert forward.restarts > before and slowest < 0.3, f"forwards() waited {slowest:.2f}s on a restart"


def test_open_many_stops_every_kubectl_when_one_fails(forwards: PortForwards, kubectl: Path) -> None:
    (kubectl.parent / "fail-svc-nope").touch()
    with pytest.raises(TargetUnreachable, match=r'cannot forward svc/nope:1 in namespace ns: .*services "nope" not found'):
        forwards.open_many([("svc/user", 50051), ("svc/nope", 1), ("svc/cart", 50051)])
    assert fakes_running(kubectl) == [] and forwards.forwards() == []


def test_close_stops_every_kubectl_including_restarted_ones(kubectl: Path) -> None:
    with PortForwards(Path("/k/config"), None, "ns", kubectl=kubectl) as forwards:
        forwards.open_many([("svc/user", 50051), ("svc/web", 80)])
        forward = forwards.forwards()[0]
        before = kill_current(forward)
        assert wait_until(lambda: forward.restarts > before)
        pids = forwards.pids()
        assert len(pids) == 3 and sorted(fakes_running(kubectl)) == sorted(pids[1:])
    assert fakes_running(kubectl) == [] and not any(alive(pid) for pid in pids)


def test_open_from_a_thread_that_ends_keeps_its_kubectls(forwards: PortForwards) -> None:
    """PR_SET_PDEATHSIG fires when the forking *thread* ends: kubectl is forked on the spawner's thread."""
    opened: dict[tuple[str, int], str] = {}
    opener = threading.Thread(target=lambda: opened.update(forwards.open_many([("svc/user", 50051)])))
    opener.start()
    opener.join(15)
    assert opened and not opener.is_alive()
    time.sleep(0.3)
    assert all(alive(pid) for pid in forwards.pids()) and connects(opened[("svc/user", 50051)])

