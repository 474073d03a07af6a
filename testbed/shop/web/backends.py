"""The web front end's view of the shop: one gRPC channel per service and an awaitable call.

Views never touch grpc directly. They `await shop.call("product", "GetProduct", request)`;
the call runs as a gRPC future (no thread parked per call, so a slow service cannot exhaust
a thread pool), carries the request id and, for user-scoped calls, the end user's token,
and turns a failed RPC into a `ServiceFailure` naming the service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from testbed.shop.runtime import clients, context
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.v1 import (
    cart_pb2_grpc,
    comment_pb2_grpc,
    delivery_pb2_grpc,
    order_pb2_grpc,
    payment_pb2_grpc,
    point_pb2_grpc,
    product_pb2_grpc,
    rate_pb2_grpc,
    user_pb2_grpc,
)
from testbed.shop.web.failures import ServiceFailure

# dependency name (as in --dep NAME=HOST:PORT) -> generated stub class
STUBS: dict[str, type] = {
    "user": user_pb2_grpc.UserServiceStub,
    "product": product_pb2_grpc.ProductServiceStub,
    "cart": cart_pb2_grpc.CartServiceStub,
    "order": order_pb2_grpc.OrderServiceStub,
    "payment": payment_pb2_grpc.PaymentInfoServiceStub,
    "point": point_pb2_grpc.PointServiceStub,
    "delivery": delivery_pb2_grpc.DeliveryStatusServiceStub,
    "comment": comment_pb2_grpc.CommentServiceStub,
    "rate": rate_pb2_grpc.RateServiceStub,
}

CALL_DEADLINE_S = 5.0
HEALTH_DEADLINE_S = 1.0


@dataclass(frozen=True)
class CallContext:
    """What every outgoing call of one HTTP request carries."""

    request_id: str
    token: str = ""

    def metadata(self, *, authenticated: bool) -> list[tuple[str, str]]:
        md = [(context.REQUEST_ID_KEY, self.request_id)] if self.request_id else []
        if authenticated and self.token:
            md.extend(clients.bearer(self.token))
        return md


@dataclass
class Shop:
    """Channels and stubs for every service the front end calls."""

    addresses: Mapping[str, str]
    channels: dict[str, grpc.Channel] = field(default_factory=dict)
    stubs: dict[str, Any] = field(default_factory=dict)
    health: dict[str, health_pb2_grpc.HealthStub] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Shop:
        """Open a channel to every dependency; a missing address is a ConfigError naming it."""
        return cls.connect({name: settings.dep(name) for name in STUBS})

    @classmethod
    def connect(cls, addresses: Mapping[str, str]) -> Shop:
        shop = cls(addresses=dict(addresses))
        for name, stub_class in STUBS.items():
            channel = clients.open_channel(addresses[name], default_deadline_s=CALL_DEADLINE_S)
            shop.channels[name] = channel
            shop.stubs[name] = stub_class(channel)
            shop.health[name] = health_pb2_grpc.HealthStub(channel)
        return shop

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()

    async def call(self, service: str, method: str, request: Any, ctx: CallContext, *, authenticated: bool = False, timeout_s: float = CALL_DEADLINE_S) -> Any:
        """Invoke `service.method(request)`; raise ServiceFailure if the RPC fails."""
        multicallable = getattr(self.stubs[service], method)
        try:
            return await _await_future(multicallable.future(request, timeout=timeout_s, metadata=ctx.metadata(authenticated=authenticated)))
        except grpc.RpcError as err:
            raise ServiceFailure.from_rpc_error(service, method, err) from None

    async def readiness(self) -> dict[str, str]:
        """Health status of every dependency, by name ("SERVING", "NOT_SERVING", "UNAVAILABLE"...)."""

        async def one(name: str) -> tuple[str, str]:
            try:
                reply = await _await_future(self.health[name].Check.future(health_pb2.HealthCheckRequest(service=""), timeout=HEALTH_DEADLINE_S))
            except grpc.RpcError as err:
                return name, err.code().name if isinstance(err, grpc.Call) else "UNKNOWN"
            return name, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        return dict(await asyncio.gather(*(one(name) for name in STUBS)))


async def _await_future(future: grpc.Future) -> Any:
    """Bridge a gRPC future (completed on a gRPC thread) to the running asyncio loop."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not waiter.done():
            waiter.set_result(None)

    def done(_: grpc.Future) -> None:
        try:
            loop.call_soon_threadsafe(wake)
        except RuntimeError:  # the loop closed while the call was in flight (shutdown)
            pass

    future.add_done_callback(done)
    try:
        await waiter
    except asyncio.CancelledError:
        future.cancel()
        raise
    return future.result()
