"""The server interceptor wraps each method's handler once, and still reads every call's own metadata."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import pytest

from testbed.shop.runtime import context
from testbed.shop.runtime.interceptor import ShopServerInterceptor

pytestmark = pytest.mark.unit


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str, metadata: tuple[tuple[str, str], ...] = ()) -> None:
        self.method = method
        self.invocation_metadata = metadata


class _Context:
    """The parts of grpc.ServicerContext the interceptor uses."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata
        self.sent: tuple[tuple[str, str], ...] = ()

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def set_trailing_metadata(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self.sent = metadata

    def code(self) -> None:
        return None

    def abort(self, code: grpc.StatusCode, message: str) -> None:
        raise AssertionError(f"aborted: {code} {message}")


def _echo(request: Any, ctx: Any) -> tuple[str, str]:
    return context.request_id.get(), context.authorization.get()


def test_a_methods_handler_is_wrapped_once_and_each_call_sees_its_own_metadata() -> None:
    looked_up: list[str] = []

    def continuation(details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        looked_up.append(details.method)
        return grpc.unary_unary_rpc_method_handler(_echo) if details.method == "/shop.v1.X/Echo" else None

    interceptor = ShopServerInterceptor(logging.getLogger("test-interceptor"))
    first = interceptor.intercept_service(continuation, _Details("/shop.v1.X/Echo", ((context.REQUEST_ID_KEY, "r1"),)))
    second = interceptor.intercept_service(continuation, _Details("/shop.v1.X/Echo", ((context.REQUEST_ID_KEY, "r2"),)))
    assert first is not None and second is first
    assert looked_up == ["/shop.v1.X/Echo"]

    one, two = _Context(((context.REQUEST_ID_KEY, "r1"), (context.AUTHORIZATION_KEY, "Bearer a"))), _Context(())
    assert first.unary_unary(object(), one) == ("r1", "Bearer a")
    rid, auth = first.unary_unary(object(), two)
    assert rid not in ("", "r1") and auth == ""  # a fresh request id, no leaked credentials
    assert one.sent == ((context.REQUEST_ID_KEY, "r1"),) and two.sent == ((context.REQUEST_ID_KEY, rid),)


def test_unknown_methods_are_not_cached() -> None:
    interceptor = ShopServerInterceptor(logging.getLogger("test-interceptor"))
    for n in range(50):
        assert interceptor.intercept_service(lambda details: None, _Details(f"/fuzz/{n}")) is None
    assert interceptor._handlers == {}
