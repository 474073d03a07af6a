"""Controllers of a real control plane act on kwok-simulated pods: rollout and self-healing."""

from __future__ import annotations

import pytest

from testbed.kube.api import KubeAPI
from testbed.kube.wait import Seen, wait_until
from testbed.kube.workloads import deployment_manifest, pod_ready, pods, wait_for_rollout

pytestmark = [pytest.mark.integration, pytest.mark.sim]


def test_deployment_with_three_replicas_becomes_available(sim_api: KubeAPI, sim_namespace: str) -> None:
    sim_api.apply([deployment_manifest("web", replicas=3)], namespace=sim_namespace)

    deployment = wait_for_rollout(sim_api, "web", sim_namespace, timeout_s=60)

    assert deployment["status"]["availableReplicas"] == 3
    running = pods(sim_api, sim_namespace, "app=web")
    assert len(running) == 3 and all(pod_ready(p) for p in running)
    assert all(p["spec"].get("nodeName") for p in running), "every pod is bound to a simulated node"


def test_deleted_pod_is_replaced_and_ready_again(sim_api: KubeAPI, sim_namespace: str) -> None:
    sim_api.apply([deployment_manifest("web", replicas=3)], namespace=sim_namespace)
    wait_for_rollout(sim_api, "web", sim_namespace, timeout_s=60)
    victim = pods(sim_api, sim_namespace, "app=web")[0]["metadata"]["name"]

    assert sim_api.delete("v1", "Pod", victim, namespace=sim_namespace)

    def replaced() -> Seen[None]:
        current = pods(sim_api, sim_namespace, "app=web")
        names = sorted(p["metadata"]["name"] for p in current)
        ready = sum(pod_ready(p) for p in current)
        done = len(current) == 3 and victim not in names and ready == 3
        return Seen(done, f"pods {names}, {ready} Ready")

    wait_until(f"a Ready replacement for pod {victim}", replaced, timeout_s=30, interval_s=0.25)
    wait_for_rollout(sim_api, "web", sim_namespace, timeout_s=30)
