"""SARIF 2.1.0, so code hosts can annotate pull requests; waived findings carry suppressions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from testbed.policy.model import Finding, Report, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(source: str) -> str:
    path = source.removesuffix(" (kustomize)")
    if source.endswith(" (kustomize)"):
        path = str(Path(path) / "kustomization.yaml")
    try:
        rel = os.path.relpath(path)
    except ValueError:
        rel = path
    return Path(rel).as_posix() if not rel.startswith("..") else Path(os.path.abspath(path)).as_uri()


def _rule_descriptor(rule_id: str) -> dict[str, Any]:
    from testbed.policy.rules.registry import CATALOGUE

    entry = CATALOGUE.get(rule_id)
    if entry is None:
        base = CATALOGUE["REGO-DENY"] if rule_id.startswith("rego:") else None
        return {"id": rule_id, "shortDescription": {"text": f"User Rego rule {rule_id}" if base else rule_id}}
    return {
        "id": rule_id,
        "name": rule_id.title().replace("-", ""),
        "shortDescription": {"text": entry.rationale},
        "help": {"text": entry.fix},
        "properties": {"category": entry.category},
        "defaultConfiguration": {"level": _LEVEL[entry.severity]},
    }


def _result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    message = f.message + (f" Fix: {f.fix}" if f.fix else "")
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": _uri(f.source)}}}
    if f.line:
        location["physicalLocation"]["region"] = {"startLine": f.line}
    if f.object_ref or f.path:
        location["logicalLocations"] = [{"fullyQualifiedName": f"{f.object_ref}:{f.path}".strip(":"), "kind": "object"}]
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index[f.rule_id],
        "level": _LEVEL[f.severity],
        "message": {"text": message},
        "locations": [location],
        "properties": {"document": f.index, "kind": f.kind, "namespace": f.namespace, "name": f.name, "path": f.path},
    }
    if f.waived is not None:
        result["suppressions"] = [{"kind": "inSource" if f.waived_by.startswith("annotation") else "external",
                                   "justification": f.waived}]
    return result


def render(report: Report, threshold: Severity | None) -> str:
    from testbed.policy.rules.registry import load_builtin_rules

    load_builtin_rules()
    rule_ids = sorted({f.rule_id for f in report.findings})
    rule_index = {rid: i for i, rid in enumerate(rule_ids)}
    sarif = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "testbed-policy",
                                "rules": [_rule_descriptor(r) for r in rule_ids]}},
            "results": [_result(f, rule_index) for f in report.findings],
            "properties": {"kubernetesVersion": report.k8s_version, "documents": report.documents},
        }],
    }
    return json.dumps(sarif, indent=2) + "\n"
