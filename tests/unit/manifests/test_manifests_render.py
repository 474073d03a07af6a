"""Every profile x env renders, and what it renders follows the testbed's rules."""

from __future__ import annotations

import re
from typing import Any

import pytest

from testbed.manifests_gen import spec
from testbed.render import by_component
from testbed.shop.topology import ALL_SERVICES, GRPC_NAMES

pytestmark = pytest.mark.unit
Renders = dict[tuple[str, str], list[dict[str, Any]]]
SHOP_IMAGE = re.compile(r"^(harbor\.testbed\.internal/testbed|localhost/testbed)/shop-([a-z]+):([0-9a-f]{40})$")


def _kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    pod = doc["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_every_combination_renders_and_every_object_is_labelled(renders: Renders) -> None:
    for (profile, env), docs in renders.items():
        assert docs, (profile, env)
        for doc in docs:
            labels = doc["metadata"].get("labels", {})
            where = f"{profile}-{env} {doc['kind']}/{doc['metadata']['name']}"
            assert labels.get("app.kubernetes.io/name"), where
            assert labels.get("app.kubernetes.io/part-of") == "testbed", where
            assert labels.get(spec.COMPONENT_LABEL), where


def test_profiles_differ_by_platform_components(renders: Renders) -> None:
    minimal = set(by_component(renders[("minimal", "dev")]))
    full = set(by_component(renders[("full", "dev")]))
    assert minimal == {"namespaces", "shop", "postgres", "redis", "nats", "contour"}
    assert full == minimal | {"rook-ceph", "harbor", "tekton", "argocd"}


@pytest.mark.parametrize("env", spec.ENVS)
def test_shop_lives_in_the_env_namespace(renders: Renders, env: str) -> None:
    ns = f"testbed-{env}-shop"
    docs = renders[("minimal", env)]
    assert [d["metadata"]["name"] for d in _kind(docs, "Namespace")] == [ns]
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == ns, doc["metadata"]["name"]


def test_deployments_are_hardened_probed_and_sized(renders: Renders) -> None:
    for (profile, env), docs in renders.items():
        for dep in _kind(docs, "Deployment"):
            pod = dep["spec"]["template"]["spec"]
            where = f"{profile}-{env} {dep['metadata']['name']}"
            assert pod["automountServiceAccountToken"] is False, where
            assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0, where
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
            assert {"app.kubernetes.io/name", "app.kubernetes.io/part-of"} <= set(dep["spec"]["template"]["metadata"]["labels"])
            mounts = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
            assert "state" in mounts, where
            for c in _containers(dep):
                sc = c["securityContext"]
                assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0, where
                assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, where
                assert sc["capabilities"]["drop"] == ["ALL"], where
                assert sc["seccompProfile"]["type"] == "RuntimeDefault", where
                for kind in ("cpu", "memory"):
                    assert c["resources"]["requests"][kind] and c["resources"]["limits"][kind], where
                assert "readinessProbe" in c and "livenessProbe" in c, where
                if dep["metadata"]["name"] != "web":
                    assert c["readinessProbe"]["grpc"]["port"] == spec.GRPC_PORT, where
                    assert c["livenessProbe"]["grpc"]["port"] == spec.GRPC_PORT, where
                env_names = {e["name"] for e in c.get("env", [])}
                assert not any(e.get("value") and "PASSWORD" in e["name"] for e in c.get("env", [])), where
                assert env_names.isdisjoint({"SHOP_JWT_PRIVATE_KEY"}), where


def test_no_replicas_where_an_hpa_scales_and_two_or_more_elsewhere(renders: Renders) -> None:
    for (profile, env), docs in renders.items():
        scaled = {(h["metadata"].get("namespace"), h["spec"]["scaleTargetRef"]["name"])
                  for h in _kind(docs, "HorizontalPodAutoscaler")}
        for dep in _kind(docs, "Deployment"):
            key = (dep["metadata"].get("namespace"), dep["metadata"]["name"])
            if key in scaled:
                assert "replicas" not in dep["spec"], (profile, env, key)
            else:
                assert dep["spec"].get("replicas", 1) >= 2, (profile, env, key)
        for hpa in _kind(docs, "HorizontalPodAutoscaler"):
            assert hpa["spec"]["minReplicas"] >= 2, (profile, env, hpa["metadata"]["name"])
        pdbs = {p["metadata"]["name"] for p in _kind(docs, "PodDisruptionBudget")}
        assert {d["metadata"]["name"] for d in _kind(docs, "Deployment")} <= pdbs


def test_images_are_pinned_to_a_commit_never_latest(renders: Renders) -> None:
    for (profile, env), docs in renders.items():
        for dep in _kind(docs, "Deployment"):
            for c in _containers(dep):
                match = SHOP_IMAGE.match(c["image"])
                assert match, (profile, env, c["image"])
                assert match[2] == dep["metadata"]["name"]
                assert (match[1] == "localhost/testbed") == (profile == "minimal")


def test_no_secret_values_are_rendered(renders: Renders) -> None:
    for (profile, env), docs in renders.items():
        for doc in _kind(docs, "Secret"):
            assert not doc.get("data") and not doc.get("stringData"), (profile, env, doc["metadata"]["name"])


def test_service_accounts_do_not_mount_tokens(renders: Renders) -> None:
    for docs in renders.values():
        for sa in _kind(docs, "ServiceAccount"):
            if sa["metadata"].get("namespace", "").endswith("-shop"):
                assert sa["automountServiceAccountToken"] is False


def test_grpc_routes_cover_every_grpc_service_as_h2c(renders: Renders) -> None:
    proxy = next(d for d in renders[("minimal", "dev")] if d["kind"] == "HTTPProxy" and d["metadata"]["name"] == "shop-grpc")
    routed = {r["conditions"][0]["prefix"].strip("/"): r["services"][0] for r in proxy["spec"]["routes"]}
    expected = {name: svc for svc, names in GRPC_NAMES.items() for name in names}
    assert set(routed) == set(expected)
    for name, upstream in routed.items():
        assert upstream == {"name": expected[name], "port": spec.GRPC_PORT, "protocol": "h2c"}


def test_every_shop_service_has_its_objects(renders: Renders) -> None:
    docs = renders[("full", "prd")]
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceAccount",
                 "NetworkPolicy"):
        names = {d["metadata"]["name"] for d in _kind(docs, kind) if d["metadata"]["labels"].get(spec.TIER_LABEL) == "shop"}
        assert set(ALL_SERVICES) <= names, kind
    hpa = {h["metadata"]["name"]: h["spec"] for h in _kind(docs, "HorizontalPodAutoscaler")}
    assert hpa["user"]["minReplicas"] == spec.ENV_SPECS["prd"].hpa_min
