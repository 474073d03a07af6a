"""Bringing one sim cluster up and down with kwokctl, and proving `down` left nothing behind.

kwokctl keeps each cluster in $KWOK_WORKDIR/clusters/<name> (pki, etcd data, pid files,
component logs, kubeconfig); testbed points KWOK_WORKDIR into its own state dir under the
cache, never into the repo or ~/.kwok, and never lets kwokctl edit ~/.kube/config.
A failed bring-up is torn down again, its component logs copied to
<state>/failures/<name>-<time>/ first.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from testbed.errors import ConfigError, ProvisioningFailed, TestbedError
from testbed.kube.api import KubeAPI
from testbed.kube.wait import Seen, wait_until
from testbed.sim import config as sim_config
from testbed.sim.binaries import SimBinaries, locate
from testbed.sim.config import SimClusterSpec
from testbed.sim.nodes import cluster_nodes, ensure_nodes, set_node_not_ready, wait_nodes_ready
from testbed.sim.processes import (
    Proc,
    is_running,
    listening_sockets,
    port_in_use,
    read_pidfiles,
    socket_inodes,
    terminate,
)
from testbed.sim.status import SimState, SimStatus, apiserver_url, inspect
from testbed.sim.versions import state_dir

KWOKCTL_GRACE_S = 30.0  # on top of the bring-up timeout, for kwokctl's own bookkeeping
KEEP_FAILURE_RECORDS = 20


@dataclass(frozen=True)
class UpResult:
    name: str
    created: bool  # False: it was already up and `up` changed nothing but missing nodes
    apiserver: str
    kubeconfig: Path
    nodes: list[str]
    elapsed_s: float


@dataclass(frozen=True)
class DownResult:
    name: str
    existed: bool
    stopped: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0


class SimCluster:
    """One named sim cluster and its files under testbed's state dir."""

    def __init__(self, name: str = "sim", *, bin_dir: Path | None = None, root: Path | None = None) -> None:
        SimClusterSpec(name=name).validate()
        self.name = name
        self.bin_dir = bin_dir
        self.state = state_dir(root)
        self.kwok_workdir = self.state / "kwok"
        self.workdir = self.kwok_workdir / "clusters" / name
        self.kubeconfig = self.workdir / "kubeconfig.yaml"
        self.config_path = self.state / "configs" / f"{name}.yaml"
        self.log_dir = self.state / "logs"

    # -- queries ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.workdir / "kwok.yaml").is_file()

    def status(self) -> SimStatus:
        return inspect(self.name, self.workdir, self.kubeconfig)

    def api(self, request_timeout_s: float = 15.0) -> KubeAPI:
        return KubeAPI(self.kubeconfig, request_timeout_s=request_timeout_s)

    def endpoints(self) -> dict[str, str]:
        """Where to reach the cluster: the API URL and the kubeconfig path."""
        url = apiserver_url(self.workdir)
        return {"kube-apiserver": url or "", "kubeconfig": str(self.kubeconfig)} if url else {}

    # -- fault hooks (for chaos experiments) ---------------------------------------------
    def set_node_ready(self, node: str, ready: bool) -> None:
        """Make kwok report `node` NotReady (ready=False) until it is healed (ready=True)."""
        with self.api() as api:
            set_node_not_ready(api, node, not_ready=not ready)

    # -- up --------------------------------------------------------------------------------
    def up(self, spec: SimClusterSpec | None = None, *, timeout_s: float = 120.0) -> UpResult:
        """Create the cluster and its nodes and wait until all are Ready; a no-op if already up."""
        spec = (spec or SimClusterSpec(name=self.name)).validate()
        if spec.name != self.name:
            raise ConfigError(f"spec is for cluster {spec.name!r}, not {self.name!r}", field="name")
        binaries = locate(self.bin_dir)
        start = time.monotonic()
        with self._creation_lock(timeout_s):
            return self._up_locked(spec, binaries, start, timeout_s)

    def _up_locked(self, spec: SimClusterSpec, binaries: SimBinaries, start: float, timeout_s: float) -> UpResult:
        current = self.status()
        if current.state is SimState.HEALTHY:
            names = self._nodes_up(spec, timeout_s)
            return UpResult(self.name, False, current.apiserver or "", self.kubeconfig, names, time.monotonic() - start)
        if current.state is SimState.ABSENT and spec.apiserver_port and port_in_use(spec.apiserver_port):
            raise ConfigError(
                f"port 127.0.0.1:{spec.apiserver_port} is already in use; choose another with --port, or 0 for any free port"
            )
        if current.state is SimState.ABSENT:
            self._kwokctl_create(spec, binaries, timeout_s)
        else:  # it exists but is down or partly down: start what is not running
            self._forget_dead_pids()
            self._kwokctl_start(binaries, timeout_s)
        try:
            with self.api() as api:
                self._wait_api_ready(api, timeout_s=max(5.0, timeout_s - (time.monotonic() - start)))
            names = self._nodes_up(spec, max(5.0, timeout_s - (time.monotonic() - start)))
            final = self.status()
            if final.state is not SimState.HEALTHY:
                raise ProvisioningFailed("sim cluster", "; ".join(final.problems))
        except TestbedError as err:
            raise self._failed(err.message) from err
        return UpResult(self.name, True, apiserver_url(self.workdir) or "", self.kubeconfig, names, time.monotonic() - start)

    @contextmanager
    def _creation_lock(self, timeout_s: float) -> Iterator[None]:
        """One bring-up at a time per machine: kwokctl picks free ports by probing, so two
        concurrent creations could pick the same ones before either binds them."""
        self.state.mkdir(parents=True, exist_ok=True)
        with (self.state / "create.lock").open("a+") as lock:

            def acquire() -> Seen[None]:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return Seen(False, "another sim cluster is being created")
                return Seen(True, "acquired")

            wait_until(f"the sim creation lock {lock.name}", acquire, timeout_s=timeout_s, interval_s=0.2)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _nodes_up(self, spec: SimClusterSpec, timeout_s: float) -> list[str]:
        with self.api() as api:
            names = ensure_nodes(api, cluster_nodes(spec.nodes, spec.zones))
            wait_nodes_ready(api, names, timeout_s=timeout_s)
        return names

    def _kwokctl_create(self, spec: SimClusterSpec, binaries: SimBinaries, timeout_s: float) -> None:
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(sim_config.render(spec, binaries))
        args = ["--config", str(self.config_path), "create", "cluster", "--runtime", "binary"]
        args += ["--kubeconfig", "", "--timeout", f"{int(timeout_s)}s"]
        log = self._kwokctl(
            binaries, args, timeout_s=timeout_s + KWOKCTL_GRACE_S, log_name="create", abort_if=self._port_conflict
        )
        if log is not None:
            raise self._failed(f"kwokctl create cluster failed: {log}")

    def _forget_dead_pids(self) -> None:
        """Remove the pid files of components that are not running. kwokctl only asks
        whether a pid exists, and a killed component can linger as a zombie until init
        reaps it; kwokctl would then skip starting it."""
        for proc in read_pidfiles(self.workdir):
            if not is_running(proc):
                (self.workdir / "pids" / f"{proc.name}.pid").unlink(missing_ok=True)

    def _kwokctl_start(self, binaries: SimBinaries, timeout_s: float) -> None:
        args = ["start", "cluster", "--timeout", f"{int(timeout_s)}s"]
        log = self._kwokctl(
            binaries, args, timeout_s=timeout_s + KWOKCTL_GRACE_S, log_name="start", abort_if=self._port_conflict
        )
        if log is not None:
            raise self._failed(f"kwokctl start cluster failed: {log}")

    def _wait_api_ready(self, api: KubeAPI, *, timeout_s: float) -> None:
        def probe() -> Seen[None]:
            ok, detail = api.probe("/readyz")
            if not ok and self._port_conflict():
                raise ConfigError(f"port conflict: {self._port_conflict()}")
            return Seen(ok, detail)

        wait_until(f"kube-apiserver {api.host}/readyz", probe, timeout_s=timeout_s, interval_s=0.25)

    def _failed(self, message: str) -> TestbedError:
        """Keep the evidence, tear the half-made cluster down, and say what went wrong."""
        conflict = self._port_conflict()
        record = self._record_failure()
        diagnosis = _log_tails(record)
        try:
            self.down()
        except TestbedError as cleanup:
            message = f"{message}; cleaning up also failed: {cleanup.message}"
        if conflict:
            return ConfigError(f"port conflict while starting sim cluster {self.name!r}: {conflict} (logs: {record})")
        return ProvisioningFailed("sim cluster", f"{message} (component logs: {record})", diagnosis)

    def _port_conflict(self) -> str | None:
        for log in sorted((self.workdir / "logs").glob("*.log")):
            try:
                for line in log.read_text(errors="replace").splitlines():
                    if "address already in use" in line:
                        return f"{log.stem}: {line.strip()[-200:]}"
            except OSError:
                continue
        return None

    def _record_failure(self) -> Path:
        failures = self.state / "failures"
        record = failures / f"{self.name}-{time.strftime('%Y%m%dT%H%M%S')}"
        record.mkdir(parents=True, exist_ok=True)
        for old in sorted(failures.iterdir(), key=lambda p: p.stat().st_mtime)[:-KEEP_FAILURE_RECORDS]:
            shutil.rmtree(old, ignore_errors=True)
        kwokctl_logs = [self.log_dir / f"{self.name}-{verb}.log" for verb in ("create", "start")]
        for src in [*(self.workdir / "logs").glob("*.log"), self.workdir / "kwok.yaml", *kwokctl_logs]:
            if src.is_file():
                shutil.copy2(src, record / src.name)
        return record

    # -- down ------------------------------------------------------------------------------
    def down(self, *, timeout_s: float = 30.0) -> DownResult:
        """Delete the cluster; afterwards none of its processes runs and none of its ports listens."""
        start = time.monotonic()
        if not self.workdir.exists():
            return DownResult(self.name, existed=False)
        procs = read_pidfiles(self.workdir)
        running = [p for p in procs if is_running(p)]
        # The listening sockets that are this cluster's own (another program may hold a
        # recorded port, e.g. after a failed restart; that one is not ours to wait for).
        ours = set().union(*(socket_inodes(p.pid) for p in running)) if running else set()
        listening = {inode: port for inode, port in listening_sockets().items() if inode in ours}
        try:
            binaries: SimBinaries | None = locate(self.bin_dir)
        except TestbedError:
            binaries = None  # binaries gone: stop the processes ourselves below
        if binaries is not None:
            # kwokctl insists on a kubeconfig to remove its context from: give it a scratch file.
            scratch = str(self.state / "kwokctl-scratch-kubeconfig.yaml")
            self._kwokctl(binaries, ["delete", "cluster", "--kubeconfig", scratch], timeout_s=timeout_s, log_name="delete")
        self._stop_leftovers(procs, timeout_s)
        self._wait_sockets_closed(listening, timeout_s)
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.config_path.unlink(missing_ok=True)
        return DownResult(self.name, True, [p.name for p in running], time.monotonic() - start)

    def _stop_leftovers(self, procs: list[Proc], timeout_s: float) -> None:
        def alive() -> Seen[None]:
            left = [f"{p.name}({p.pid})" for p in procs if is_running(p)]
            return Seen(not left, f"still running: {', '.join(left)}" if left else "all exited")

        if alive().done:
            return
        terminate(procs, signal.SIGTERM)
        try:
            wait_until(f"sim cluster {self.name!r} processes to exit", alive, timeout_s=min(10.0, timeout_s))
        except TestbedError:
            terminate(procs, signal.SIGKILL)
            wait_until(f"sim cluster {self.name!r} processes to exit after SIGKILL", alive, timeout_s=5.0)

    def _wait_sockets_closed(self, sockets: dict[int, int], timeout_s: float) -> None:
        def closed() -> Seen[None]:
            still = sorted(port for inode, port in listening_sockets().items() if inode in sockets)
            return Seen(not still, f"still listening on 127.0.0.1: {still}" if still else "all closed")

        ports = sorted(sockets.values())
        wait_until(f"ports {ports} of sim cluster {self.name!r} to close", closed, timeout_s=timeout_s)

    # -- kwokctl ---------------------------------------------------------------------------
    def _kwokctl(
        self,
        binaries: SimBinaries,
        args: list[str],
        *,
        timeout_s: float,
        log_name: str,
        abort_if: Callable[[], str | None] | None = None,
    ) -> str | None:
        """Run kwokctl for this cluster; None on success, else why it failed.

        `abort_if` is polled while kwokctl runs; when it returns a reason, kwokctl is stopped
        at once (a component that cannot bind its port would otherwise keep kwokctl waiting).
        """
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{self.name}-{log_name}.log"
        env = {**os.environ, "KWOK_WORKDIR": str(self.kwok_workdir)}
        cmd = [str(binaries["kwokctl"]), "--name", self.name, *args]
        deadline = time.monotonic() + timeout_s
        with log_path.open("w") as log:
            # Its own process group, so stopping it also stops the kubectl it may be waiting on
            # (the components it starts put themselves in sessions of their own).
            proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                while True:
                    try:
                        returncode = proc.wait(timeout=0.25)
                        break
                    except subprocess.TimeoutExpired:
                        reason = abort_if() if abort_if else None
                        if reason:
                            return reason
                        if time.monotonic() > deadline:
                            return f"kwokctl did not finish within {timeout_s:.0f}s (log: {log_path})"
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        if returncode == 0:
            return None
        return f"{_last_error(log_path)} (exit {returncode}, log: {log_path})"


def _last_error(log_path: Path) -> str:
    """The last error kwokctl logged (it logs JSON lines when not on a terminal)."""
    last = "no output"
    for line in log_path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            last = line
            continue
        if isinstance(entry, dict) and entry.get("level") in ("ERROR", "WARN"):
            last = " ".join(str(entry[k]) for k in ("msg", "err") if entry.get(k))
    return last[-400:]


def _log_tails(record: Path, lines: int = 5) -> str:
    parts = []
    for log in sorted(record.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"== {log.name}\n" + "\n".join(tail))
    return "\n".join(parts)
