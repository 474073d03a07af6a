"""A stand-in for backends.Shop in unit tests: canned replies or failures per (service, method)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from testbed.shop.web.backends import STUBS, CallContext
from testbed.shop.web.failures import ServiceFailure


@dataclass
class Call:
    service: str
    method: str
    request: Any
    ctx: CallContext
    authenticated: bool


@dataclass
class StubShop:
    replies: dict[tuple[str, str], Any] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    health: dict[str, str] = field(default_factory=lambda: dict.fromkeys(STUBS, "SERVING"))

    def on(self, service: str, method: str, reply: Any) -> None:
        """reply: a message, a callable(request) -> message, or an exception to raise."""
        self.replies[(service, method)] = reply

    def fail(self, service: str, method: str, code: grpc.StatusCode, details: str = "") -> None:
        self.on(service, method, ServiceFailure(service, method, code, details))

    def called(self, service: str, method: str) -> list[Call]:
        return [c for c in self.calls if (c.service, c.method) == (service, method)]

    async def call(self, service: str, method: str, request: Any, ctx: CallContext, *, authenticated: bool = False, timeout_s: float = 5.0) -> Any:
        self.calls.append(Call(service, method, request, ctx, authenticated))
        if (service, method) not in self.replies:
            raise AssertionError(f"unexpected call {service}.{method}")
        reply = self.replies[(service, method)]
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Callable):  # type: ignore[arg-type]
            return reply(request)
        return reply

    async def readiness(self) -> dict[str, str]:
        return dict(self.health)
