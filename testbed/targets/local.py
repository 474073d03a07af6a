"""The `local` target: every shop service and the web front end as local processes on 127.0.0.1.

State (pids, ports) lives in <state_dir>/state.json so `status`, `conform` and `down` work
from another shell. `up` is idempotent: a healthy testbed is left alone, a half-up one is
repaired on the same ports, and Ctrl-C during `up` stops what this call started.
"""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc

from testbed.config import Config
from testbed.errors import ConfigError, ProvisioningFailed, TargetUnreachable, WaitTimeout
from testbed.shop.launcher import Datastores, ShopProcesses, grpc_serving, pid_runs_service
from testbed.shop.topology import ALL_SERVICES
from testbed.targets.base import Endpoints, Progress, ServiceState, TargetStatus, UpResult
from testbed.targets.local_state import LocalState, ServiceRecord


def _noop(_service: str, _phase: str) -> None:
    return None


class LocalTarget:
    name = "local"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.root = config.state_dir.resolve()
        self.state_path = self.root / "state.json"
        self.log_dir = self.root / "logs"

    # -- helpers -------------------------------------------------------------------------------------------

    def _state(self) -> LocalState | None:
        return LocalState.load(self.state_path)

    def _processes(self, state: LocalState | None) -> ShopProcesses:
        ports = {name: rec.port for name, rec in (state.services.items() if state else ())}
        ports.update(self.config.ports)
        ds = self.config.datastores
        shop = ShopProcesses(state_dir=self.root / "data", log_dir=self.log_dir, ports=ports,
                             datastores=Datastores(postgres_url=ds.postgres_url, redis_url=ds.redis_url, nats_url=ds.nats_url))
        for name, rec in (state.services.items() if state else ()):
            if name in shop.procs and rec.pid is not None:
                shop.procs[name].adopted_pid = rec.pid
                shop.procs[name].started_at = rec.started_at
                shop.procs[name].metrics_port = rec.metrics_port
        return shop

    def _healthy(self, name: str, address: str) -> tuple[bool, str]:
        if name == "web":
            try:
                with urllib.request.urlopen(f"http://{address}/healthz", timeout=1.0) as resp:
                    return resp.status == 200, f"HTTP {resp.status}"
            except (urllib.error.URLError, OSError) as err:
                return False, f"HTTP unreachable: {getattr(err, 'reason', err)}"
        return (True, "SERVING") if grpc_serving(address, 1.0) else (False, "not SERVING")

    def _save(self, shop: ShopProcesses) -> None:
        state = self._state() or LocalState(state_dir=str(self.root))
        for name, proc in shop.procs.items():
            state.services[name] = ServiceRecord(port=proc.port, pid=proc.pid if proc.alive() else None, started_at=proc.started_at, metrics_port=proc.metrics_port)
        state.datastores = self.config.datastores.model_dump()
        state.save(self.state_path)

    # -- Target protocol ------------------------------------------------------------------------------------

    def up(self, progress: Progress | None = None) -> UpResult:
        report = progress or _noop
        shop = self._processes(self._state())
        down = [name for name, proc in shop.procs.items() if not proc.alive() or not self._healthy(name, proc.address)[0]]
        if not down:
            return UpResult(changed=False, endpoints=self.endpoints())
        for name, proc in shop.procs.items():
            if name in down and proc.alive():  # running but unhealthy: replace it
                report(name, "restarting")
                shop.stop([name], grace_s=self.config.timeouts.down_s)
        try:
            for name in down:
                report(name, "starting")
            shop.start(down)
            self._save(shop)
            self._wait(shop, down, report)
            self._save(shop)
            report("seed", "seeding")
            from testbed.shop.seed import seed
            from testbed.shop.stubs import Stubs

            stubs = Stubs(shop.addresses())
            try:
                seed(stubs, self.root)
            except grpc.RpcError as err:
                raise ProvisioningFailed("seed", f"seeding demo data failed: {err.code().name} {err.details()}",  # type: ignore[attr-defined]
                                         "\n".join(f"{n}: {shop.tail(n)}" for n in ("user", "product"))) from None
            finally:
                stubs.close()
            report("seed", "ready")
        except BaseException:
            # Whatever this call started (even partly, even on Ctrl-C) is stopped again.
            spawned = [name for name in down if shop.procs[name].pid is not None]
            if spawned:
                shop.stop(spawned, grace_s=self.config.timeouts.down_s)
                self._save(shop)
            raise
        return UpResult(changed=True, started=tuple(down), endpoints=self.endpoints())

    def _wait(self, shop: ShopProcesses, names: list[str], report: Progress) -> None:
        deadline = time.monotonic() + self.config.timeouts.up_s
        pending = list(names)
        for name in pending:
            report(name, "waiting")
        while pending:
            for name in list(pending):
                try:
                    shop.wait_ready([name], timeout_s=0.01)
                except WaitTimeout:
                    continue
                except ConfigError as err:  # the process exited during start-up
                    raise ProvisioningFailed(name, err.message, shop.tail(name, 20)) from None
                pending.remove(name)
                report(name, "ready")
            if pending:
                if time.monotonic() > deadline:
                    raise ProvisioningFailed(", ".join(pending), f"not healthy within {self.config.timeouts.up_s:.0f}s; logs in {self.log_dir}",
                                             "\n".join(f"{n}: {shop.tail(n)}" for n in pending))
                time.sleep(0.05)

    def down(self, purge: bool = False) -> list[str]:
        state = self._state()
        stopped: list[str] = []
        if state is not None:
            shop = self._processes(state)
            stopped = [name for name, proc in shop.procs.items() if proc.alive()]
            shop.stop(grace_s=self.config.timeouts.down_s)
            self.state_path.unlink(missing_ok=True)
        if purge and self.root.exists():
            shutil.rmtree(self.root)
        return stopped

    def status(self) -> TargetStatus:
        state = self._state()
        if state is None:
            return TargetStatus(self.name, ())
        now = time.time()
        rows = []
        for name in ALL_SERVICES:
            rec = state.services.get(name)
            if rec is None:
                continue
            address = f"127.0.0.1:{rec.port}"
            alive = rec.pid is not None and pid_runs_service(rec.pid, name)
            healthy, detail = self._healthy(name, address) if alive else (False, "not running")
            rows.append(ServiceState(name, healthy, detail, rec.pid if alive else None, address, now - rec.started_at if alive else None))
        return TargetStatus(self.name, tuple(rows))

    def endpoints(self) -> Endpoints:
        state = self._state()
        if state is None or not any(rec.pid and pid_runs_service(rec.pid, name) for name, rec in state.services.items()):
            raise TargetUnreachable("the local testbed is not up: run `testbed up`")
        grpc_eps = {name: f"127.0.0.1:{rec.port}" for name, rec in state.services.items() if name != "web"}
        web = state.services.get("web")
        logs = {name: str(self.log_dir / f"{name}.log") for name in state.services}
        return Endpoints(grpc=grpc_eps, web_url=f"http://127.0.0.1:{web.port}" if web else None, logs=logs)

    @contextmanager
    def access(self) -> Iterator[Endpoints]:
        """The services already listen on this machine: nothing to open or close."""
        yield self.endpoints()

    # -- chaos hooks -----------------------------------------------------------------------------------------

    def _one(self, service: str) -> ShopProcesses:
        if service not in ALL_SERVICES:
            raise ConfigError(f"unknown service {service!r}; expected one of {', '.join(ALL_SERVICES)}")
        state = self._state()
        if state is None:
            raise TargetUnreachable("the local testbed is not up: run `testbed up`")
        return self._processes(state)

    def stop_instance(self, service: str) -> None:
        shop = self._one(service)
        shop.stop([service], grace_s=self.config.timeouts.down_s)
        self._save(shop)

    def kill_instance(self, service: str) -> None:
        shop = self._one(service)
        shop.stop([service], kill=True)
        self._save(shop)

    def start_instance(self, service: str) -> None:
        shop = self._one(service)
        shop.start([service])
        self._save(shop)
        self._wait(shop, [service], _noop)
        self._save(shop)

    def data_dir(self) -> Path:
        return self.root / "data"
