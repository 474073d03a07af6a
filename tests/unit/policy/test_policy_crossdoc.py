"""Cross-document rules, exercised with multi-file inputs written to disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from policy_helpers import find, rule_ids

from testbed.policy.engine import check_paths
from testbed.policy.settings import PolicySettings

pytestmark = pytest.mark.unit

Obj = dict[str, Any]


def write_split(tmp_path: Path, objs: list[Obj]) -> list[Path]:
    """One file per object, so every rule sees its inputs across files."""
    paths = []
    for i, obj in enumerate(objs):
        path = tmp_path / f"{i:02d}-{obj['kind'].lower()}.yaml"
        path.write_text(yaml.safe_dump(obj))
        paths.append(path)
    return paths


@pytest.fixture
def split(tmp_path: Path, good: list[Obj]):  # type: ignore[no-untyped-def]
    """split(objs) writes one file per object and returns (rule, kind, name) of every finding."""

    def apply(objs: list[Obj]) -> list[tuple[str, str, str]]:
        write_split(tmp_path, objs)
        report = check_paths([tmp_path], PolicySettings())
        return [(f.rule_id, f.kind, f.name) for f in report.findings]

    return apply


def test_multi_file_compliant_corpus_is_clean(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    assert split(good) == []


def test_replicas_on_hpa_target(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    find(good, "Deployment", "web")["spec"]["replicas"] = 3
    assert ("TB-HPA-REPLICAS", "Deployment", "web") in split(good)


def test_replicas_without_hpa_is_fine(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    good.remove(find(good, "HorizontalPodAutoscaler", "web"))
    find(good, "Deployment", "web")["spec"]["replicas"] = 1
    assert "TB-HPA-REPLICAS" not in {r for r, _, _ in split(good)}


def test_hpa_in_other_namespace_does_not_count(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    find(good, "HorizontalPodAutoscaler", "web")["metadata"]["namespace"] = "elsewhere"
    find(good, "Deployment", "web")["spec"]["replicas"] = 2
    assert "TB-HPA-REPLICAS" not in {r for r, _, _ in split(good)}


def test_multi_replica_without_pdb(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    good.remove(find(good, "PodDisruptionBudget", "db"))
    assert ("TB-PDB-MISSING", "StatefulSet", "db") in split(good)


def test_hpa_scaled_workload_needs_pdb(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    good.remove(find(good, "PodDisruptionBudget", "web"))
    assert ("TB-PDB-MISSING", "Deployment", "web") in split(good)


def test_pdb_selector_must_match(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    find(good, "PodDisruptionBudget", "db")["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/name": "nope"}}
    assert ("TB-PDB-MISSING", "StatefulSet", "db") in split(good)


def test_single_replica_needs_no_pdb(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    good.remove(find(good, "PodDisruptionBudget", "db"))
    find(good, "StatefulSet", "db")["spec"]["replicas"] = 1
    assert "TB-PDB-MISSING" not in {r for r, _, _ in split(good)}


def test_workload_without_network_policy(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    good.remove(find(good, "NetworkPolicy", "default-deny"))
    found = split(good)
    assert ("TB-NETPOL-MISSING", "StatefulSet", "db") in found
    assert ("TB-NETPOL-MISSING", "CronJob", "report") in found
    assert ("TB-NETPOL-MISSING", "Deployment", "web") not in found  # web-ingress selects it (matchExpressions)


def test_service_selector_without_workload(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    find(good, "Service", "web")["spec"]["selector"] = {"app.kubernetes.io/name": "wbe"}
    assert ("TB-SERVICE-SELECTOR", "Service", "web") in split(good)


def test_selectorless_and_external_services_are_fine(split, good: list[Obj]) -> None:  # type: ignore[no-untyped-def]
    labels = {"app.kubernetes.io/name": "x", "app.kubernetes.io/part-of": "testbed"}
    good.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": "shop", "labels": labels},
                 "spec": {"type": "ExternalName", "externalName": "example.com", "selector": {"a": "b"}}})
    good.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "manual", "namespace": "shop",
                                                                     "labels": labels},
                 "spec": {"ports": [{"port": 80}]}})
    assert "TB-SERVICE-SELECTOR" not in {r for r, _, _ in split(good)}


def test_findings_point_at_their_own_file(tmp_path: Path, good: list[Obj]) -> None:
    good.remove(find(good, "PodDisruptionBudget", "db"))
    write_split(tmp_path, good)
    report = check_paths([tmp_path], PolicySettings())
    (finding,) = [f for f in report.findings if f.rule_id == "TB-PDB-MISSING"]
    assert finding.source.endswith("statefulset.yaml") and finding.index == 0
    assert rule_ids(report) == {"TB-PDB-MISSING"}
