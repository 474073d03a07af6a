"""Reach a cluster's Services from this machine: supervised `kubectl port-forward` processes.

On the kube target the shop's Services only have in-cluster addresses, but the e2e and ui
suites run where pytest runs. `PortForwards.open("svc/user", 50051)` starts
`kubectl port-forward --address 127.0.0.1 svc/user :50051` (kubectl picks a free local port),
reads that port from kubectl's "Forwarding from 127.0.0.1:N" line (port-forward has no
structured output) and returns "127.0.0.1:N" once a TCP connect to it succeeds.

kubectl forwards to one pod, chosen when it starts, and exits when that pod goes away. A
supervisor thread restarts every kubectl that exits on the SAME local port, so clients only
see a reconnect. A restart that cannot even start kubectl is recorded in `last_exit` and
retried with backoff; the supervisor never dies of it. When another process has taken the
port (LISTEN_FAILURES_TO_FAIL restarts in a row cannot listen on it), the forward is marked
failed and its next use raises TargetUnreachable with that reason.

kubectl is resolved once, at the first open. Every kubectl is started by a Spawner
(testbed/kube/watchdog.py): forked from one thread that lives as long as these forwards, in a
process group of its own, with PR_SET_PDEATHSIG and a watchdog process as two independent
guards, so none outlives us, not even after a SIGKILL, and none dies with whichever thread
asked for it. Every failure to open is TargetUnreachable (exit 3) in one line naming the target
and kubectl's own error line.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from testbed.errors import ConfigError, TargetUnreachable, TestbedError
from testbed.kube.watchdog import Spawner

BIND_ADDRESS = "127.0.0.1"
READY_TIMEOUT_S = 15.0
STOP_GRACE_S = 2.0
SUPERVISE_INTERVAL_S = 0.2
SUPERVISOR_JOIN_S = 10.0  # a restart in progress: stopping the old kubectl, starting the new one
RESTART_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)  # then 2 s between attempts while the pod is not back
LISTEN_FAILURES_TO_FAIL = 3  # restarts in a row that cannot listen on the forward's port: it is lost
OUTPUT_LINES_KEPT = 40

_FORWARDING = re.compile(r"^Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)\s*$")
_HANDLING = re.compile(r"^Handling connection for (\d+)\s*$")
_KLOG_ERROR = re.compile(r"^E\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] (.*)$")
_LISTEN_FAILURE = re.compile(r"unable to listen on|address already in use", re.IGNORECASE)
_TARGET = re.compile(r"^(svc|service|services|pod|pods|deploy|deployment|deployments|rs|replicaset|replicasets"
                     r"|sts|statefulset|statefulsets)/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
log = logging.getLogger(__name__)


# -- reading kubectl's output ------------------------------------------------------------------
def forwarding_port(line: str) -> int | None:
    """The local port of a "Forwarding from 127.0.0.1:N -> R" line, else None."""
    match = _FORWARDING.match(line.strip())
    return int(match.group(1)) if match else None


def is_connection_line(line: str) -> bool:
    return _HANDLING.match(line.strip()) is not None


def error_line(lines: Iterable[str]) -> str:
    """kubectl's own error from its output: the last `error: ...`/`Error from server ...` line,
    else the last klog error message, else the last line; "no output" when there is none.

    `lines` may be a deque a reader thread still appends to: it is copied first (in one C call)."""
    kept = [line.strip() for line in list(lines) if line.strip()]
    for line in reversed(kept):
        if line.lower().startswith(("error:", "error from server", "unable to", "the connection to the server")):
            return line
    for line in reversed(kept):
        match = _KLOG_ERROR.match(line)
        if match:
            return match.group(1)
    return kept[-1] if kept else "no output"


def is_listen_failure(lines: Iterable[str]) -> bool:
    """kubectl could not listen on the local port (another process holds it)."""
    return any(_LISTEN_FAILURE.search(line) for line in list(lines))


def validate_target(target: str) -> str:
    """`svc/NAME`, `pod/NAME`, `deployment/NAME`, ... as kubectl port-forward takes them."""
    if not _TARGET.match(target):
        raise ConfigError(f"port-forward target {target!r} must be KIND/NAME, e.g. svc/user")
    return target


def find_kubectl(explicit: Path | None = None) -> Path:
    """`explicit`, else kubectl on PATH; TargetUnreachable when there is none (nothing can be reached)."""
    if explicit is not None:
        if explicit.is_file() and os.access(explicit, os.X_OK):
            return explicit
        raise TargetUnreachable(f"kubectl {explicit} is not an executable file; it is needed to reach the cluster's Services")
    found = shutil.which("kubectl")
    if found is None:
        raise TargetUnreachable("kubectl is not installed or not on PATH; it is needed to reach the cluster's Services "
                                "(install kubectl >= 1.27, or `testbed sim build` for the sim cache's kubectl)")
    return Path(found)


# -- one kubectl process -----------------------------------------------------------------------
class _Run:
    """One kubectl port-forward process and what it printed (read by a thread, so the pipe never fills)."""

    def __init__(self, command: Sequence[str], spawner: Spawner) -> None:
        self.spawner = spawner
        self.lines: deque[str] = deque(maxlen=OUTPUT_LINES_KEPT)
        self.local_port: int | None = None
        self.connections = 0
        self.forwarding = threading.Event()
        self.process = spawner.spawn(command)
        self.reader = threading.Thread(target=self._read, name=f"kubectl-{self.process.pid}", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            port = forwarding_port(line)
            if port is not None and self.local_port is None:
                self.local_port = port
                self.forwarding.set()
            elif is_connection_line(line):
                self.connections += 1

    @property
    def exited(self) -> bool:
        return self.process.poll() is not None

    def error(self) -> str:
        self.reader.join(1.0)  # the last lines of an exited kubectl
        return error_line(self.lines)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after a grace period; wait for the process."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(STOP_GRACE_S)
                break
            except subprocess.TimeoutExpired:
                continue
        self.process.wait(STOP_GRACE_S)
        self.spawner.watchdog.forget(self.process.pid)
        self.reader.join(STOP_GRACE_S)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _connects(port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((BIND_ADDRESS, port), timeout=timeout_s):
            return True
    except OSError:
        return False


@dataclass
class Forward:
    """One forwarded target: its fixed local port, its current kubectl, and its history."""

    target: str
    remote_port: int
    local_port: int
    run: _Run | None  # None between an exited kubectl and a restart that could not start yet
    restarts: int = 0
    connections: int = 0  # "Handling connection" lines of earlier kubectl runs
    last_exit: str = ""  # why the last kubectl exited (kubectl's error line), or why a restart failed
    failed: str = ""  # set when the forward is given up (its port was lost): the reason
    failed_attempts: int = 0
    listen_failures: int = 0  # restarts in a row that could not listen on local_port
    next_attempt: float = 0.0
    pids: list[int] = field(default_factory=list)  # every kubectl ever started for this forward

    @property
    def address(self) -> str:
        return f"{BIND_ADDRESS}:{self.local_port}"

    @property
    def total_connections(self) -> int:
        return self.connections + (self.run.connections if self.run is not None else 0)


class PortForwards:
    """Supervised `kubectl port-forward`s into one namespace; a context manager (close() on exit)."""

    def __init__(self, kubeconfig: Path, context: str | None, namespace: str, *, kubectl: Path | None = None,
                 ready_timeout_s: float = READY_TIMEOUT_S) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.namespace = namespace
        self.kubectl = kubectl
        self.ready_timeout_s = ready_timeout_s
        self._kubectl_path: Path | None = None  # resolved at the first open, reused for every restart
        self._forwards: dict[tuple[str, int], Forward] = {}
        self._lock = threading.Lock()  # guards _forwards and each Forward's run/pids/restarts
        self._closing = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._spawner: Spawner | None = None

    def __enter__(self) -> PortForwards:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- opening ------------------------------------------------------------------------------
    def command(self, target: str, remote_port: int, local_port: int | None = None) -> list[str]:
        if self._kubectl_path is None:
            self._kubectl_path = find_kubectl(self.kubectl)
        command = [str(self._kubectl_path), "--kubeconfig", str(self.kubeconfig)]
        if self.context:
            command += ["--context", self.context]
        return command + ["--namespace", self.namespace, "port-forward", "--address", BIND_ADDRESS,
                          f"--pod-running-timeout={self._pod_running_timeout_s()}s",
                          target, f"{local_port or ''}:{remote_port}"]

    def _pod_running_timeout_s(self) -> int:
        """kubectl's own wait for a running pod ends before ours, so its error line is what gets reported."""
        return max(1, int(self.ready_timeout_s * 2 / 3))

    def _cannot(self, target: str, remote_port: int, why: str) -> str:
        return f"cannot forward {target}:{remote_port} in namespace {self.namespace}: {why}"

    def open(self, target: str, remote_port: int) -> str:
        """Forward a local port to `target`'s `remote_port`; returns "127.0.0.1:<local port>" once it connects."""
        return self.open_many([(target, remote_port)])[(target, remote_port)]

    def open_many(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """Open several forwards at once (the kubectls start in parallel); all or TargetUnreachable."""
        if self._closing.is_set():
            raise TargetUnreachable("these port-forwards are closed")
        for forward in self.forwards():
            if forward.failed and (forward.target, forward.remote_port) in wanted:
                raise TargetUnreachable(self._cannot(forward.target, forward.remote_port, forward.failed))
        pending = [(validate_target(t), p) for t, p in dict.fromkeys(wanted) if (t, p) not in self._forwards]
        commands = {key: self.command(*key) for key in pending}  # kubectl missing: nothing started
        if commands and self._spawner is None:
            self._spawner = Spawner()
        runs: dict[tuple[str, int], _Run] = {}
        failures: list[str] = []
        for key, command in commands.items():
            assert self._spawner is not None
            try:
                runs[key] = _Run(command, self._spawner)
            except (TestbedError, OSError) as err:
                failures.append(self._cannot(*key, f"kubectl did not start: {getattr(err, 'message', err)}"))
                break
        deadline = time.monotonic() + self.ready_timeout_s
        for key, run in runs.items():
            why = "" if failures else self._wait_ready(run, deadline)
            if why:
                failures.append(self._cannot(*key, why))
        if failures:
            for run in runs.values():
                run.stop()
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise TargetUnreachable(failures[0] + more)
        with self._lock:
            for key, run in runs.items():
                assert run.local_port is not None
                self._forwards[key] = Forward(key[0], key[1], run.local_port, run, pids=[run.process.pid])
            self._start_supervisor()
        return {key: self._forwards[key].address for key in wanted}

    def _wait_ready(self, run: _Run, deadline: float) -> str:
        """"" when forwarding and connectable before `deadline`, else why not (kubectl's error line)."""
        while time.monotonic() < deadline:
            if run.exited:
                return run.error()
            if run.forwarding.is_set() and run.local_port is not None and _connects(run.local_port):
                return ""
            time.sleep(0.05)
        seen = "no 'Forwarding from' line" if not run.forwarding.is_set() else f"127.0.0.1:{run.local_port} refused connections"
        return f"not ready within {self.ready_timeout_s:g}s ({seen}; last output: {error_line(run.lines)})"

    # -- supervising --------------------------------------------------------------------------
    def _start_supervisor(self) -> None:
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, name="port-forward-supervisor", daemon=True)
            self._supervisor.start()

    def _supervise(self) -> None:
        """Until close(): restart every kubectl that exited, on the same local port, with backoff.

        The lock is held only to pick the forwards that are due; stopping and starting kubectl
        (seconds, at worst) happen outside it, so forwards()/close() never wait on a restart."""
        while not self._closing.wait(SUPERVISE_INTERVAL_S):
            now = time.monotonic()
            with self._lock:
                due = [f for f in self._forwards.values()
                       if not f.failed and now >= f.next_attempt and (f.run is None or f.run.exited)]
            for forward in due:
                if self._closing.is_set():
                    return
                self._revive(forward)

    def _revive(self, forward: Forward) -> None:
        if forward.run is not None:
            self._harvest(forward, forward.run)
            if forward.failed:
                log.error("port-forward %s:%s given up: %s", forward.target, forward.remote_port, forward.failed)
                return
        assert self._spawner is not None
        try:
            run = _Run(self.command(forward.target, forward.remote_port, forward.local_port), self._spawner)
        except (TestbedError, OSError) as err:
            why = f"restart failed: {getattr(err, 'message', err)}"
            if why != forward.last_exit:  # once per distinct reason, not on every retry
                log.warning("port-forward %s:%s on %s: %s (retrying)", forward.target, forward.remote_port,
                            forward.address, why)
            forward.last_exit = why
            forward.failed_attempts += 1
            forward.next_attempt = time.monotonic() + self._backoff_s(forward)
            return
        with self._lock:
            closing = self._closing.is_set()  # close() has taken the forwards: this run is ours to stop
            if not closing:
                forward.run = run
                forward.pids.append(run.process.pid)
                forward.restarts += 1
        if closing:
            run.stop()
            return
        log.warning("port-forward %s:%s on %s restarted (%d so far); %s", forward.target, forward.remote_port,
                    forward.address, forward.restarts, forward.last_exit)

    def _harvest(self, forward: Forward, run: _Run) -> None:
        """Record why `run` exited, stop it, and set the backoff (and the verdict on a lost port)."""
        forward.last_exit = f"kubectl exited {run.process.returncode}: {run.error()}"
        forward.connections += run.connections
        run.stop()
        with self._lock:
            forward.run = None
        # A kubectl that had been forwarding is restarted at once; one that never got there
        # (the replacement pod is not running yet, the port is taken) is retried with growing pauses.
        forward.failed_attempts = 0 if run.forwarding.is_set() else forward.failed_attempts + 1
        forward.listen_failures = forward.listen_failures + 1 if is_listen_failure(run.lines) else 0
        if forward.listen_failures >= LISTEN_FAILURES_TO_FAIL:
            forward.failed = (f"local port {forward.local_port} was taken by another process "
                              f"({forward.listen_failures} restarts could not listen on it); {forward.last_exit}")
        forward.next_attempt = time.monotonic() + self._backoff_s(forward)

    @staticmethod
    def _backoff_s(forward: Forward) -> float:
        return RESTART_BACKOFF_S[min(forward.failed_attempts, len(RESTART_BACKOFF_S) - 1)]

    # -- looking ------------------------------------------------------------------------------
    def forwards(self) -> list[Forward]:
        with self._lock:
            return list(self._forwards.values())

    def pids(self) -> list[int]:
        """Every kubectl ever started here (running or not): for tests that prove none is left."""
        with self._lock:
            return [pid for forward in self._forwards.values() for pid in forward.pids]

    def wait_ready(self, target: str, remote_port: int, timeout_s: float) -> str:
        """After a restart: wait until the forward connects again; returns its address, or TargetUnreachable
        (at once when the forward was given up)."""
        with self._lock:
            forward = self._forwards.get((target, remote_port))
        if forward is None:
            raise TargetUnreachable(self._cannot(target, remote_port, "it was never opened here (or is closed)"))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if forward.failed:
                raise TargetUnreachable(self._cannot(target, remote_port, forward.failed))
            run = forward.run
            if run is not None and not run.exited and run.forwarding.is_set() and _connects(forward.local_port):
                return forward.address
            time.sleep(0.05)
        run = forward.run
        last = error_line(run.lines) if run is not None else forward.last_exit
        raise TargetUnreachable(f"forward to {target}:{remote_port} not back within {timeout_s:g}s: {last}")

    # -- closing ------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every kubectl started here and wait for it; idempotent."""
        self._closing.set()
        supervisor = self._supervisor
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(SUPERVISOR_JOIN_S)
        with self._lock:
            forwards, self._forwards = list(self._forwards.values()), {}
        for forward in forwards:
            if forward.run is not None:
                forward.run.stop()
        if self._spawner is not None:
            self._spawner.close()  # its thread ends: PDEATHSIG for anything still running, then the watchdog
