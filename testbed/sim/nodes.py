"""Simulated nodes: their manifests, creating them, and the NotReady fault hook.

kwok (started by kwokctl with --manage-all-nodes) reports each node Ready, renews its
lease and runs the pods scheduled to it; the `kwok.x-k8s.io/node: fake` annotation also
lets a kwok that selects nodes by annotation pick them up. Capacity and labels look like a
real worker (zone, region, instance type, os/arch) so scheduling behaves realistically.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from testbed.kube.api import KubeAPI
from testbed.kube.objects import condition_status
from testbed.kube.wait import Seen, wait_until

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
NOT_READY_LABEL = "node-not-ready.stage.kwok.x-k8s.io"  # selected by the node-not-ready Stage
NODE_LABEL = "testbed.io/sim-node"


def node_name(index: int) -> str:
    """Names of the cluster's own nodes: sim-node-1, sim-node-2, ..."""
    return f"sim-node-{index}"


def node_manifest(
    name: str,
    zone: str,
    *,
    cpu: str = "8",
    memory: str = "32Gi",
    pods: str = "110",
    extra_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Node object that kwok will simulate."""
    capacity = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"}
    labels = {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
        "node-role.kubernetes.io/worker": "",
        "node.kubernetes.io/instance-type": f"sim.{cpu}cpu",
        "topology.kubernetes.io/region": "sim",
        "topology.kubernetes.io/zone": zone,
        "type": "kwok",
        NODE_LABEL: "true",
        **(extra_labels or {}),
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {KWOK_ANNOTATION: "fake"}},
        "spec": {},
        "status": {
            "allocatable": capacity,
            "capacity": capacity,
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
                "containerRuntimeVersion": "kwok",
                "kernelVersion": "kwok",
                "osImage": "kwok",
            },
            "phase": "Running",
        },
    }


def cluster_nodes(count: int, zones: Sequence[str]) -> list[dict[str, Any]]:
    """The manifests of a cluster's `count` nodes, spread round-robin over `zones`."""
    return [node_manifest(node_name(i), zones[(i - 1) % len(zones)]) for i in range(1, count + 1)]


def ensure_nodes(api: KubeAPI, manifests: Sequence[dict[str, Any]]) -> list[str]:
    """Create the nodes that do not exist yet (existing nodes are left alone); returns all names."""
    names = []
    for manifest in manifests:
        name = manifest["metadata"]["name"]
        if api.get("v1", "Node", name) is None:
            api.create(manifest)
        names.append(name)
    return names


def ready_nodes(api: KubeAPI, names: Sequence[str] | None = None) -> dict[str, bool]:
    """Ready status of the named nodes (all nodes when names is None)."""
    nodes = {n["metadata"]["name"]: n for n in api.list("v1", "Node")}
    wanted = list(names) if names is not None else sorted(nodes)
    return {name: condition_status(nodes.get(name), "Ready") == "True" for name in wanted}


def wait_nodes_ready(api: KubeAPI, names: Sequence[str], *, timeout_s: float) -> None:
    """Wait until every named node reports Ready=True."""

    def probe() -> Seen[None]:
        ready = ready_nodes(api, names)
        pending = [name for name, ok in ready.items() if not ok]
        return Seen(not pending, f"not Ready: {', '.join(pending)}" if pending else "all Ready")

    wait_until(f"nodes {', '.join(names)} to be Ready", probe, timeout_s=timeout_s, interval_s=0.25)


def set_node_not_ready(api: KubeAPI, name: str, not_ready: bool = True) -> None:
    """Fault hook: make kwok report the node NotReady (or heal it with not_ready=False)."""
    api.patch("v1", "Node", name, {"metadata": {"labels": {NOT_READY_LABEL: "true" if not_ready else None}}})
