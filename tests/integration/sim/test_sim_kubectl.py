"""The machine's own kubectl works against the sim cluster with the kubeconfig testbed prints."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from testbed.kube.api import KubeAPI
from testbed.sim.cluster import SimCluster
from testbed.sim.versions import PINNED
from testbed.testing.prereqs import require

pytestmark = [pytest.mark.integration, pytest.mark.sim]


def kubectl(cluster: SimCluster, *args: str) -> str:
    binary = shutil.which("kubectl")
    require(binary is not None, "kubectl is not on PATH (install it, e.g. `apt-get install kubectl`)")
    assert binary is not None
    done = subprocess.run(
        [binary, "--kubeconfig", str(cluster.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def test_kubectl_lists_the_three_ready_sim_nodes(sim_cluster: SimCluster) -> None:
    nodes = json.loads(kubectl(sim_cluster, "get", "nodes", "-o", "json"))["items"]

    ready = {
        n["metadata"]["name"]
        for n in nodes
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
    }
    assert {"sim-node-1", "sim-node-2", "sim-node-3"} <= ready


def test_kubectl_talks_to_the_pinned_server_version(sim_cluster: SimCluster) -> None:
    version = json.loads(kubectl(sim_cluster, "version", "-o", "json"))

    assert version["serverVersion"]["gitVersion"] == PINNED.kubernetes


def test_kubectl_writes_are_visible_through_the_api(sim_cluster: SimCluster, sim_api: KubeAPI, sim_namespace: str) -> None:
    kubectl(sim_cluster, "-n", sim_namespace, "create", "configmap", "from-kubectl", "--from-literal=k=v")

    stored = sim_api.get("v1", "ConfigMap", "from-kubectl", sim_namespace)

    assert stored is not None and stored["data"] == {"k": "v"}
