"""Run the shop as supervised local processes on 127.0.0.1.

Ports are chosen up front (free ports, or fixed ones from config) so every service knows
its dependencies' addresses before any starts, and a restarted service comes back on the
same port, which its callers' channels reconnect to within about a second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from testbed.errors import ConfigError, WaitTimeout
from testbed.shop import ports
from testbed.shop.topology import ALL_SERVICES, DEPENDENCIES


@dataclass(frozen=True)
class Datastores:
    """Where services keep state; None means the embedded default (SQLite, outbox feed)."""

    postgres_url: str | None = None  # a server URL; each service gets its own database <service>
    redis_url: str | None = None
    nats_url: str | None = None

    def database_url(self, service: str) -> str | None:
        if self.postgres_url is None:
            return None
        base = self.postgres_url.rstrip("/").rsplit("/", 1)[0] if self.postgres_url.count("/") > 2 else self.postgres_url.rstrip("/")
        return f"{base}/{service}"


def pid_runs_service(pid: int, service: str) -> bool:
    """True if `pid` is alive and is a shop process for `service` (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rpartition(")")[2].split()[0] == "Z":
        return False
    return b"testbed.shop" in cmdline and service.encode() in cmdline


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    metrics_port: int | None = None
    started_at: float = 0.0
    adopted_pid: int | None = None  # started by an earlier invocation; known from the state file

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else self.adopted_pid

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return self.adopted_pid is not None and pid_runs_service(self.adopted_pid, self.name)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    return ports.allocate(count, host)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    return ports.bindable(port, host)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, then raise KeyboardInterrupt.

    Spawning a process and recording its pid must not be split by Ctrl-C, or the child
    would be orphaned with nobody to stop it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda s, _f: received.append(s)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt


def grpc_serving(address: str, timeout_s: float = 1.0) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
        except grpc.RpcError:
            return False
    return resp.status == health_pb2.HealthCheckResponse.SERVING


@dataclass
class ShopProcesses:
    state_dir: Path
    log_dir: Path
    datastores: Datastores = field(default_factory=Datastores)
    ports: Mapping[str, int] = field(default_factory=dict)
    services: tuple[str, ...] = ALL_SERVICES
    extra_env: Mapping[str, str] = field(default_factory=dict)
    procs: dict[str, ServiceProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        wanted = [s for s in self.services if not self.ports.get(s)]
        taken = [p for s, p in self.ports.items() if p and s in self.services]
        if len(set(taken)) != len(taken):
            raise ConfigError("two services are configured on the same port", field="ports")
        auto = iter(free_ports(len(wanted)) if wanted else [])
        for name in self.services:
            self.procs[name] = ServiceProcess(name, self.ports.get(name) or next(auto))

    def addresses(self) -> dict[str, str]:
        return {name: p.address for name, p in self.procs.items()}

    def _command(self, name: str) -> list[str]:
        proc = self.procs[name]
        cmd = [sys.executable, "-m", "testbed.shop", name, "--host", "127.0.0.1", "--port", str(proc.port),
               "--state-dir", str(self.state_dir), "--ready-file", str(self._ready_file(name))]
        if name != "web":  # the web front end has no Prometheus endpoint
            cmd += ["--metrics-port", "0"]
        for dep in DEPENDENCIES[name]:
            cmd += ["--dep", f"{dep}={self.procs[dep].address}"]
        db = self.datastores.database_url(name)
        if db and name != "web":
            cmd += ["--database-url", db]
        if self.datastores.redis_url and name == "cart":
            cmd += ["--redis-url", self.datastores.redis_url]
        if self.datastores.nats_url and name in ("order", "point", "delivery"):
            cmd += ["--nats-url", self.datastores.nats_url]
        return cmd

    def _ready_file(self, name: str) -> Path:
        return self.state_dir / "run" / f"{name}.ready.json"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, names: Iterable[str] | None = None) -> None:
        """Spawn the named services (default: all not running); does not wait."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "run").mkdir(parents=True, exist_ok=True)
        todo = [name for name in (names or self.services) if not self.procs[name].alive()]
        for name in todo:  # all ports first, so a conflict starts nothing
            if not port_is_free(self.procs[name].port):
                raise ConfigError(f"port {self.procs[name].port} for {name} is already in use", field=f"ports.{name}")
        env = {**os.environ, **self.extra_env, "PYTHONUNBUFFERED": "1"}
        with deferred_interrupts():
            for name in todo:
                proc = self.procs[name]
                self._ready_file(name).unlink(missing_ok=True)
                with self.log_file(name).open("ab") as log:
                    proc.process = subprocess.Popen(self._command(name), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
                proc.adopted_pid = None
                proc.started_at = time.time()

    def wait_ready(self, names: Iterable[str] | None = None, timeout_s: float = 30.0) -> None:
        """Wait until each service answers its health check SERVING (web: its ready file)."""
        pending = list(names or self.services)
        deadline = time.monotonic() + timeout_s
        while pending:
            for name in list(pending):
                proc = self.procs[name]
                if proc.process is not None and proc.process.poll() is not None:
                    tail = self.tail(name)
                    raise ConfigError(f"{name} exited with code {proc.process.returncode} during start-up: {tail}")
                ready = self._ready_file(name)
                if ready.exists() and (name == "web" or grpc_serving(proc.address, 0.5)):
                    proc.metrics_port = json.loads(ready.read_text()).get("metrics_port")
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise WaitTimeout(f"services {', '.join(pending)} to become healthy", timeout_s, f"logs in {self.log_dir}")
            if pending:
                time.sleep(0.05)

    def stop(self, names: Iterable[str] | None = None, grace_s: float = 8.0, kill: bool = False) -> dict[str, int | None]:
        """SIGTERM (or SIGKILL with kill=True), wait up to grace_s, then SIGKILL; return exit codes."""
        targets = [self.procs[n] for n in (names or self.services) if self.procs[n].pid is not None]
        for proc in targets:
            if proc.alive():
                assert proc.pid is not None
                os.kill(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        codes: dict[str, int | None] = {}
        for proc in targets:
            if proc.process is not None:
                try:
                    codes[proc.name] = proc.process.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.process.kill()
                    codes[proc.name] = proc.process.wait(5)
            else:  # not our child: we cannot read its exit code, only see it go
                while proc.alive() and time.monotonic() < deadline:
                    time.sleep(0.05)
                if proc.alive() and proc.adopted_pid is not None:
                    os.kill(proc.adopted_pid, signal.SIGKILL)
                    end = time.monotonic() + 5
                    while proc.alive() and time.monotonic() < end:
                        time.sleep(0.05)
                codes[proc.name] = None
                proc.adopted_pid = None
        return codes

    def tail(self, name: str, lines: int = 5) -> str:
        path = self.log_file(name)
        if not path.exists():
            return "(no log)"
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
