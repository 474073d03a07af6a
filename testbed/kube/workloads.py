"""Workload manifests and rollout waits shared by tests, benchmarks and bring-up.

Kept apart from the client adapter: this module only builds plain dicts and reads the
status fields Kubernetes documents for Deployments and Pods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from testbed.kube.api import KubeAPI
from testbed.kube.objects import Obj, condition_status

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"  # never pulled on sim nodes; kwok only pretends to run it


def deployment_manifest(
    name: str,
    *,
    replicas: int,
    image: str = PAUSE_IMAGE,
    labels: Mapping[str, str] | None = None,
    node_selector: Mapping[str, str] | None = None,
    tolerations: Sequence[Mapping[str, Any]] | None = None,
) -> Obj:
    """A Deployment of one small container per pod, selected by app=<name>."""
    pod_labels = {"app": name, **(labels or {})}
    pod_spec: Obj = {
        "containers": [
            {"name": "main", "image": image, "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
        ],
        "terminationGracePeriodSeconds": 0,
    }
    if node_selector:
        pod_spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        pod_spec["tolerations"] = [dict(t) for t in tolerations]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
        },
    }


def rollout_state(deployment: Obj | None) -> tuple[bool, str]:
    """Whether a Deployment is fully rolled out and Available, and a one-line summary."""
    if deployment is None:
        return False, "deployment does not exist"
    want = int(deployment["spec"].get("replicas", 1))
    status = deployment.get("status") or {}
    observed = status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 1)
    counts = {k: int(status.get(k) or 0) for k in ("updatedReplicas", "readyReplicas", "availableReplicas")}
    available = condition_status(deployment, "Available") == "True"
    done = observed and available and all(v == want for v in counts.values()) and status.get("replicas", 0) == want
    summary = f"want {want}; " + ", ".join(f"{k}={v}" for k, v in counts.items()) + f"; Available={available}"
    return done, summary


def wait_for_rollout(api: KubeAPI, name: str, namespace: str, *, timeout_s: float) -> Obj:
    """Wait until a Deployment has all replicas updated, ready and available."""
    found = api.wait_for(
        f"Deployment {namespace}/{name} to roll out",
        "apps/v1",
        "Deployment",
        name,
        rollout_state,
        namespace=namespace,
        timeout_s=timeout_s,
        interval_s=0.25,
    )
    assert found is not None
    return found


def pods(api: KubeAPI, namespace: str, selector: str) -> list[Obj]:
    """Pods matching a label selector that are not being deleted."""
    return [
        p
        for p in api.list("v1", "Pod", namespace=namespace, label_selector=selector)
        if not p["metadata"].get("deletionTimestamp")
    ]


def pod_ready(pod: Obj) -> bool:
    return condition_status(pod, "Ready") == "True"
