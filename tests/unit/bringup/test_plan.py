"""The bring-up plan from manifests/components.yaml, the rendered overlays and the stand-in bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from testbed.bringup.bundle import load_bundle
from testbed.bringup.drift import DIGEST_ANNOTATION
from testbed.bringup.plan import MANAGED_LABEL, PLAN_FILE, build_plan, load_plan
from testbed.bringup.standin import write_stand_in_bundle
from testbed.errors import ConfigError

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("bundle")
    write_stand_in_bundle(root)
    return load_bundle(root)


_RENDERED: dict[str, str] = {}


def plan_for(bundle, tmp_path: Path, profile: str = "full", sim: bool = True, **kw):  # type: ignore[no-untyped-def]
    if profile not in _RENDERED:  # render each overlay once per module: kustomize is the slow part
        from testbed.render import render

        _RENDERED[profile] = render(profile, "dev", root=REPO / "manifests")
    return build_plan(bundle=bundle, manifests_root=REPO / "manifests", profile=profile, env="dev", sim=sim,
                      kubeconfig="/k", context=None, workdir=tmp_path / "plan", rendered_text=_RENDERED[profile], **kw)


def test_steps_follow_the_bringup_order(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = plan_for(bundle, tmp_path)
    names = [s.name for s in plan.steps]
    order = ["namespaces", "secrets", "crds", "sim-operators", "rook-ceph:upstream", "contour:upstream",
             "harbor:upstream", "cloudnative-pg:upstream", "argocd:upstream", "postgres", "shop", "argocd:applications"]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)
    stages = [s.stage for s in plan.steps]
    known = ["namespaces", "crds", "storage", "ingress", "registry", "operators", "instances", "shop"]
    assert [known.index(s) for s in stages] == sorted(known.index(s) for s in stages)


def test_minimal_profile_leaves_out_full_only_components(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    names = {s.component for s in plan_for(bundle, tmp_path, profile="minimal").steps}
    assert {"shop", "postgres", "redis", "nats", "contour"} <= names
    assert not names & {"rook-ceph", "harbor", "tekton", "argocd"}


def test_every_document_is_labelled_and_stamped(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = plan_for(bundle, tmp_path)
    for step in plan.steps:
        if step.file:
            for doc in yaml.safe_load_all(Path(step.file).read_text()):
                assert doc["metadata"]["labels"][MANAGED_LABEL] == "testbed-bringup"
                assert DIGEST_ANNOTATION in doc["metadata"]["annotations"]


def test_one_file_per_step_no_namespace_outside_the_first(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = plan_for(bundle, tmp_path)
    for step in plan.steps[1:]:
        assert all(o["kind"] != "Namespace" for o in step.objects), step.name
    assert all(o["kind"] == "CustomResourceDefinition" for o in next(s for s in plan.steps if s.name == "crds").objects)


def test_operator_checks_are_simulated_on_sim_only(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = plan_for(bundle, tmp_path / "a")
    kube = plan_for(bundle, tmp_path / "b", sim=False)
    ceph = [w for s in sim.steps for w in s.waits if w["kind"] == "CephCluster"]
    assert ceph and all(w["simulated"] for w in ceph)
    assert not any(w["simulated"] for s in kube.steps for w in s.waits)
    assert sim.sim_stages and kube.sim_stages is None
    assert not any(s.role == "sim_operators" for s in kube.steps)


def test_operator_created_workloads_are_checked_through_their_instance_on_sim(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = plan_for(bundle, tmp_path / "a")
    kube = plan_for(bundle, tmp_path / "b", sim=False)
    redis_sim = next(s for s in sim.steps if s.name == "redis").waits
    redis_kube = next(s for s in kube.steps if s.name == "redis").waits
    assert redis_kube[0]["kind"] == "StatefulSet"
    assert redis_sim[0]["kind"] == "Redis" and redis_sim[0]["simulated"] and "operator-created" in redis_sim[0]["stands_for"]


def test_application_waits_come_after_the_shop(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = plan_for(bundle, tmp_path)
    assert plan.steps[-1].name == "argocd:applications"
    assert {w["kind"] for w in plan.steps[-1].waits} == {"Application"}


def test_secrets_are_named_never_valued(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = plan_for(bundle, tmp_path)
    wanted = next(s for s in plan.steps if s.name == "secrets").secrets
    names = {f"{w['namespace']}/{w['name']}" for w in wanted}
    assert {"testbed-dev-shop/shop-jwt", "testbed-dev-shop/shop-postgres-app", "testbed-ci/gitops-webhook",
            "testbed-ci/harbor-robot-ci", "testbed-dev-shop/harbor-pull"} <= names
    text = (tmp_path / "plan" / PLAN_FILE).read_text()
    assert "PRIVATE KEY" not in text and "password" not in text
    minimal = next(s for s in plan_for(bundle, tmp_path / "m", profile="minimal").steps if s.name == "secrets").secrets
    assert "harbor-pull" not in {w["name"] for w in minimal}


def test_timeout_cap_applies_to_every_wait(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = plan_for(bundle, tmp_path, timeout_cap_s=5.0)
    assert max(w["timeout_s"] for s in plan.steps for w in s.waits) == 5.0


def test_plan_round_trips_through_json(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = plan_for(bundle, tmp_path)
    again = load_plan(tmp_path / "plan" / PLAN_FILE)
    assert [s.name for s in again.steps] == [s.name for s in plan.steps]
    assert json.loads((tmp_path / "plan" / PLAN_FILE).read_text())["sim"] is True


def test_missing_upstream_in_bundle_is_a_config_error(tmp_path: Path) -> None:
    write_stand_in_bundle(tmp_path / "b")
    manifest = tmp_path / "b" / "bundle.yaml"
    doc = yaml.safe_load(manifest.read_text())
    doc["upstream"] = [u for u in doc["upstream"] if u["name"] != "contour"]
    manifest.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="no upstream component 'contour'"):
        plan_for(load_bundle(tmp_path / "b"), tmp_path, profile="minimal")
