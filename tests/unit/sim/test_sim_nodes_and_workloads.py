from __future__ import annotations

import pytest

from testbed.kube.workloads import deployment_manifest, rollout_state
from testbed.sim.nodes import KWOK_ANNOTATION, cluster_nodes, node_manifest

pytestmark = pytest.mark.unit


def test_nodes_are_spread_round_robin_over_zones() -> None:
    nodes = cluster_nodes(4, ("a", "b", "c"))

    assert [n["metadata"]["name"] for n in nodes] == ["sim-node-1", "sim-node-2", "sim-node-3", "sim-node-4"]
    assert [n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes] == ["a", "b", "c", "a"]


def test_a_node_is_kwok_managed_with_realistic_capacity() -> None:
    node = node_manifest("n1", "z", extra_labels={"pool": "p"})

    assert node["metadata"]["annotations"][KWOK_ANNOTATION] == "fake"
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "n1"
    assert node["metadata"]["labels"]["pool"] == "p"
    assert node["status"]["allocatable"] == {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}


def rolled(available: int, *, condition: str = "True", observed: int = 1) -> dict[str, object]:
    deployment = deployment_manifest("web", replicas=3)
    deployment["metadata"]["generation"] = 1
    deployment["status"] = {
        "observedGeneration": observed,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": available,
        "availableReplicas": available,
        "conditions": [{"type": "Available", "status": condition}],
    }
    return deployment


def test_rollout_is_done_only_when_all_replicas_are_available() -> None:
    assert rollout_state(rolled(3))[0] is True
    done, summary = rollout_state(rolled(2))
    assert done is False and "availableReplicas=2" in summary
    assert rollout_state(rolled(3, observed=0))[0] is False
    assert rollout_state(rolled(3, condition="False"))[0] is False
    assert rollout_state(None) == (False, "deployment does not exist")
