"""How a sim cluster is doing: each component, the API, and the nodes, with one verdict.

The verdict maps to exit codes like `testbed status`: healthy -> 0, unhealthy -> 1,
nothing up (no cluster, or none of its processes running) -> 3.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from testbed.errors import ExitCode, TestbedError
from testbed.kube.api import KubeAPI
from testbed.kube.objects import condition_status
from testbed.sim.processes import is_running, listening_ports, read_pidfiles


class SimState(str, Enum):
    ABSENT = "absent"  # no such cluster
    DOWN = "down"  # the cluster exists but none of its processes runs
    UNHEALTHY = "unhealthy"
    HEALTHY = "healthy"

    @property
    def exit_code(self) -> ExitCode:
        if self is SimState.HEALTHY:
            return ExitCode.OK
        if self is SimState.UNHEALTHY:
            return ExitCode.FAILED
        return ExitCode.UNREACHABLE


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    running: bool
    ports: tuple[int, ...]
    listening: bool


@dataclass(frozen=True)
class NodeStatus:
    name: str
    ready: bool
    zone: str | None


@dataclass(frozen=True)
class SimStatus:
    name: str
    state: SimState
    components: list[ComponentStatus] = field(default_factory=list)
    api_ready: bool = False
    api_detail: str = ""
    apiserver: str | None = None
    kubeconfig: str | None = None
    nodes: list[NodeStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return self.state.exit_code

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data


@dataclass(frozen=True)
class RecordedComponent:
    """A component as kwokctl recorded it in the cluster's kwok.yaml."""

    name: str
    binary: str
    ports: tuple[int, ...]


def recorded_components(workdir: Path) -> list[RecordedComponent]:
    """Components and their ports from kwok.yaml, which kwokctl writes when it creates a cluster."""
    try:
        docs = list(yaml.safe_load_all((workdir / "kwok.yaml").read_text()))
    except (OSError, yaml.YAMLError):
        return []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "KwokctlConfiguration":
            return [
                RecordedComponent(
                    c["name"], str(c.get("binary", "")), tuple(int(p["port"]) for p in c.get("ports") or [])
                )
                for c in doc.get("components") or []
            ]
    return []


def apiserver_url(workdir: Path) -> str | None:
    for comp in recorded_components(workdir):
        if comp.name == "kube-apiserver" and comp.ports:
            return f"https://127.0.0.1:{comp.ports[0]}"
    return None


def inspect(name: str, workdir: Path, kubeconfig: Path) -> SimStatus:
    """Look at a cluster's processes, ports, API and nodes; never raises for a sick cluster."""
    if not (workdir / "kwok.yaml").is_file():
        return SimStatus(name, SimState.ABSENT, problems=[f"no sim cluster named {name!r}"])
    pids = {p.name: p for p in read_pidfiles(workdir)}
    listening = listening_ports()
    components = []
    for comp in recorded_components(workdir):
        proc = pids.get(Path(comp.binary).name) or pids.get(comp.name)
        running = proc is not None and is_running(proc)
        components.append(
            ComponentStatus(
                comp.name,
                proc.pid if proc else None,
                running,
                comp.ports,
                running and all(port in listening for port in comp.ports),
            )
        )
    problems = [f"{c.name} is not running" for c in components if not c.running]
    problems += [f"{c.name} is not listening on {list(c.ports)}" for c in components if c.running and not c.listening]
    common = {"apiserver": apiserver_url(workdir), "kubeconfig": str(kubeconfig), "components": components}
    if not components or not any(c.running for c in components):
        return SimStatus(name, SimState.DOWN, problems=problems or ["no component is running"], **common)

    api_ready, api_detail, nodes = _api_and_nodes(kubeconfig)
    if not api_ready:
        problems.append(f"kube-apiserver /readyz: {api_detail}")
    problems += [f"node {n.name} is not Ready" for n in nodes if not n.ready]
    if api_ready and not nodes:
        problems.append("the cluster has no nodes")
    state = SimState.UNHEALTHY if problems else SimState.HEALTHY
    return SimStatus(name, state, api_ready=api_ready, api_detail=api_detail, nodes=nodes, problems=problems, **common)


def _api_and_nodes(kubeconfig: Path) -> tuple[bool, str, list[NodeStatus]]:
    if not kubeconfig.is_file():
        return False, f"kubeconfig {kubeconfig} missing", []
    with KubeAPI(kubeconfig, request_timeout_s=5.0) as api:
        ready, detail = api.probe("/readyz")
        if not ready:
            return False, detail, []
        try:
            listed = api.list("v1", "Node")
        except TestbedError as err:  # the API went away between the probe and the list
            return False, err.message, []
        nodes = [
            NodeStatus(
                n["metadata"]["name"],
                condition_status(n, "Ready") == "True",
                (n["metadata"].get("labels") or {}).get("topology.kubernetes.io/zone"),
            )
            for n in listed
        ]
    return True, detail, nodes

