"""One way to name an object in logs and errors: "Kind ns/name", "Kind name" when cluster-scoped."""

from __future__ import annotations

import pytest

from testbed.kube.objects import manifest_label, object_label, ref_label

pytestmark = pytest.mark.unit


def test_namespaced_and_cluster_scoped() -> None:
    assert object_label("Deployment", "web", "shop") == "Deployment shop/web"
    assert object_label("ClusterRole", "reader") == "ClusterRole reader"
    assert object_label("ClusterRole", "reader", "") == "ClusterRole reader"


def test_a_ref_by_selector_shows_the_selector() -> None:
    assert ref_label({"kind": "Pod", "namespace": "shop", "selector": "app=web"}) == "Pod shop/[app=web]"
    assert ref_label({"kind": "Node", "selector": "role=x"}) == "Node [role=x]"
    assert ref_label({"kind": "Deployment", "namespace": "shop", "name": "web", "selector": "ignored"}) == "Deployment shop/web"


def test_a_manifest_is_named_from_its_metadata() -> None:
    assert manifest_label({"kind": "Service", "metadata": {"name": "api", "namespace": "shop"}}) == "Service shop/api"
    assert manifest_label({"kind": "Namespace", "metadata": {"name": "shop"}}) == "Namespace shop"
