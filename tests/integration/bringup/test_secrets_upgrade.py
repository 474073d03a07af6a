"""Secrets written by an older testbed are brought up to today's keys without changing their values."""

from __future__ import annotations

import base64

import pytest

from testbed.bringup.secrets import ensure_secrets
from testbed.kube.api import KubeAPI

pytestmark = [pytest.mark.integration, pytest.mark.sim]


def test_old_harbor_admin_gets_the_key_the_chart_reads(sim_api: KubeAPI, sim_namespace: str) -> None:
    old = base64.b64encode(b"the-old-password").decode()
    sim_api.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {"password": old},
                    "metadata": {"name": "harbor-admin", "namespace": sim_namespace}})
    wanted = [{"name": "harbor-admin", "namespace": sim_namespace}]

    assert ensure_secrets(sim_api, wanted) == [f"{sim_namespace}/harbor-admin (key added)"]
    data = sim_api.get("v1", "Secret", "harbor-admin", sim_namespace)["data"]
    assert data["HARBOR_ADMIN_PASSWORD"] == old and data["password"] == old  # same password, Harbor's own key

    assert ensure_secrets(sim_api, wanted) == []  # a re-run changes nothing


def test_a_current_harbor_admin_is_left_alone(sim_api: KubeAPI, sim_namespace: str) -> None:
    wanted = [{"name": "harbor-admin", "namespace": sim_namespace}]
    assert ensure_secrets(sim_api, wanted) == [f"{sim_namespace}/harbor-admin"]
    before = sim_api.get("v1", "Secret", "harbor-admin", sim_namespace)
    assert set(before["data"]) == {"HARBOR_ADMIN_PASSWORD"}
    assert ensure_secrets(sim_api, wanted) == []
    assert sim_api.get("v1", "Secret", "harbor-admin", sim_namespace)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
