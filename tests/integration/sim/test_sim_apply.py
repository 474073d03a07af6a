"""Server-side apply of a multi-document manifest, and that re-applying changes nothing."""

from __future__ import annotations

import pytest

from testbed.kube.api import KubeAPI

pytestmark = [pytest.mark.integration, pytest.mark.sim]

MANIFEST = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: {mode}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {{app: web}}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: main
        image: registry.k8s.io/pause:3.10
"""


def test_multi_document_manifest_applies_and_reapplying_changes_nothing(sim_api: KubeAPI, sim_namespace: str) -> None:
    first = sim_api.apply_manifest(MANIFEST.format(mode="fast"), namespace=sim_namespace)
    again = sim_api.apply_manifest(MANIFEST.format(mode="fast"), namespace=sim_namespace)
    edited = sim_api.apply_manifest(MANIFEST.format(mode="safe"), namespace=sim_namespace)

    assert [(a.kind, a.name, a.changed) for a in first] == [
        ("ConfigMap", "settings", True),
        ("Service", "web", True),
        ("Deployment", "web", True),
    ]
    assert [a.changed for a in again] == [False, False, False]
    assert [a.changed for a in edited] == [True, False, False]
    stored = sim_api.get("v1", "ConfigMap", "settings", sim_namespace)
    assert stored is not None and stored["data"] == {"mode": "safe"}
    managers = {m["manager"] for m in stored["metadata"]["managedFields"]}
    assert "testbed" in managers and all(m["operation"] == "Apply" for m in stored["metadata"]["managedFields"])
