"""CustomResourceDefinitions work end to end on the sim cluster's real kube-apiserver."""

from __future__ import annotations

import pytest

from testbed.kube.api import KubeAPI

pytestmark = [pytest.mark.integration, pytest.mark.sim]


def crd_manifest(group: str) -> dict[str, object]:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"size": {"type": "integer", "minimum": 1}, "colour": {"type": "string"}},
                "required": ["size"],
            }
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}],
        },
    }


def test_crd_becomes_established_and_serves_custom_resources(sim_api: KubeAPI, sim_namespace: str) -> None:
    group = f"{sim_namespace}.testbed.io"  # CRDs are cluster-wide: one group per test
    crd = crd_manifest(group)
    sim_api.apply([crd])
    try:
        sim_api.wait_for_condition(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}", "Established", timeout_s=30
        )
        widget = {
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": {"name": "w1"},
            "spec": {"size": 3, "colour": "teal"},
        }

        sim_api.create(widget, namespace=sim_namespace)
        stored = sim_api.get(f"{group}/v1", "Widget", "w1", sim_namespace)

        assert stored is not None
        assert stored["spec"] == {"size": 3, "colour": "teal"}
        assert [w["metadata"]["name"] for w in sim_api.list(f"{group}/v1", "Widget", namespace=sim_namespace)] == ["w1"]
    finally:
        sim_api.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}")


def test_custom_resource_is_validated_against_the_crd_schema(sim_api: KubeAPI, sim_namespace: str) -> None:
    from testbed.errors import TestbedError

    group = f"{sim_namespace}.testbed.io"
    sim_api.apply([crd_manifest(group)])
    try:
        sim_api.wait_for_condition(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}", "Established", timeout_s=30
        )
        bad = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "bad"}, "spec": {"size": 0}}
        with pytest.raises(TestbedError, match="HTTP 422"):
            sim_api.create(bad, namespace=sim_namespace)
    finally:
        sim_api.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}")
