"""The manifest policy checks our custom resources against the REAL upstream CRDs.

Without them, CephCluster, HTTPProxy, Application, Cluster, Pipeline, ... have no schema and
carry waived TB-SCHEMA-MISSING findings. Given the CRDs of the pinned releases (`testbed
bundle --crds-only`), every render must have no schema finding at all for those kinds,
through `testbed policy --crd-dir` and through the policy suite ($TESTBED_POLICY_CRD_DIRS).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from upstream_bundle import REAL, REPO

from testbed.bringup.upstream import UPSTREAMS
from testbed.manifests_gen.spec import ENVS, PROFILES
from testbed.testing.sim_fixtures import require

pytestmark = [pytest.mark.integration, pytest.mark.network]
SCHEMA_RULES = {"TB-SCHEMA", "TB-SCHEMA-MISSING"}
REAL_KINDS = {k.kind for u in UPSTREAMS if u.name in REAL for k in u.kinds}


@pytest.fixture(autouse=True)
def _kubectl() -> None:
    require(shutil.which("kubectl") is not None, "kubectl (with kustomize) is required to render the overlays")


def policy_json(profile: str, env: str, *extra: str) -> list[dict[str, object]]:
    proc = subprocess.run([sys.executable, "-m", "testbed.cli.main", "policy", "--profile", profile, "--env", env,
                           "--format", "json", "--fail-on", "never", *extra], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["findings"]


def schema_findings(findings: list[dict[str, object]]) -> list[str]:
    return sorted(f"{f['kind']}/{f['name']}: {f['rule']} {f['message']}" for f in findings
                  if f["rule"] in SCHEMA_RULES and f["kind"] in REAL_KINDS)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("env", ENVS)
def test_render_has_no_schema_finding_for_real_kinds(profile: str, env: str, real_crds: Path) -> None:
    assert not schema_findings(policy_json(profile, env, "--crd-dir", str(real_crds)))


def test_without_the_crds_those_kinds_are_unchecked(real_crds: Path) -> None:
    """Control: the test above would see the difference."""
    missing = schema_findings(policy_json("full", "dev"))
    assert any("CephCluster" in m and "TB-SCHEMA-MISSING" in m for m in missing), missing
    assert any("Application/" in m for m in missing) and any("HTTPProxy/" in m for m in missing)


def test_a_wrong_field_is_a_schema_error_with_the_real_crds(real_crds: Path, tmp_path: Path) -> None:
    rendered = subprocess.run([sys.executable, "-m", "testbed.cli.main", "render", "--profile", "full", "--env", "dev"],
                              capture_output=True, text=True, timeout=120, cwd=REPO)
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] in ("CephCluster", "Cluster")]
    for doc in docs:
        doc["spec"]["storagee"] = {}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump_all(docs))
    proc = subprocess.run([sys.executable, "-m", "testbed.cli.main", "policy", str(bad), "--crd-dir", str(real_crds),
                           "--format", "json", "--skip", "rules"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 1, proc.stderr
    found = {(f["kind"], f["path"]) for f in json.loads(proc.stdout)["findings"] if f["rule"] == "TB-SCHEMA"}
    assert found == {("CephCluster", "spec.storagee"), ("Cluster", "spec.storagee")}


def test_policy_suite_uses_the_real_crds(real_crds: Path, tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    env = {**os.environ, "TESTBED_POLICY_CRD_DIRS": str(real_crds), "TESTBED_ARTIFACTS_DIR": str(artifacts),
           "TESTBED_MANIFESTS": str(REPO / "manifests")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-m", "policy",
                           str(REPO / "suites" / "policy")], capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:]
    reports = sorted((artifacts / "policy").glob("*.json"))
    assert len(reports) == len(PROFILES) * len(ENVS)
    for report in reports:
        assert not schema_findings(json.loads(report.read_text())["findings"]), report.name
