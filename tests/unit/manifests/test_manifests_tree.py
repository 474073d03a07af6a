"""The committed manifests/ tree: generated files up to date, plan and versions consistent, CI and CD shape."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from manifests_helpers import MANIFESTS

from testbed.manifests_gen import spec
from testbed.manifests_gen.__main__ import drift, main
from testbed.manifests_gen.ci import BOT_COMMIT_PREFIX, BOT_LOGIN, cel_filter
from testbed.manifests_gen.layout import generate, seeds
from testbed.shop.topology import ALL_SERVICES

pytestmark = pytest.mark.unit
Renders = dict[tuple[str, str], list[dict[str, Any]]]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_generated_files_are_committed_and_current() -> None:
    assert drift(MANIFESTS) == [], "run: python -m testbed.manifests_gen"


def test_generator_writes_seeds_once_and_check_reports_drift(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    seed = tmp_path / "envs/dev/images/kustomization.yaml"
    seed.write_text(seed.read_text().replace(spec.PLACEHOLDER_TAG, "a" * 40))
    assert main([str(tmp_path)]) == 0 and "a" * 40 in seed.read_text()  # the bot's tags survive
    shop_file = tmp_path / "components/shop/user/resources.yaml"
    shop_file.write_text(shop_file.read_text() + "# edited\n")
    assert main(["--check", str(tmp_path)]) == 1


def test_image_seeds_name_every_service_with_a_commit_tag() -> None:
    for rel in seeds():
        doc = _load(MANIFESTS / rel)
        assert {i["name"] for i in doc["images"]} == {spec.image_name(s) for s in ALL_SERVICES}
        for image in doc["images"]:
            assert re.fullmatch(r"[0-9a-f]{40}", str(image["newTag"])), image


def test_no_secret_values_anywhere_in_the_tree() -> None:
    for path in sorted(MANIFESTS.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "Secret":
                assert not doc.get("data") and not doc.get("stringData"), path


def test_versions_pin_everything_and_never_invent_checksums() -> None:
    versions = _load(MANIFESTS / "upstream/versions.yaml")
    names = set()
    for comp in versions["components"]:
        names.add(comp["name"])
        assert comp["version"] and comp["install"] in ("manifests", "helm"), comp["name"]
        artifacts = comp["manifests"] if comp["install"] == "manifests" else [comp["helm"]]
        for artifact in artifacts:
            assert artifact["sha256"] == "unverified" or re.fullmatch(r"[0-9a-f]{64}", artifact["sha256"])
        for url in (a.get("url", a.get("repo")) for a in artifacts):
            assert url.startswith("https://") and "latest" not in url, url
        for image in comp.get("images", []):
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image
    plan = _load(MANIFESTS / "components.yaml")
    for comp in plan["components"]:
        upstream = comp.get("upstream", [])
        for key in [upstream] if isinstance(upstream, str) else upstream:
            assert key in names, key


def test_plan_matches_what_each_profile_renders(renders: Renders) -> None:
    plan = _load(MANIFESTS / "components.yaml")
    for profile, env in renders:
        rendered = {d["metadata"]["labels"][spec.COMPONENT_LABEL] for d in renders[(profile, env)]}
        planned = {c["rendered"] for c in plan["components"] if profile in c["profiles"] and c.get("rendered")}
        assert rendered == planned, (profile, env)
    stages = plan["stages"]
    for comp in plan["components"]:
        for key in ("stage", "rendered_stage"):
            assert key not in comp or comp[key] in stages, comp["name"]


def test_tekton_uses_v1_apis_only_and_one_filtered_trigger_per_service(renders: Renders) -> None:
    docs = [d for d in renders[("full", "dev")] if d["metadata"]["labels"][spec.COMPONENT_LABEL] == "tekton"]
    kinds = {d["kind"]: d["apiVersion"] for d in docs}
    assert kinds["Pipeline"] == "tekton.dev/v1"
    assert not {"PipelineResource", "Condition", "ClusterTask"} & set(kinds)
    pipeline = next(d for d in docs if d["kind"] == "Pipeline")
    order = [t["name"] for t in pipeline["spec"]["tasks"]]
    assert order == ["fetch", "test", "build-push", "scan-gate", "manifest-pr"]
    template = next(d for d in docs if d["kind"] == "TriggerTemplate")
    assert template["spec"]["resourcetemplates"][0]["apiVersion"] == "tekton.dev/v1"
    listener = next(d for d in docs if d["kind"] == "EventListener")
    assert [t["name"] for t in listener["spec"]["triggers"]] == [f"build-{s}" for s in ALL_SERVICES]
    for service in ALL_SERVICES:
        text = cel_filter(service)
        assert f"body.sender.login != '{BOT_LOGIN}'" in text and BOT_COMMIT_PREFIX in text
    assert "testbed/shop/services/cart" in cel_filter("cart") and "testbed/shop/web/" in cel_filter("web")


def test_app_of_apps_has_one_synced_app_per_component_and_service(renders: Renders) -> None:
    for env in spec.ENVS:
        apps = [d for d in renders[("full", env)] if d["kind"] == "Application"]
        names = {a["metadata"]["name"] for a in apps}
        expected = {f"{env}-{n}" for n in ("root", "rook-ceph", "contour", "harbor", "tekton", "postgres", "redis", "nats")}
        expected |= {f"{env}-shop-{s}" for s in ("common", *ALL_SERVICES)}
        assert names == expected
        for app in apps:
            assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
            assert app["spec"]["source"]["targetRevision"] == env
            path = app["spec"]["source"]["path"]
            assert (MANIFESTS.parent / path / "kustomization.yaml").is_file(), path


def test_every_application_path_builds_on_its_own(renders: Renders) -> None:
    paths = {a["spec"]["source"]["path"] for docs in renders.values() for a in docs if a["kind"] == "Application"}
    for path in sorted(paths):
        proc = subprocess.run(["kubectl", "kustomize", str(MANIFESTS.parent / path)], capture_output=True, text=True,
                              timeout=60, check=False)
        assert proc.returncode == 0, (path, proc.stderr[-500:])


def test_every_generated_file_is_in_the_generator_output() -> None:
    generated = set(generate())
    for path in MANIFESTS.rglob("*"):
        text = path.read_text(encoding="utf-8") if path.is_file() and path.suffix == ".yaml" else ""
        if text.startswith("# Generated by"):
            assert str(path.relative_to(MANIFESTS)) in generated, path
