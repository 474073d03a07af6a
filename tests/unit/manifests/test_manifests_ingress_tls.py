"""Every shop HTTPProxy of every profile x env serves TLS from the generated Secret, for its own fqdn."""

from __future__ import annotations

from typing import Any

import pytest
from manifests_helpers import COMBOS

from testbed.bringup.plan import tls_secrets
from testbed.manifests_gen.spec import ENV_SPECS, INGRESS_TLS_SECRET

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("profile", "env"), COMBOS)
def test_shop_httpproxies_terminate_tls_with_the_generated_secret(renders: dict[tuple[str, str], list[dict[str, Any]]],
                                                                   profile: str, env: str) -> None:
    contour = [d for d in renders[(profile, env)]
               if d["kind"] == "HTTPProxy" and d["metadata"]["labels"].get("testbed.io/component") == "contour"]
    assert {d["metadata"]["name"] for d in contour} == {"shop-web", "shop-grpc"}
    for proxy in contour:
        assert proxy["spec"]["virtualhost"]["tls"] == {"secretName": INGRESS_TLS_SECRET}
    grpc = next(d for d in contour if d["metadata"]["name"] == "shop-grpc")
    assert {s["protocol"] for r in grpc["spec"]["routes"] for s in r["services"]} == {"h2c"}  # upstreams stay h2c
    spec = ENV_SPECS[env]
    [wanted] = tls_secrets(contour)
    assert (wanted["namespace"], wanted["name"]) == (spec.shop_namespace, INGRESS_TLS_SECRET)
    assert sorted(wanted["hosts"]) == sorted([spec.host("shop"), spec.host("grpc")])
