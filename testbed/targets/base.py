"""The interface every target implements, and the data it reports.

Suites and commands talk only to this protocol, never to a target's internals: `up`,
`down`, `status`, `endpoints`, `access`, plus the instance hooks the chaos suite drives.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class ServiceState:
    name: str
    healthy: bool
    detail: str = ""  # "SERVING", "not running", "exited 1", "NOT_SERVING", ...
    pid: int | None = None
    address: str | None = None
    uptime_s: float | None = None


@dataclass(frozen=True)
class TargetStatus:
    target: str
    services: tuple[ServiceState, ...] = ()

    @property
    def anything_up(self) -> bool:
        return any(s.pid is not None or s.healthy for s in self.services)

    @property
    def healthy(self) -> bool:
        return bool(self.services) and all(s.healthy for s in self.services)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "healthy": self.healthy, "up": self.anything_up, "services": [asdict(s) for s in self.services]}


@dataclass(frozen=True)
class Endpoints:
    """How suites reach the testbed: gRPC host:port per service and the web front end's URL."""

    grpc: dict[str, str] = field(default_factory=dict)
    web_url: str | None = None
    simulated: bool = False  # True on sim: no pod runs real code, API suites are not applicable
    logs: dict[str, str] = field(default_factory=dict)  # service -> log file path, where the target has them

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Endpoints":
        return cls(grpc=dict(data.get("grpc", {})), web_url=data.get("web_url"), simulated=bool(data.get("simulated")), logs=dict(data.get("logs", {})))


@dataclass(frozen=True)
class UpResult:
    changed: bool  # False: it was already up and healthy, nothing done
    started: tuple[str, ...] = ()  # services started or repaired
    endpoints: Endpoints = field(default_factory=Endpoints)


# progress(service, phase) is called while `up` works: phase is e.g. "starting", "waiting", "ready", "seeding".
Progress = Callable[[str, str], None]


@runtime_checkable
class Target(Protocol):
    name: str

    def up(self, progress: Progress | None = None) -> UpResult:
        """Bring everything up and wait for health; a no-op when already healthy; repairs a half-up testbed."""
        ...

    def down(self, purge: bool = False) -> list[str]:
        """Stop everything; return what was stopped. `purge` also removes state."""
        ...

    def status(self) -> TargetStatus: ...

    def endpoints(self) -> Endpoints:
        """Where the services are, as the target names them; raise TargetUnreachable if the testbed is not up."""
        ...

    def access(self) -> AbstractContextManager[Endpoints]:
        """Endpoints reachable from this machine while the context is open (kube: port-forwards, closed on
        exit); raise TargetUnreachable if the testbed is not up or cannot be reached."""
        ...

    # chaos hooks: act on one instance of a service
    def stop_instance(self, service: str) -> None: ...

    def kill_instance(self, service: str) -> None: ...

    def start_instance(self, service: str) -> None: ...
