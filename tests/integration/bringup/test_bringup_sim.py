"""Full bring-up of the testbed on the sim cluster, through the real code path: stand-in bundle
-> plan -> playbooks (ansible-runner, kubernetes.core server-side apply) -> waits -> teardown.

One file, run in order on one worker (CI runs with --dist loadfile): the bring-up is shared by
the checks after it, and teardown runs before the scenarios that need a clean cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.bringup.plan import MANAGED_LABEL, MANAGED_VALUE
from testbed.bringup.readiness import evaluate
from testbed.bringup.standin import write_stand_in_bundle
from testbed.config import load_config
from testbed.errors import ProvisioningFailed, TestbedError
from testbed.kube.api import KubeAPI
from testbed.sim.binaries import locate
from testbed.targets.sim import SimTarget

pytestmark = [pytest.mark.integration, pytest.mark.sim]
PROFILES = ("minimal", "full")
ENVS = ("dev", "stg", "prd")


def sim_target(cluster: Any, root: Path, **kube: Any) -> SimTarget:
    flags = {"target": "sim", "state_dir": str(root / "state"), "reports_dir": str(root / "reports"),
             "kube": {"sim_cluster": cluster.name, "profile": "full", "env": "dev", **kube}}
    return SimTarget(load_config(Path(os.devnull), flags=flags, environ={}))


@pytest.fixture(scope="module")
def runs(sim_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Bring the full profile up, then run it again; the target and both records, torn down at the end."""
    root = tmp_path_factory.mktemp("bringup")
    target = sim_target(sim_cluster, root)
    start = time.monotonic()
    target.up()
    first = (target.last_record, time.monotonic() - start)
    start = time.monotonic()
    target.up()
    second = (target.last_record, time.monotonic() - start)
    state = {"target": target, "first": first, "second": second, "root": root}
    try:
        yield state
    finally:
        if not state.get("down"):
            target.down()


def test_full_profile_reaches_all_ready(runs: dict[str, Any], sim_api: KubeAPI) -> None:
    record, elapsed = runs["first"]
    assert record.status == "successful" and record.failure is None
    plan = runs["target"].session().saved_plan()
    assert plan is not None
    not_ready = [f"{t.ref}: {t.detail}" for step in plan.steps for w in step.waits for t in evaluate(sim_api, w) if not t.ready]
    assert not not_ready
    steps = [s.step for s in record.steps.values()]
    for stage_order in (["crds", "rook-ceph", "contour:upstream", "harbor:upstream", "cloudnative-pg:upstream",
                         "postgres", "shop", "argocd:applications"],):
        positions = [steps.index(s) for s in stage_order]
        assert positions == sorted(positions), steps
    simulated = [c for s in record.steps.values() for c in s.simulated]
    assert any("CephCluster" in c for c in simulated) and any("Application" in c for c in simulated)


def test_record_and_artifacts_in_the_run_bundle(runs: dict[str, Any]) -> None:
    reports = runs["root"] / "reports"
    records = sorted(reports.glob("*/bringup/bringup.json"))
    assert len(records) == 2
    first = yaml.safe_load(records[0].read_text())
    assert first["status"] == "successful" and first["changed"] > 0
    assert all(s["result"] == "ok" and s["duration_s"] >= 0 for s in first["steps"])
    assert list((records[0].parent / "runner" / "artifacts").glob("*/job_events/*.json"))


def test_second_run_changes_nothing_and_is_fast(runs: dict[str, Any], record_property: Any) -> None:
    (first, first_s), (second, second_s) = runs["first"], runs["second"]
    assert second.status == "successful"
    assert second.changed == 0, [s.step for s in second.steps.values() if s.changed]
    ratio = second_s / first_s
    record_property("rerun_ratio", f"{ratio:.3f}")
    assert ratio <= 0.25, f"re-run took {second_s:.1f}s, {ratio:.0%} of the first run ({first_s:.1f}s)"


def test_status_reports_every_component_ready(runs: dict[str, Any]) -> None:
    status = runs["target"].status()
    assert status.healthy, [s for s in status.services if not s.healthy]
    assert any("(simulated)" in s.detail for s in status.services)
    assert runs["target"].endpoints().simulated


def test_cluster_suite_passes_and_marks_simulated(runs: dict[str, Any], sim_cluster: Any, tmp_path: Path) -> None:
    env = {**os.environ, "TESTBED_TARGET": "sim", "TESTBED_KUBE__SIM_CLUSTER": sim_cluster.name,
           "TESTBED_KUBE__PROFILE": "full", "TESTBED_STATE_DIR": str(runs["root"] / "state")}
    junit = tmp_path / "cluster.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
                           f"--junitxml={junit}", "suites/cluster"], env=env, capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[3])
    assert proc.returncode == 0, proc.stdout[-3000:]
    text = junit.read_text()
    assert 'name="simulated"' in text and "CephCluster" in text


