"""Our strict schema verdicts agree with kubeconform (built from its Go module) on the same schemas."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from gotools import require_tool

from testbed.policy.engine import check_paths
from testbed.policy.schema_export import export_standalone
from testbed.policy.settings import PolicySettings

pytestmark = [pytest.mark.integration, pytest.mark.gotools]

CORPUS = Path(__file__).resolve().parents[2] / "corpora" / "policy"


def test_schema_verdicts_match_kubeconform(tmp_path: Path) -> None:
    kubeconform = require_tool("kubeconform")
    docs = [d for p in sorted((CORPUS / "good").glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]
    broken = [json.loads(json.dumps(d)) for d in docs[:4]]
    broken[0]["spec"]["template"]["spec"]["containers"][0]["imagePullPolic"] = "Always"  # unknown field
    broken[1]["spec"]["maxReplicas"] = "five"  # wrong type
    del broken[2]["spec"]["selector"]  # PDB selector is optional: still valid
    broken[3]["spec"]["ports"][0]["port"] = "http"  # wrong type
    for i, d in enumerate(broken):
        d["metadata"]["name"] = f"broken-{i}"
    render = tmp_path / "render.yaml"
    render.write_text(yaml.safe_dump_all(docs + broken))
    location = export_standalone(((d["apiVersion"], d["kind"]) for d in docs), tmp_path / "schemas", "1.33")
    proc = subprocess.run([kubeconform, "-strict", "-verbose", "-output", "json", "-kubernetes-version", "1.33.0",
                           "-schema-location", location, str(render)], capture_output=True, text=True, timeout=120,
                          check=False)
    resources = json.loads(proc.stdout)["resources"]
    assert len(resources) == len(docs) + len(broken)
    assert all(r["status"] in ("statusValid", "statusInvalid") for r in resources)
    theirs = {(r["kind"], r["name"]): r["status"] == "statusInvalid" for r in resources}
    report = check_paths([render], PolicySettings(k8s_version="1.33"))
    ours = {key: False for key in theirs}
    for f in report.findings:
        if f.rule_id == "TB-SCHEMA":
            ours[(f.kind, f.name)] = True
    assert ours == theirs
    invalid = sorted(name for (_, name), bad in theirs.items() if bad)
    assert invalid == ["broken-0", "broken-1", "broken-3"]
