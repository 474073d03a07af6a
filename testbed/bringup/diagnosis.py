"""Why an object is not ready: its conditions, recent events, and its failing pods' state and last log lines.

Collected when a bring-up wait runs out, so the error says what to look at without a
second command. Every read is best effort: a diagnosis never hides the original failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from testbed.errors import TestbedError
from testbed.kube.api import KubeAPI
from testbed.kube.objects import Obj, object_label
from testbed.kube.workloads import pod_ready

EVENTS_SHOWN = 8
LOG_LINES = 20
PODS_SHOWN = 3


def _conditions(obj: Mapping[str, Any]) -> list[str]:
    lines = []
    for c in (obj.get("status") or {}).get("conditions") or []:
        lines.append(f"  {c.get('type')}={c.get('status')} {c.get('reason') or ''}: {c.get('message') or ''}".rstrip(": "))
    return lines or ["  (no conditions)"]


def _events(api: KubeAPI, name: str, namespace: str | None) -> list[str]:
    try:
        events = api.events(namespace, involved_name=name)[-EVENTS_SHOWN:]
    except TestbedError as err:
        return [f"  (events unavailable: {err.message})"]
    return [f"  {e.get('type')} {e.get('reason')}: {e.get('message')}" for e in events] or ["  (no events)"]


def _selector(obj: Mapping[str, Any]) -> str | None:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")
    if not labels or obj.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        return None
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _pod_state(pod: Obj) -> str:
    status = pod.get("status") or {}
    waiting = [f"{cs.get('name')}: {next(iter((cs.get('state') or {}).values()), {}).get('reason', '')}"
               for cs in status.get("containerStatuses") or []]
    conds = ", ".join(f"{c.get('type')}={c.get('status')}" + (f" ({c.get('message')})" if c.get("message") else "")
                      for c in status.get("conditions") or [])
    return f"phase={status.get('phase')}; {conds}" + (f"; containers: {'; '.join(waiting)}" if waiting else "")


def _failing_pods(api: KubeAPI, obj: Mapping[str, Any]) -> list[str]:
    selector = _selector(obj)
    namespace = (obj.get("metadata") or {}).get("namespace")
    if not selector or not namespace:
        return []
    try:
        pods = [p for p in api.list("v1", "Pod", namespace=namespace, label_selector=selector) if not pod_ready(p)]
    except TestbedError as err:
        return [f"pods: unavailable ({err.message})"]
    if not pods:
        return ["pods: none failing (no pod created yet, or all ready)"]
    lines = []
    for pod in pods[:PODS_SHOWN]:
        name = pod["metadata"]["name"]
        lines.append(f"pod {namespace}/{name}: {_pod_state(pod)}")
        lines.append("  events:")
        lines.extend("  " + e for e in _events(api, name, namespace))
        try:
            log = api.pod_logs(name, namespace, tail_lines=LOG_LINES).rstrip()
            lines.append(f"  last {LOG_LINES} log lines:")
            lines.extend(f"    {line}" for line in (log.splitlines() or ["(empty)"]))
        except TestbedError as err:
            lines.append(f"  logs: unavailable ({err.message})")
    return lines


def diagnose(api: KubeAPI, ref: Mapping[str, Any]) -> str:
    """A multi-line diagnosis of the object named by `ref` (apiVersion, kind, name, namespace)."""
    kind, name, namespace = ref["kind"], ref["name"], ref.get("namespace")
    where = object_label(kind, name, namespace)
    try:
        obj = api.get(ref["apiVersion"], kind, name, namespace)
    except TestbedError as err:
        return f"{where}: cannot be read ({err.message})"
    if obj is None:
        return f"{where}: does not exist"
    lines = [f"{where}", "conditions:", *_conditions(obj), "recent events:", *_events(api, name, namespace)]
    lines.extend(_failing_pods(api, obj))
    return "\n".join(lines)
