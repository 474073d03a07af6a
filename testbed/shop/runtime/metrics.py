"""Prometheus metrics of the RPC server: count and latency per method and code."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)

RPC_TOTAL = Counter("grpc_server_handled_total", "RPCs completed, by method and status code", ["grpc_method", "grpc_code"], registry=REGISTRY)
RPC_LATENCY = Histogram(
    "grpc_server_handling_seconds",
    "RPC latency, by method and status code",
    ["grpc_method", "grpc_code"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)


def observe(method: str, code: str, seconds: float) -> None:
    RPC_TOTAL.labels(method, code).inc()
    RPC_LATENCY.labels(method, code).observe(seconds)


def serve_metrics(host: str, port: int) -> int:
    """Start the /metrics HTTP endpoint; return the bound port."""
    server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
    return int(server.server_port)
