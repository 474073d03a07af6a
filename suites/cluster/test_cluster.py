"""Readiness of every component, one test per check of the bring-up plan."""

from __future__ import annotations

from typing import Any

import pytest

from testbed.bringup.readiness import evaluate


def _check(request: pytest.FixtureRequest, api: Any, cluster_check: Any) -> None:
    if cluster_check is None:
        pytest.skip("this profile has no check of this kind")
    component, wait = cluster_check
    if wait.get("simulated"):
        stands_for = wait.get("stands_for") or f"{wait['kind']} status set by a stand-in kwok Stage (no operator on sim)"
        request.node.user_properties.append(("simulated", stands_for))
    bad = [t for t in evaluate(api, wait) if not t.ready]
    assert not bad, f"{component}: " + "; ".join(f"{t.ref}: {t.detail}" for t in bad)


def test_namespaces(request: pytest.FixtureRequest, cluster_api: Any, cluster_check: Any) -> None:
    _check(request, cluster_api, cluster_check)


def test_crds(request: pytest.FixtureRequest, cluster_api: Any, cluster_check: Any) -> None:
    """CRDs Established."""
    _check(request, cluster_api, cluster_check)


def test_operators(request: pytest.FixtureRequest, cluster_api: Any, cluster_check: Any) -> None:
    """Operators and platform controllers Available."""
    _check(request, cluster_api, cluster_check)


def test_instances(request: pytest.FixtureRequest, cluster_api: Any, cluster_check: Any) -> None:
    """CephCluster HEALTH_OK, database clusters ready, HTTPProxies valid, EventListener ready, ..."""
    _check(request, cluster_api, cluster_check)


def test_applications(request: pytest.FixtureRequest, cluster_api: Any, cluster_check: Any) -> None:
    """ArgoCD Applications Synced and Healthy."""
    _check(request, cluster_api, cluster_check)


def test_shop(request: pytest.FixtureRequest, cluster_api: Any, cluster_check: Any) -> None:
    """Shop rollouts complete and its Services have endpoints."""
    _check(request, cluster_api, cluster_check)


def test_every_service_has_endpoints(cluster_api: Any, testbed_namespaces: list[str]) -> None:
    empty = []
    for ns in testbed_namespaces:
        for svc in cluster_api.list("v1", "Service", namespace=ns):
            if not (svc.get("spec") or {}).get("selector"):
                continue  # endpoints managed by something else (none in the testbed)
            name = svc["metadata"]["name"]
            ep = cluster_api.get("v1", "Endpoints", name, ns)
            if not ep or not any(s.get("addresses") for s in ep.get("subsets") or []):
                empty.append(f"{ns}/{name}")
    assert not empty, f"Services without ready endpoints: {', '.join(empty)}"
