"""The environment a pod gets (ConfigMaps + env) is valid input for the shop's own settings loader."""

from __future__ import annotations

import re
from typing import Any

import pytest

from testbed.manifests_gen import spec
from testbed.shop.runtime.settings import load_settings
from testbed.shop.topology import ALL_SERVICES, DEPENDENCIES

pytestmark = pytest.mark.unit
Renders = dict[tuple[str, str], list[dict[str, Any]]]


def _pod_environment(docs: list[dict[str, Any]], service: str) -> dict[str, str]:
    """What the kubelet would give the container: envFrom ConfigMaps, then env with $(VAR) expanded."""
    maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    dep = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == service)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    environ: dict[str, str] = {}
    for source in container["envFrom"]:
        environ.update(maps[source["configMapRef"]["name"]])
    for var in container.get("env", []):
        if "valueFrom" in var:
            ref = var["valueFrom"]["secretKeyRef"]
            environ[var["name"]] = f"secret-{ref['name']}-{ref['key']}".replace(".", "-")
        else:
            environ[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: environ[m[1]], var["value"])
    return environ


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_pod_environment_loads_as_shop_settings(renders: Renders, service: str) -> None:
    environ = _pod_environment(renders[("full", "prd")], service)
    settings = load_settings(service, {}, environ)
    assert settings.host == "0.0.0.0"
    assert settings.port == (spec.WEB_PORT if service == "web" else spec.GRPC_PORT)
    assert str(settings.state_dir) == spec.STATE_DIR
    assert settings.log_level == "INFO"
    assert settings.deps == {dep: f"{dep}:{spec.GRPC_PORT}" for dep in DEPENDENCIES[service]}
    if service in spec.DB_SERVICES:
        assert settings.database_url == (f"postgresql+psycopg://secret-shop-postgres-app-username@"
                                         f"{spec.POSTGRES_RW_SERVICE}:5432/{service}")
    else:
        assert settings.database_url is None
    assert (settings.redis_url is not None) == (service in spec.REDIS_SERVICES)
    assert (settings.nats_url is not None) == (service in spec.NATS_SERVICES)
    assert (settings.metrics_port == spec.METRICS_PORT) == (service != "web")
    if service == "user":
        assert str(settings.jwt_private_key_file) == f"{spec.JWT_DIR}/private.pem"
    elif service != "web":
        assert str(settings.jwt_public_key_file) == f"{spec.JWT_DIR}/public.pem"


def test_dev_logs_at_debug(renders: Renders) -> None:
    environ = _pod_environment(renders[("minimal", "dev")], "cart")
    assert load_settings("cart", {}, environ).log_level == "DEBUG"
