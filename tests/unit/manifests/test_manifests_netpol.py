"""The shop's NetworkPolicies are exactly the call graph of testbed/shop/topology.py."""

from __future__ import annotations

from typing import Any

import pytest

from testbed.manifests_gen import spec
from testbed.shop.topology import ALL_SERVICES, DEPENDENCIES

pytestmark = pytest.mark.unit
Renders = dict[tuple[str, str], list[dict[str, Any]]]


def _policies(renders: Renders) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d["spec"] for d in renders[("minimal", "dev")] if d["kind"] == "NetworkPolicy"}


def _shop_names(peers: list[dict[str, Any]]) -> set[str]:
    return {p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in peers
            if "namespaceSelector" not in p and p.get("podSelector", {}).get("matchLabels", {}).get(spec.TIER_LABEL)}


def test_default_deny_and_dns_cover_every_shop_pod(renders: Renders) -> None:
    policies = _policies(renders)
    deny = policies["shop-default-deny"]
    assert deny["podSelector"] == {"matchLabels": {spec.TIER_LABEL: "shop"}}
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny and "egress" not in deny
    dns = policies["shop-allow-dns"]["egress"][0]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_ingress_admits_exactly_the_callers(renders: Renders, service: str) -> None:
    policy = _policies(renders)[service]
    callers = {name for name, deps in DEPENDENCIES.items() if service in deps}
    port = spec.WEB_PORT if service == "web" else spec.GRPC_PORT
    serving = [rule for rule in policy["ingress"] if rule["ports"] == [{"protocol": "TCP", "port": port}]]
    assert len(serving) == 1
    assert _shop_names(serving[0]["from"]) == callers
    namespaces = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                  for p in serving[0]["from"] if "namespaceSelector" in p}
    assert namespaces == {spec.CONTOUR_NAMESPACE}  # web and the public gRPC routes come through Envoy
    if service != "web":
        metrics = [rule for rule in policy["ingress"] if rule is not serving[0]]
        assert metrics == [{"from": [{"namespaceSelector": {"matchLabels": {
            spec.METRICS_SCRAPER_LABEL: "true"}}}],
            "ports": [{"protocol": "TCP", "port": spec.METRICS_PORT}]}]


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_egress_reaches_exactly_the_dependencies(renders: Renders, service: str) -> None:
    policy = _policies(renders)[service]
    grpc = [rule for rule in policy["egress"] if rule["ports"] == [{"protocol": "TCP", "port": spec.GRPC_PORT}]]
    reached = set().union(*(_shop_names(rule["to"]) for rule in grpc)) if grpc else set()
    assert reached == set(DEPENDENCIES[service])
    datastores = {rule["ports"][0]["port"] for rule in policy["egress"] if rule not in grpc}
    expected = ({5432} if service in spec.DB_SERVICES else set()) | ({6379} if service in spec.REDIS_SERVICES else set()) \
        | ({4222} if service in spec.NATS_SERVICES else set())
    assert datastores == expected


def test_deps_setting_matches_the_topology(renders: Renders) -> None:
    maps = {d["metadata"]["name"]: d["data"] for d in renders[("minimal", "dev")] if d["kind"] == "ConfigMap"}
    for service in ALL_SERVICES:
        deps = maps[f"{service}-config"].get("SHOP_DEPS", "")
        assert {item.split("=")[0] for item in deps.split(",") if item} == set(DEPENDENCIES[service])