def test_teardown_leaves_no_testbed_object(runs: dict[str, Any], sim_api: KubeAPI) -> None:
    target = runs["target"]
    plan = target.session().saved_plan()
    assert plan is not None
    # an instance whose operator would never remove its finalizer: teardown must still finish
    sim_api.patch("postgresql.cnpg.io/v1", "Cluster", "shop-postgres", {"metadata": {"finalizers": ["testbed.io/test-finalizer"]}},
                  namespace="testbed-dev-shop")
    target.down()
    runs["down"] = True
    stripped = [f for s in target.last_record.steps.values() for f in s.finalizers_removed]
    assert any("shop-postgres" in f and "testbed.io/test-finalizer" in f for f in stripped)
    left = []
    for step in plan.steps:
        for ref in step.objects:
            try:
                if sim_api.get(ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace")) is not None:
                    left.append(f"{ref['kind']} {ref.get('namespace')}/{ref['name']}")
            except TestbedError as err:  # a kind no longer served: its objects are gone with its CRD
                assert "serves no kind" in err.message
    assert not left
    labelled = sim_api.list("v1", "Namespace", label_selector=f"{MANAGED_LABEL}={MANAGED_VALUE}")
    assert not labelled
    assert not [n for n in plan.namespaces() if sim_api.get("v1", "Namespace", n)]
    assert target.session().saved_plan() is None


def test_never_ready_component_fails_in_time_with_diagnosis(runs: dict[str, Any], sim_cluster: Any, tmp_path: Path) -> None:
    assert runs.get("down"), "runs after teardown"
    bundle = tmp_path / "bundle"
    write_stand_in_bundle(bundle)
    install = bundle / "cloudnative-pg" / "install.yaml"
    docs = list(yaml.safe_load_all(install.read_text()))
    for doc in docs:
        if doc["kind"] == "Deployment":
            doc["spec"]["template"]["spec"]["nodeSelector"] = {"testbed.io/no-such-node": "anywhere"}
    install.write_text(yaml.safe_dump_all(docs))
    cap = 8.0
    target = sim_target(sim_cluster, tmp_path, profile="minimal", bundle=str(bundle), wait_timeout_cap_s=cap)
    start = time.monotonic()
    try:
        with pytest.raises(ProvisioningFailed) as failed:
            target.up()
        elapsed = time.monotonic() - start
        err = failed.value
        assert err.component == "cloudnative-pg"
        assert "Deployment cnpg-system/cnpg-controller-manager" in err.message
        assert "conditions:" in err.diagnosis and "Available=False" in err.diagnosis
        assert "FailedScheduling" in err.diagnosis  # recent events of the failing pod
        assert "pod cnpg-system/cnpg-controller-manager-" in err.diagnosis
        assert "log" in err.diagnosis
        step = next(s for s in target.last_record.steps.values() if s.step == "cloudnative-pg:upstream")
        assert step.result == "failed" and step.duration_s <= cap + 10
        assert elapsed < 120
    finally:
        target.down()


@pytest.mark.parametrize("profile", PROFILES)
def test_render_passes_server_dry_run(profile: str, sim_cluster: Any, sim_api: KubeAPI, tmp_path: Path) -> None:
    """`testbed render` of every env passes `kubectl apply --dry-run=server` with the stand-in CRDs applied."""
    repo = Path(__file__).resolve().parents[3]
    bundle = tmp_path / "bundle"
    write_stand_in_bundle(bundle)
    kubectl = [str(locate()["kubectl"]), "--kubeconfig", str(sim_cluster.kubeconfig)]
    crds = [str(p) for p in bundle.glob("*/crds.yaml")]
    subprocess.run([*kubectl, "apply", "--server-side", *sum((["-f", c] for c in crds), [])], check=True,
                   capture_output=True, timeout=60)
    subprocess.run([*kubectl, "wait", "--for=condition=Established", "--timeout=60s", *sum((["-f", c] for c in crds), [])], check=True,
                   capture_output=True, timeout=70)
    created: list[str] = []
    try:
        for env in ENVS:
            rendered = subprocess.run([sys.executable, "-m", "testbed.cli.main", "render", "--profile", profile, "--env", env],
                                      capture_output=True, text=True, timeout=120, cwd=repo)
            assert rendered.returncode == 0, rendered.stderr
            manifest = tmp_path / f"{profile}-{env}.yaml"
            manifest.write_text(rendered.stdout)
            # namespaced objects need their namespace to exist for a server-side dry run (upstream
            # namespaces such as rook-ceph come from the bundle, which bring-up applies first)
            docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
            namespaces = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
            namespaces |= {d["metadata"]["namespace"] for d in docs if d["metadata"].get("namespace")}
            for ns in sorted(namespaces):
                if sim_api.get("v1", "Namespace", ns) is None:
                    sim_api.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}])
                    created.append(ns)
            proc = subprocess.run([*kubectl, "apply", "--dry-run=server", "--server-side", "-f", str(manifest)],
                                  capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, f"{profile}-{env}: {proc.stderr[-2000:]}"
    finally:
        for name in created:
            sim_api.delete("v1", "Namespace", name)
        for name in created:  # the next profile's dry run needs them gone, not terminating
            sim_api.wait_until_gone("v1", "Namespace", name, timeout_s=90)
        # wait for the CRDs to be gone: the next profile re-applies them, and a CRD that is still
        # terminating then never becomes Established (seen as a flaky `kubectl wait` failure)
        subprocess.run([*kubectl, "delete", "--wait=true", "--timeout=90s", "--ignore-not-found", *sum((["-f", c] for c in crds), [])],
                       capture_output=True, timeout=120)
