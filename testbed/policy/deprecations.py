"""Kubernetes apiVersions that are removed or deprecated, by the version that did it.

Source: the Kubernetes deprecated API migration guide. Alpha APIs are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiLifecycle:
    api_version: str
    kinds: tuple[str, ...]  # empty: every kind in the group/version
    deprecated_in: tuple[int, int]
    removed_in: tuple[int, int] | None
    replacement: str


def _v(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


_TABLE: tuple[ApiLifecycle, ...] = (
    ApiLifecycle("extensions/v1beta1", ("Deployment", "DaemonSet", "ReplicaSet"), _v("1.9"), _v("1.16"), "apps/v1"),
    ApiLifecycle("extensions/v1beta1", ("NetworkPolicy",), _v("1.9"), _v("1.16"), "networking.k8s.io/v1"),
    ApiLifecycle("extensions/v1beta1", ("PodSecurityPolicy",), _v("1.10"), _v("1.16"), "Pod Security admission"),
    ApiLifecycle("extensions/v1beta1", ("Ingress",), _v("1.14"), _v("1.22"), "networking.k8s.io/v1"),
    ApiLifecycle("apps/v1beta1", (), _v("1.9"), _v("1.16"), "apps/v1"),
    ApiLifecycle("apps/v1beta2", (), _v("1.9"), _v("1.16"), "apps/v1"),
    ApiLifecycle("networking.k8s.io/v1beta1", ("Ingress", "IngressClass"), _v("1.19"), _v("1.22"), "networking.k8s.io/v1"),
    ApiLifecycle("rbac.authorization.k8s.io/v1beta1", (), _v("1.17"), _v("1.22"), "rbac.authorization.k8s.io/v1"),
    ApiLifecycle("admissionregistration.k8s.io/v1beta1", ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"),
                 _v("1.16"), _v("1.22"), "admissionregistration.k8s.io/v1"),
    ApiLifecycle("apiextensions.k8s.io/v1beta1", (), _v("1.16"), _v("1.22"), "apiextensions.k8s.io/v1"),
    ApiLifecycle("apiregistration.k8s.io/v1beta1", (), _v("1.19"), _v("1.22"), "apiregistration.k8s.io/v1"),
    ApiLifecycle("certificates.k8s.io/v1beta1", (), _v("1.19"), _v("1.22"), "certificates.k8s.io/v1"),
    ApiLifecycle("coordination.k8s.io/v1beta1", (), _v("1.19"), _v("1.22"), "coordination.k8s.io/v1"),
    ApiLifecycle("scheduling.k8s.io/v1beta1", (), _v("1.14"), _v("1.22"), "scheduling.k8s.io/v1"),
    ApiLifecycle("storage.k8s.io/v1beta1", ("CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"),
                 _v("1.19"), _v("1.22"), "storage.k8s.io/v1"),
    ApiLifecycle("batch/v1beta1", ("CronJob",), _v("1.21"), _v("1.25"), "batch/v1"),
    ApiLifecycle("discovery.k8s.io/v1beta1", ("EndpointSlice",), _v("1.21"), _v("1.25"), "discovery.k8s.io/v1"),
    ApiLifecycle("events.k8s.io/v1beta1", ("Event",), _v("1.21"), _v("1.25"), "events.k8s.io/v1"),
    ApiLifecycle("autoscaling/v2beta1", ("HorizontalPodAutoscaler",), _v("1.21"), _v("1.25"), "autoscaling/v2"),
    ApiLifecycle("policy/v1beta1", ("PodDisruptionBudget",), _v("1.21"), _v("1.25"), "policy/v1"),
    ApiLifecycle("policy/v1beta1", ("PodSecurityPolicy",), _v("1.21"), _v("1.25"), "Pod Security admission"),
    ApiLifecycle("node.k8s.io/v1beta1", ("RuntimeClass",), _v("1.20"), _v("1.25"), "node.k8s.io/v1"),
    ApiLifecycle("autoscaling/v2beta2", ("HorizontalPodAutoscaler",), _v("1.23"), _v("1.26"), "autoscaling/v2"),
    ApiLifecycle("flowcontrol.apiserver.k8s.io/v1beta1", (), _v("1.23"), _v("1.26"), "flowcontrol.apiserver.k8s.io/v1"),
    ApiLifecycle("storage.k8s.io/v1beta1", ("CSIStorageCapacity",), _v("1.24"), _v("1.27"), "storage.k8s.io/v1"),
    ApiLifecycle("flowcontrol.apiserver.k8s.io/v1beta2", (), _v("1.26"), _v("1.29"), "flowcontrol.apiserver.k8s.io/v1"),
    ApiLifecycle("flowcontrol.apiserver.k8s.io/v1beta3", (), _v("1.29"), _v("1.32"), "flowcontrol.apiserver.k8s.io/v1"),
    ApiLifecycle("v1", ("ComponentStatus",), _v("1.19"), None, "the readyz/livez endpoints"),
    ApiLifecycle("v1", ("Endpoints",), _v("1.33"), None, "discovery.k8s.io/v1 EndpointSlice"),
)


def lifecycle(api_version: str, kind: str, target: tuple[int, int]) -> tuple[str, ApiLifecycle] | None:
    """('removed'|'deprecated', entry) when the apiVersion/kind is affected at `target`, else None."""
    for entry in _TABLE:
        if entry.api_version != api_version or (entry.kinds and kind not in entry.kinds):
            continue
        if entry.removed_in is not None and target >= entry.removed_in:
            return "removed", entry
        if target >= entry.deprecated_in:
            return "deprecated", entry
    return None
