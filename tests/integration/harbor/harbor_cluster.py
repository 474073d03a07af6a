"""The cluster side of the Harbor bootstrap tests: what the bring-up has created before the bootstrap
runs (the secrets step's Secrets, the harbor step's ConfigMap), in a test's own namespace, and
readers for what the bootstrap wrote.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from testbed.bringup.harbor import bootstrap_refs
from testbed.bringup.secrets import ensure_secrets
from testbed.kube.api import KubeAPI

PAYLOADS = Path(__file__).resolve().parents[3] / "manifests" / "components" / "harbor"


def prepare(api: KubeAPI, namespace: str) -> list[dict[str, str]]:
    """The cluster as the bring-up leaves it before the bootstrap; the refs, all in `namespace`."""
    refs = [{**r, "namespace": namespace} for r in bootstrap_refs(namespace)]
    ensure_secrets(api, [{"namespace": namespace, "name": n} for n in ("harbor-admin", "harbor-robot-ci", "harbor-pull", "harbor-ca")])
    api.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "harbor-bootstrap", "namespace": namespace},
                "data": {f.name: f.read_text() for f in sorted(PAYLOADS.glob("*.json"))}}])
    return refs


def secret(api: KubeAPI, namespace: str, name: str) -> dict[str, Any]:
    obj = api.get("v1", "Secret", name, namespace)
    assert obj is not None, f"Secret {namespace}/{name} missing"
    return {"type": obj["type"], "annotations": obj["metadata"].get("annotations") or {},
            **{k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}}


def auths(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(data[".dockerconfigjson"])["auths"]


def robot_secret_of(state: Any, name: str) -> str:
    return next(r["secret"] for r in state.robots.values() if r["name"] == name)
