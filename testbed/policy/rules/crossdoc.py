"""Rules that need the whole render: HPA vs replicas, PDB coverage, NetworkPolicy coverage, Service selectors.

Objects without metadata.namespace share one bucket, matching how a kustomize render is applied
into a single namespace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from testbed.policy.model import Document, Finding, Severity
from testbed.policy.rules.registry import across_documents, rule
from testbed.policy.rules.workloads import dig, pod_spec, replicas, template_labels
from testbed.policy.settings import PolicySettings

HPA_REPLICAS = rule("TB-HPA-REPLICAS", Severity.ERROR, "cross-document",
                    "Every apply resets replicas and fights the HorizontalPodAutoscaler.",
                    "Remove spec.replicas from a workload an HPA scales.")
PDB_MISSING = rule("TB-PDB-MISSING", Severity.ERROR, "cross-document",
                   "Without a PodDisruptionBudget a drain can take all replicas down at once.",
                   "Add a PodDisruptionBudget whose selector matches the pod template labels.")
NETPOL_MISSING = rule("TB-NETPOL-MISSING", Severity.ERROR, "cross-document",
                      "A pod no NetworkPolicy selects accepts traffic from anywhere in the cluster.",
                      "Add a NetworkPolicy whose podSelector matches the workload (default-deny plus allows).")
SERVICE_SELECTOR = rule("TB-SERVICE-SELECTOR", Severity.ERROR, "cross-document",
                        "A Service whose selector matches no pods has no endpoints.",
                        "Make spec.selector a subset of a workload's pod template labels.")

_SCALABLE = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}
_NOT_RUNNING = {"PodTemplate"}


def selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics; an empty selector matches everything."""
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        return False
    for key, value in match_labels.items():
        if labels.get(str(key)) != str(value):
            return False
    exprs = selector.get("matchExpressions") or []
    if not isinstance(exprs, list):
        return False
    for expr in exprs:
        if not isinstance(expr, dict):
            return False
        key, op, values = str(expr.get("key")), expr.get("operator"), [str(v) for v in expr.get("values") or []]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def _workloads(docs: list[Document]) -> list[Document]:
    return [d for d in docs if d.kind not in _NOT_RUNNING and pod_spec(d) is not None]


def _by_namespace(docs: list[Document], kind: str) -> dict[str, list[Document]]:
    out: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        if d.kind == kind:
            out[d.namespace].append(d)
    return out


def _hpa_targets(docs: list[Document]) -> dict[tuple[str, str, str], Document]:
    targets: dict[tuple[str, str, str], Document] = {}
    for hpa in docs:
        if hpa.kind != "HorizontalPodAutoscaler":
            continue
        ref = dig(hpa.obj, ("spec", "scaleTargetRef"))
        if isinstance(ref, dict) and isinstance(ref.get("kind"), str) and isinstance(ref.get("name"), str):
            targets[(hpa.namespace, ref["kind"], ref["name"])] = hpa
    return targets


@across_documents(HPA_REPLICAS)
def check_hpa_replicas(docs: list[Document], settings: PolicySettings) -> Iterator[Finding]:
    targets = _hpa_targets(docs)
    for d in docs:
        if d.kind not in _SCALABLE:
            continue
        hpa = targets.get((d.namespace, d.kind, d.name))
        if hpa is not None and "replicas" in (d.obj.get("spec") or {}):
            yield HPA_REPLICAS.at(d, "spec.replicas", f"spec.replicas is set but HorizontalPodAutoscaler "
                                  f"{hpa.name!r} scales this {d.kind}")


@across_documents(PDB_MISSING)
def check_pdb_coverage(docs: list[Document], settings: PolicySettings) -> Iterator[Finding]:
    targets = _hpa_targets(docs)
    pdbs = _by_namespace(docs, "PodDisruptionBudget")
    for d in docs:
        if d.kind not in _SCALABLE:
            continue
        count = replicas(d)
        hpa = targets.get((d.namespace, d.kind, d.name))
        if hpa is not None:
            max_replicas = dig(hpa.obj, ("spec", "maxReplicas"))
            count = max(count or 1, max_replicas if isinstance(max_replicas, int) else 1)
        if count is None or count <= 1:
            continue
        labels = template_labels(d)
        if not any(selector_matches(dig(p.obj, ("spec", "selector")), labels) for p in pdbs.get(d.namespace, [])):
            yield PDB_MISSING.at(d, "spec.template.metadata.labels",
                                 f"{d.kind} runs up to {count} replicas and no PodDisruptionBudget selects its pods")


@across_documents(NETPOL_MISSING)
def check_network_policy_coverage(docs: list[Document], settings: PolicySettings) -> Iterator[Finding]:
    policies = _by_namespace(docs, "NetworkPolicy")
    for d in _workloads(docs):
        labels = template_labels(d) if d.kind != "Pod" else {
            str(k): str(v) for k, v in (d.metadata.get("labels") or {}).items()}
        selectors = [dig(p.obj, ("spec", "podSelector")) for p in policies.get(d.namespace, [])]
        if not any(selector_matches(s if s is not None else {}, labels) for s in selectors):
            path = "metadata.labels" if d.kind == "Pod" else "spec.template.metadata.labels"
            yield NETPOL_MISSING.at(d, path, f"no NetworkPolicy selects the pods of this {d.kind}")


@across_documents(SERVICE_SELECTOR)
def check_service_selectors(docs: list[Document], settings: PolicySettings) -> Iterator[Finding]:
    # namespace -> (label, value) -> indices of workloads whose pods carry it; a selector matches
    # when the index sets of all its pairs intersect (linear in the render, not services x workloads).
    index: dict[str, dict[tuple[str, str], set[int]]] = defaultdict(lambda: defaultdict(set))
    for n, d in enumerate(_workloads(docs)):
        if d.kind == "Pod":
            raw = d.metadata.get("labels")
            labels = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        else:
            labels = template_labels(d)
        for pair in labels.items():
            index[d.namespace][pair].add(n)
    for svc in docs:
        if svc.kind != "Service" or dig(svc.obj, ("spec", "type")) == "ExternalName":
            continue
        selector = dig(svc.obj, ("spec", "selector"))
        if not isinstance(selector, dict) or not selector:
            continue  # selector-less Services are backed by hand-made EndpointSlices
        wanted = [(str(k), str(v)) for k, v in selector.items()]
        pairs = index.get(svc.namespace, {})
        matching = set.intersection(*(pairs.get(pair, set()) for pair in wanted))
        if not matching:
            shown = ",".join(f"{k}={v}" for k, v in wanted)
            yield SERVICE_SELECTOR.at(svc, "spec.selector", f"selector {shown} matches no workload in the render")
