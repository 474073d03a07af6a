"""What a sim cluster should look like, and the kwokctl configuration that makes it so.

Rendering is a pure function of the spec and the binaries, so it is unit-tested without
starting anything. Every component binds to 127.0.0.1 only; kwokctl picks free ports for
everything not pinned by the spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from testbed.errors import ConfigError
from testbed.sim.binaries import SimBinaries

BIND_ADDRESS = "127.0.0.1"
KWOKCTL_API_VERSION = "config.kwok.x-k8s.io/v1alpha1"
ENABLED_CRDS: tuple[str, ...] = ("PortForward",)
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


@dataclass(frozen=True)
class SimClusterSpec:
    """The desired sim cluster. Defaults give the 3-node cluster `testbed sim up` makes."""

    name: str = "sim"
    """Cluster name: lowercase letters, digits and '-', at most 40 characters."""
    nodes: int = 3
    """Number of simulated nodes, spread round-robin over `zones`."""
    zones: tuple[str, ...] = ("sim-a", "sim-b", "sim-c")
    """Values of topology.kubernetes.io/zone given to the nodes."""
    apiserver_port: int = 0
    """kube-apiserver's port on 127.0.0.1; 0 lets kwokctl choose a free one."""
    node_monitor_period_ms: int = 1000
    """How often kube-controller-manager checks node health (its default is 5 s); a short
    period makes NotReady taints, and so evictions, follow a node failure quickly."""

    def validate(self) -> SimClusterSpec:
        if not _NAME.match(self.name):
            raise ConfigError(
                f"cluster name {self.name!r} must be 1-40 lowercase letters, digits or '-'", field="name"
            )
        if not 1 <= self.nodes <= 500:
            raise ConfigError(f"nodes must be between 1 and 500, got {self.nodes}", field="nodes")
        if not self.zones:
            raise ConfigError("at least one zone is needed", field="zones")
        if self.apiserver_port and not 1024 <= self.apiserver_port <= 65535:
            raise ConfigError(f"port must be 0 (auto) or 1024-65535, got {self.apiserver_port}", field="port")
        return self


def kwokctl_configuration(spec: SimClusterSpec, binaries: SimBinaries) -> dict[str, Any]:
    """The KwokctlConfiguration document for `kwokctl create cluster --runtime binary`."""
    options: dict[str, Any] = {
        "runtime": "binary",
        "bindAddress": BIND_ADDRESS,
        "securePort": True,
        "disableQPSLimits": True,
        # kwokctl multiplies heartbeat periods by this factor (default 5); keep them as given.
        "heartbeatFactor": 1,
        "kubeControllerManagerNodeMonitorPeriodMilliseconds": spec.node_monitor_period_ms,
        "etcdBinary": str(binaries["etcd"]),
        "kubeApiserverBinary": str(binaries["kube-apiserver"]),
        "kubeControllerManagerBinary": str(binaries["kube-controller-manager"]),
        "kubeSchedulerBinary": str(binaries["kube-scheduler"]),
        "kwokControllerBinary": str(binaries["kwok"]),
        "kubectlBinary": str(binaries["kubectl"]),
        # kwok reads PortForward objects from the API, so a test can point `kubectl port-forward`
        # to a pod at a real local process (apiserver -> kwok's kubelet server -> that address).
        "enableCRDs": list(ENABLED_CRDS),
    }
    if spec.apiserver_port:
        options["kubeApiserverPort"] = spec.apiserver_port
    return {"apiVersion": KWOKCTL_API_VERSION, "kind": "KwokctlConfiguration", "options": options}


def kwok_stages() -> list[dict[str, Any]]:
    """kwok's default node/pod Stages plus the node-not-ready chaos Stage (see kwok_stages.yaml)."""
    text = resources.files("testbed.sim").joinpath("kwok_stages.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render(spec: SimClusterSpec, binaries: SimBinaries) -> str:
    """The complete multi-document config file passed to kwokctl with --config."""
    docs = [kwokctl_configuration(spec.validate(), binaries), *kwok_stages()]
    return yaml.safe_dump_all(docs, sort_keys=False)
