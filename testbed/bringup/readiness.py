"""What "ready" means, as the waits of manifests/components.yaml describe it.

A wait names a kind, a namespace, a name or a label selector, and `for`:
`condition=X`, `jsonpath={.a.b}=V`, `rollout`, or (Endpoints) non-empty subsets, i.e. the
`kubectl wait --for` vocabulary. The same evaluation serves the bring-up waits, `testbed
status --target kube|sim` and suites/cluster. A wait is `simulated` when, on sim, what it
reads is set by a stand-in kwok Stage instead of an operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from testbed.errors import ConfigError, TestbedError
from testbed.kube.api import KubeAPI
from testbed.kube.objects import Obj, condition_status, object_label, ref_label
from testbed.kube.workloads import rollout_state


@dataclass(frozen=True)
class Target:
    """One object a wait is about, and whether it is ready."""

    ref: str
    ready: bool
    detail: str
    simulated: bool = False


def _field(obj: Mapping[str, Any], path: str) -> Any:
    node: Any = obj
    for part in path.strip(".").split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _statefulset(obj: Obj) -> tuple[bool, str]:
    want = _field(obj, "spec.replicas")
    want = 1 if want is None else int(want)
    status = obj.get("status") or {}
    ready, updated = int(status.get("readyReplicas") or 0), int(status.get("updatedReplicas") or 0)
    current = int(status.get("observedGeneration") or 0) >= int(obj["metadata"].get("generation") or 1)
    return current and ready >= want and updated >= want, f"{ready}/{want} ready, {updated} updated"


def _daemonset(obj: Obj) -> tuple[bool, str]:
    status = obj.get("status") or {}
    want = int(status.get("desiredNumberScheduled") or 0)
    ready, updated = int(status.get("numberReady") or 0), int(status.get("updatedNumberScheduled") or 0)
    current = int(status.get("observedGeneration") or 0) >= int(obj["metadata"].get("generation") or 1)
    return current and want > 0 and ready >= want and updated >= want, f"{ready}/{want} ready, {updated} updated"


def _rollout(obj: Obj) -> tuple[bool, str]:
    kind = obj.get("kind")
    if kind == "Deployment":
        return rollout_state(obj)
    if kind == "StatefulSet":
        return _statefulset(obj)
    if kind == "DaemonSet":
        return _daemonset(obj)
    raise ConfigError(f"`for: rollout` does not apply to kind {kind}", field="for")


def _endpoints(obj: Obj) -> tuple[bool, str]:
    ready = sum(len(s.get("addresses") or []) for s in obj.get("subsets") or [])
    return ready > 0, f"{ready} ready addresses"


def evaluate_object(obj: Obj, condition: str) -> tuple[bool, str]:
    """Does `obj` satisfy `condition` (components.yaml `for` syntax)?"""
    if obj.get("kind") == "Endpoints":
        return _endpoints(obj)
    if condition == "rollout":
        return _rollout(obj)
    if condition.startswith("condition="):
        want = condition.removeprefix("condition=")
        cond, _, status = want.partition("=")
        seen = condition_status(obj, cond)
        return seen == (status or "True"), f"{cond}={seen or 'absent'}"
    if condition.startswith("jsonpath="):
        expr, _, want = condition.removeprefix("jsonpath=").rpartition("=")
        path = expr.strip("{}")
        seen = _field(obj, path)
        text = str(seen).lower() if isinstance(seen, bool) else seen
        return str(text) == want, f"{path}={seen!r}"
    raise ConfigError(f"unknown wait condition {condition!r}: use condition=, jsonpath= or rollout", field="for")


def evaluate(api: KubeAPI, wait: Mapping[str, Any]) -> list[Target]:
    """Evaluate one wait (a plan wait: apiVersion, kind, namespace, name|selector, for, simulated)."""
    kind, ns, simulated = wait["kind"], wait.get("namespace"), bool(wait.get("simulated"))
    api_version, condition = wait["apiVersion"], str(wait["for"])
    try:
        if wait.get("name"):
            obj = api.get(api_version, kind, wait["name"], ns)
            objs = [obj] if obj is not None else []
            if not objs:
                return [Target(object_label(kind, wait["name"], ns), False, "does not exist", simulated)]
        else:
            objs = api.list(api_version, kind, namespace=ns, label_selector=wait.get("selector"))
            if not objs:
                return [Target(ref_label(wait), False, "no object matches the selector", simulated)]
    except TestbedError as err:
        return [Target(ref_label(wait), False, err.message, simulated)]
    out = []
    for obj in objs:
        meta = obj["metadata"]
        ok, detail = evaluate_object(obj, condition)
        out.append(Target(object_label(kind, meta["name"], meta.get("namespace")), ok, detail, simulated))
    return out
