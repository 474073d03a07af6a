"""Schema validation: strict built-in schemas, CRDs, schema-location templates, API lifecycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from policy_helpers import CORPUS, Check, find

from testbed.errors import ConfigError
from testbed.policy.engine import check_paths
from testbed.policy.model import Severity
from testbed.policy.schema import SchemaStore
from testbed.policy.settings import PolicySettings

pytestmark = pytest.mark.unit

Obj = dict[str, Any]
LABELS = {"app.kubernetes.io/name": "x", "app.kubernetes.io/part-of": "t"}


def schema_findings(report: Any, rule: str = "TB-SCHEMA") -> list[tuple[str, str]]:
    return [(f.path, f.message) for f in report.findings if f.rule_id == rule]


def test_unknown_field_is_an_error_with_its_path(good: list[Obj], check: Check) -> None:
    find(good, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]["imagePullPolic"] = "Always"
    assert schema_findings(check(good)) == [
        ("spec.template.spec.containers[0].imagePullPolic", "unknown field 'imagePullPolic'")]


def test_non_strict_allows_unknown_fields(good: list[Obj], check: Check) -> None:
    find(good, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]["imagePullPolic"] = "Always"
    assert schema_findings(check(good, strict=False)) == []


def test_wrong_type_and_missing_required(good: list[Obj], check: Check) -> None:
    dep = find(good, "Deployment", "web")
    dep["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eighty"
    del dep["spec"]["selector"]
    found = schema_findings(check(good))
    assert ("spec.selector", "missing required field 'selector'") in found
    assert any(p == "spec.template.spec.containers[0].ports[0].containerPort" for p, _ in found)


def test_missing_schema_is_an_error_unless_allowed(check: Check) -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Frobnicator", "metadata": {"name": "f", "labels": LABELS}}
    (finding,) = [f for f in check([obj]).findings if f.rule_id == "TB-SCHEMA-MISSING"]
    assert finding.severity is Severity.ERROR
    (finding,) = [f for f in check([obj], missing_schema_is_error=False).findings if f.rule_id == "TB-SCHEMA-MISSING"]
    assert finding.severity is Severity.INFO


def test_builtin_kind_name_in_custom_group_is_not_matched(check: Check) -> None:
    obj = {"apiVersion": "apps.example.com/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": LABELS}}
    assert [f.rule_id for f in check([obj]).findings] == ["TB-SCHEMA-MISSING"]


@pytest.mark.parametrize(("api_version", "kind", "version", "rule"), [
    ("extensions/v1beta1", "Ingress", "1.33", "TB-API-REMOVED"),
    ("policy/v1beta1", "PodDisruptionBudget", "1.25", "TB-API-REMOVED"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.25", "TB-API-DEPRECATED"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26", "TB-API-REMOVED"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "1.31", "TB-API-DEPRECATED"),
    ("v1", "Endpoints", "1.33", "TB-API-DEPRECATED"),
])
def test_api_lifecycle(api_version: str, kind: str, version: str, rule: str, check: Check) -> None:
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "labels": LABELS}}
    report = check([obj], k8s_version=version)
    hits = [f for f in report.findings if f.rule_id == rule]
    assert hits and hits[0].path == "apiVersion"
    if rule == "TB-API-REMOVED":
        assert "TB-SCHEMA-MISSING" not in {f.rule_id for f in report.findings}


def test_endpoints_not_deprecated_before_1_33(check: Check) -> None:
    obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "x", "labels": LABELS}}
    assert "TB-API-DEPRECATED" not in {f.rule_id for f in check([obj], k8s_version="1.32").findings}


@pytest.mark.parametrize("version", ["1.24", "1.99", "banana"])
def test_unsupported_version_is_a_usage_error(version: str) -> None:
    with pytest.raises(ConfigError):
        SchemaStore(version)


def test_crd_in_render_checks_custom_resources() -> None:
    report = check_paths([CORPUS / "crd" / "widgets-crd.yaml", CORPUS / "crd" / "widget-good.yaml",
                          CORPUS / "crd" / "widget-bad.yaml"], PolicySettings())
    found = {(f.name, f.path, f.message) for f in report.findings if f.rule_id == "TB-SCHEMA"}
    assert ("broken", "spec.colour", "unknown field 'colour'") in found
    assert any(name == "broken" and path == "spec.size" for name, path, _ in found)
    assert not [f for f in report.findings if f.name == "small"]


def test_crd_dir_supplies_schemas() -> None:
    settings = PolicySettings(crd_dirs=(CORPUS / "crd" / "widgets-crd.yaml",))
    report = check_paths([CORPUS / "crd" / "widget-bad.yaml"], settings)
    assert "TB-SCHEMA-MISSING" not in {f.rule_id for f in report.findings}
    assert any(f.path == "spec.colour" for f in report.findings)
    without = check_paths([CORPUS / "crd" / "widget-bad.yaml"], PolicySettings())
    assert "TB-SCHEMA-MISSING" in {f.rule_id for f in without.findings}


def test_schema_location_template(tmp_path: Path) -> None:
    template = str(CORPUS / "schemas" / "{{ .Group }}" / "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")
    report = check_paths([CORPUS / "crd" / "gadget.yaml"], PolicySettings(schema_locations=(template,)))
    assert [f.path for f in report.findings if f.rule_id == "TB-SCHEMA"] == ["spec.replicas"]


def test_remote_schema_location_is_refused() -> None:
    with pytest.raises(ConfigError, match="offline"):
        SchemaStore("1.33", schema_locations=("https://example.com/{{.ResourceKind}}.json",))


def test_validators_compile_once_per_kind() -> None:
    store = SchemaStore("1.33")
    first = store.validator("apps/v1", "Deployment")
    assert store.validator("apps/v1", "Deployment") is first
    assert store.validator("v1", "Nope") is None


def test_invalid_crd_schema_is_a_finding_not_a_crash(check: Check) -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "bads.example.com", "labels": LABELS},
           "spec": {"group": "example.com", "names": {"kind": "Bad", "plural": "bads"}, "scope": "Namespaced",
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object",
                                                                 "properties": {"spec": {"pattern": "("}}}}}]}}
    cr = {"apiVersion": "example.com/v1", "kind": "Bad", "metadata": {"name": "b", "labels": LABELS}}
    report = check([crd, cr])
    assert [(f.name, f.rule_id) for f in report.findings if f.name == "b"] == [("b", "TB-SCHEMA")]
    assert "cannot be used" in next(f.message for f in report.findings if f.name == "b")
