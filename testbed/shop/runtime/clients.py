"""Outgoing gRPC channels: deadlines on every call, retries only where a call is idempotent.

Retries use gRPC's own retry machinery (service config `retryPolicy`), which applies
exponential backoff with jitter. Channels reconnect with a short backoff so a restarted
dependency is picked up within about a second.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import grpc

from testbed.shop.runtime import context

DEFAULT_DEADLINE_S = 5.0
MAX_MESSAGE_BYTES = 4 * 1024 * 1024

MAX_ATTEMPTS = 4  # per call of an idempotent method, the first attempt included

_RETRY_POLICY = {
    "maxAttempts": MAX_ATTEMPTS,
    "initialBackoff": "0.05s",
    "maxBackoff": "0.5s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
}

# Methods that are safe to repeat. Everything else is attempted once (gRPC still retries
# transparently when a request never left the client, which is always safe).
IDEMPOTENT_METHODS: dict[str, tuple[str, ...]] = {
    "testbed.shop.v1.UserService": ("GetUser", "GetJwks", "Authenticate"),
    "testbed.shop.v1.ProductService": ("GetProduct", "ListProducts", "GetImage", "UpdateProduct"),
    "testbed.shop.v1.CartService": ("GetCart",),
    # CreateOrder is idempotent by contract: it is keyed by idempotency_key.
    "testbed.shop.v1.OrderService": ("GetOrder", "ListOrders", "CreateOrder"),
    "testbed.shop.v1.PaymentInfoService": ("GetPaymentInfo", "ListPaymentInfos"),
    "testbed.shop.v1.PointService": ("GetBalance", "ListHistory"),
    "testbed.shop.v1.DeliveryStatusService": ("GetDelivery", "ListDeliveries"),
    "testbed.shop.v1.CommentService": ("GetComment", "ListComments"),
    "testbed.shop.v1.RateService": ("GetProductRating", "ListRatings", "RateProduct"),
    "testbed.shop.v1.EventFeed": ("Fetch",),
    "grpc.health.v1.Health": ("Check",),
}


def service_config() -> str:
    names = [{"service": svc, "method": m} for svc, methods in IDEMPOTENT_METHODS.items() for m in methods]
    return json.dumps({"methodConfig": [{"name": names, "retryPolicy": _RETRY_POLICY}]})


def channel_options() -> list[tuple[str, Any]]:
    return [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config()),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.keepalive_time_ms", 30_000),
    ]


class _Propagate(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor, grpc.StreamUnaryClientInterceptor):
    """Adds the request id and end-user token, and a default deadline, to every call."""

    def __init__(self, default_deadline_s: float) -> None:
        self._deadline = default_deadline_s

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        md = list(details.metadata or [])
        present = {k for k, _ in md}
        md.extend((k, v) for k, v in context.outgoing_metadata() if k not in present)
        return _CallDetails(
            method=details.method,
            timeout=details.timeout if details.timeout is not None else self._deadline,
            metadata=md,
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
            compression=details.compression,
        )

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request_iterator: Iterable[Any]) -> Any:
        return continuation(self._details(details), request_iterator)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, *, method: str, timeout: float | None, metadata: Sequence[tuple[str, str]], credentials: Any, wait_for_ready: Any, compression: Any) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def open_channel(address: str, *, default_deadline_s: float = DEFAULT_DEADLINE_S) -> grpc.Channel:
    """An insecure channel to `address` (host:port) with deadlines, retries and propagation."""
    channel = grpc.insecure_channel(address, options=channel_options())
    return grpc.intercept_channel(channel, _Propagate(default_deadline_s))


def bearer(token: str) -> list[tuple[str, str]]:
    """Call metadata carrying an access token, for callers outside a served RPC."""
    return [(context.AUTHORIZATION_KEY, f"Bearer {token}")]
