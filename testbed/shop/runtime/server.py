"""Serve one shop service: health, reflection, metrics, background workers, graceful drain.

On SIGTERM (or SIGINT) the health status turns NOT_SERVING, background workers stop,
the server stops accepting new RPCs and gives in-flight ones `grace_s` to finish; then
the process exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from testbed.errors import ConfigError
from testbed.shop.runtime import clients, jsonlog, metrics, reflection
from testbed.shop.runtime.interceptor import ShopServerInterceptor
from testbed.shop.runtime.settings import ServiceSettings


class BackgroundWorker(Protocol):
    """Something a service runs beside its RPCs (event consumers, relays)."""

    def start(self) -> None: ...

    def stop(self, timeout_s: float) -> None: ...


@dataclass
class ServiceDefinition:
    """What a service module hands to `serve`."""

    register: Callable[[grpc.Server], None]
    service_names: Sequence[str]
    workers: Sequence[BackgroundWorker] = field(default_factory=tuple)
    on_stop: Callable[[], None] | None = None


def write_ready_file(path: Path, port: int, metrics_port: int | None) -> None:
    """Atomically publish how to reach this process (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "port": port, "metrics_port": metrics_port}))
    tmp.replace(path)


def serve(settings: ServiceSettings, build: Callable[[ServiceSettings], ServiceDefinition]) -> int:
    logger = jsonlog.configure(settings.service, settings.log_level)
    definition = build(settings)
    server = grpc.server(
        ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix=f"{settings.service}-rpc"),
        interceptors=[ShopServerInterceptor(logger)],
        options=[
            ("grpc.so_reuseport", 0),  # a second server on the same port must fail, not share it
            ("grpc.max_receive_message_length", clients.MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", clients.MAX_MESSAGE_BYTES),
        ],
    )
    definition.register(server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable([*definition.service_names, health.SERVICE_NAME], server)
    address = f"{settings.host}:{settings.port}"
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:
        raise ConfigError(f"cannot listen on {address}: address in use or not available", field="port") from None
    if port == 0:
        raise ConfigError(f"cannot listen on {address}: address in use or not available", field="port")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    metrics_port = metrics.serve_metrics(settings.host, settings.metrics_port) if settings.metrics_port is not None else None
    for worker in definition.workers:
        worker.start()
    for name in ("", *definition.service_names):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    if settings.ready_file is not None:
        write_ready_file(settings.ready_file, port, metrics_port)
    jsonlog.log(logger, 20, "serving", address=f"{settings.host}:{port}", metrics_port=metrics_port, pid=os.getpid())
    stop.wait()
    jsonlog.log(logger, 20, "draining", grace_s=settings.grace_s)
    health_servicer.enter_graceful_shutdown()
    for worker in definition.workers:
        worker.stop(settings.grace_s)
    server.stop(settings.grace_s).wait()
    if definition.on_stop is not None:
        definition.on_stop()
    jsonlog.log(logger, 20, "stopped")
    return 0
