"""Readiness conditions (components.yaml `for` syntax) and the drift check's field comparison."""

from __future__ import annotations

from typing import Any

import pytest

from testbed.bringup.drift import DIGEST_ANNOTATION, holds, stamp
from testbed.bringup.readiness import evaluate_object
from testbed.errors import ConfigError

pytestmark = pytest.mark.unit


def deployment(ready: int, want: int = 2, available: str = "True") -> dict[str, Any]:
    return {"kind": "Deployment", "metadata": {"name": "d", "generation": 1}, "spec": {"replicas": want},
            "status": {"observedGeneration": 1, "replicas": want, "updatedReplicas": ready, "readyReplicas": ready,
                       "availableReplicas": ready, "conditions": [{"type": "Available", "status": available}]}}


@pytest.mark.parametrize("obj, condition, ready", [
    (deployment(2), "rollout", True),
    (deployment(1), "rollout", False),
    (deployment(2, available="False"), "condition=Available", False),
    (deployment(2), "condition=Available", True),
    ({"kind": "CephCluster", "metadata": {}, "status": {"ceph": {"health": "HEALTH_OK"}}}, "jsonpath={.status.ceph.health}=HEALTH_OK", True),
    ({"kind": "CephCluster", "metadata": {}, "status": {"ceph": {"health": "HEALTH_WARN"}}}, "jsonpath={.status.ceph.health}=HEALTH_OK", False),
    ({"kind": "Database", "metadata": {}, "status": {"applied": True}}, "jsonpath={.status.applied}=true", True),
    ({"kind": "Endpoints", "metadata": {}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}, "non-empty", True),
    ({"kind": "Endpoints", "metadata": {}, "subsets": []}, "non-empty", False),
    ({"kind": "StatefulSet", "metadata": {"generation": 2}, "spec": {"replicas": 1},
      "status": {"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 1}}, "rollout", False),
    ({"kind": "DaemonSet", "metadata": {"generation": 1},
      "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 3}}, "rollout", True),
])
def test_conditions(obj: dict[str, Any], condition: str, ready: bool) -> None:
    ok, detail = evaluate_object(obj, condition)
    assert ok is ready and detail


def test_unknown_condition_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown wait condition"):
        evaluate_object({"kind": "Pod", "metadata": {}}, "delete")


def test_live_objects_hold_what_was_applied_plus_defaults() -> None:
    desired = {"spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}}
    live = {"spec": {"ports": [{"port": 80, "protocol": "TCP"}], "selector": {"app": "x"}, "type": "ClusterIP"}}
    assert holds(desired, live)
    assert not holds(desired, {"spec": {"ports": [{"port": 81}], "selector": {"app": "x"}}})
    assert not holds(desired, {"spec": {"ports": [], "selector": {"app": "x"}}})


def test_stamp_is_stable_and_content_sensitive() -> None:
    a = stamp({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "1"}})
    b = stamp({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "1"}})
    c = stamp({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "2"}})
    digest = a["metadata"]["annotations"][DIGEST_ANNOTATION]
    assert digest == b["metadata"]["annotations"][DIGEST_ANNOTATION] != c["metadata"]["annotations"][DIGEST_ANNOTATION]
    assert stamp(a)["metadata"]["annotations"][DIGEST_ANNOTATION] == digest  # re-stamping changes nothing
