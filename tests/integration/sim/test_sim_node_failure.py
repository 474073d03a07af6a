"""A node going NotReady: the node controller taints it and its pods move to healthy nodes.

The test brings its own two nodes (a pool only its Deployment may use), so the session's
shared nodes stay healthy for every other test.
"""

from __future__ import annotations

import secrets
import time

import pytest

from testbed.kube.api import KubeAPI
from testbed.kube.wait import Seen, wait_until
from testbed.kube.workloads import deployment_manifest, pod_ready, pods, wait_for_rollout
from testbed.sim.nodes import ensure_nodes, node_manifest, set_node_not_ready, wait_nodes_ready

pytestmark = [pytest.mark.integration, pytest.mark.sim]

TOLERATION_S = 3  # how long pods stay on a NotReady node before eviction
NOT_READY_TAINT = "node.kubernetes.io/not-ready"


def test_not_ready_node_is_tainted_and_its_pods_are_rescheduled(sim_api: KubeAPI, sim_namespace: str) -> None:
    pool = f"pool-{secrets.token_hex(3)}"
    doomed, healthy = f"{pool}-doomed", f"{pool}-healthy"
    manifests = [node_manifest(n, "sim-a", extra_labels={"testbed.io/pool": pool}) for n in (doomed, healthy)]
    ensure_nodes(sim_api, manifests)
    try:
        wait_nodes_ready(sim_api, [doomed, healthy], timeout_s=30)
        deployment = deployment_manifest(
            "web",
            replicas=4,
            node_selector={"testbed.io/pool": pool},
            tolerations=[
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": TOLERATION_S}
                for key in (NOT_READY_TAINT, "node.kubernetes.io/unreachable")
            ],
        )
        deployment["spec"]["template"]["spec"]["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app": "web"}},
            }
        ]
        sim_api.apply([deployment], namespace=sim_namespace)
        wait_for_rollout(sim_api, "web", sim_namespace, timeout_s=60)
        victims = {p["metadata"]["name"] for p in pods(sim_api, sim_namespace, "app=web") if p["spec"]["nodeName"] == doomed}
        assert victims, "the spread constraint put some pods on the node that will fail"

        set_node_not_ready(sim_api, doomed)
        failed_at = time.monotonic()

        def tainted() -> Seen[None]:
            node = sim_api.get("v1", "Node", doomed) or {}
            taints = [(t["key"], t["effect"]) for t in node.get("spec", {}).get("taints") or []]
            return Seen((NOT_READY_TAINT, "NoExecute") in taints, f"taints {taints}")

        wait_until(f"node {doomed} to get the {NOT_READY_TAINT}:NoExecute taint", tainted, timeout_s=30)

        def moved() -> Seen[None]:
            current = pods(sim_api, sim_namespace, "app=web")
            placement = sorted((p["metadata"]["name"], p["spec"].get("nodeName"), pod_ready(p)) for p in current)
            done = len(current) == 4 and all(node == healthy and ready for _, node, ready in placement)
            return Seen(done, f"pods (name, node, ready): {placement}")

        wait_until(f"all pods of web to run on {healthy}", moved, timeout_s=TOLERATION_S + 45, interval_s=0.25)
        moved_after_s = time.monotonic() - failed_at

        assert moved_after_s >= TOLERATION_S, "pods left before their toleration expired"
        evictions = [
            e for e in sim_api.events(sim_namespace) if e.get("reason") == "TaintManagerEviction"
        ]
        assert {e["involvedObject"]["name"] for e in evictions} >= victims
    finally:
        set_node_not_ready(sim_api, doomed, not_ready=False)
        for name in (doomed, healthy):
            sim_api.delete("v1", "Node", name)
