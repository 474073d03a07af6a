"""Where pod specs live in each workload kind, and how to walk their containers with paths.

Every pod-level rule goes through here, so Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job, CronJob, bare Pod and PodTemplate are all covered the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from testbed.policy.model import Document

POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
# Workloads whose pods run to completion: no probes expected.
BATCH_KINDS = frozenset({"Job", "CronJob"})
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class Container:
    """A container with the path of its entry in the object."""

    spec: dict[str, Any]
    path: str
    list_name: str  # containers, initContainers or ephemeralContainers

    @property
    def name(self) -> str:
        value = self.spec.get("name")
        return value if isinstance(value, str) else "?"

    @property
    def is_sidecar(self) -> bool:
        """Init containers with restartPolicy Always run alongside the app (native sidecars)."""
        return self.list_name == "initContainers" and self.spec.get("restartPolicy") == "Always"


def dig(obj: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def pod_spec(doc: Document) -> tuple[dict[str, Any], str] | None:
    """The pod spec of a workload and its path, or None for other kinds."""
    keys = POD_SPEC_PATHS.get(doc.kind)
    if keys is None:
        return None
    spec = dig(doc.obj, keys)
    if not isinstance(spec, dict):
        return None
    return spec, ".".join(keys)


def pod_template_metadata(doc: Document) -> dict[str, Any] | None:
    """metadata of the pod template (the pod's own metadata for a bare Pod)."""
    keys = POD_SPEC_PATHS.get(doc.kind)
    if keys is None:
        return None
    meta = dig(doc.obj, keys[:-1] + ("metadata",)) if doc.kind != "Pod" else doc.obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def containers(spec: dict[str, Any], spec_path: str, lists: tuple[str, ...] = CONTAINER_LISTS) -> Iterator[Container]:
    for list_name in lists:
        items = spec.get(list_name)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield Container(item, f"{spec_path}.{list_name}[{i}]", list_name)


def replicas(doc: Document) -> int | None:
    """Declared replicas of a scalable workload (None when unset or not scalable)."""
    if doc.kind not in {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}:
        return None
    value = dig(doc.obj, ("spec", "replicas"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def template_labels(doc: Document) -> dict[str, str]:
    meta = pod_template_metadata(doc)
    labels = meta.get("labels") if meta else None
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}
