"""A server-side UNAVAILABLE is retried by the shop's clients for an idempotent method, and only then.

A real gRPC server on 127.0.0.1 behind the shop's own interceptor, and the shop's own client
channel (open_channel: service-config retryPolicy). The interceptor echoes the request id in
trailing metadata; were it to send initial metadata first, the call would be committed and
gRPC would not retry it, which is what these tests would catch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from testbed.shop.runtime import context
from testbed.shop.runtime.clients import IDEMPOTENT_METHODS, MAX_ATTEMPTS, open_channel
from testbed.shop.runtime.interceptor import ShopServerInterceptor
from testbed.shop.runtime.status import Unavailable
from testbed.shop.v1 import product_pb2, product_pb2_grpc

pytestmark = pytest.mark.integration

FAILURES_BEFORE_SUCCESS = MAX_ATTEMPTS - 1  # the most a retrying client can absorb and still succeed


class _FlakyProducts(product_pb2_grpc.ProductServiceServicer):
    """Answers UNAVAILABLE to the first FAILURES_BEFORE_SUCCESS attempts of each method, then succeeds."""

    def __init__(self) -> None:
        self.attempts: dict[str, int] = {"GetProduct": 0, "CreateProduct": 0}

    def _attempt(self, method: str) -> None:
        self.attempts[method] += 1
        if self.attempts[method] <= FAILURES_BEFORE_SUCCESS:
            raise Unavailable(f"attempt {self.attempts[method]} fails on purpose")

    def GetProduct(self, request: product_pb2.GetProductRequest, ctx: Any) -> product_pb2.Product:  # noqa: N802 (gRPC's name)
        self._attempt("GetProduct")
        return product_pb2.Product(id=request.id, name="after retries")

    def CreateProduct(self, request: product_pb2.CreateProductRequest, ctx: Any) -> product_pb2.Product:  # noqa: N802 (gRPC's name)
        self._attempt("CreateProduct")
        return product_pb2.Product(id="new", name=request.name)


@pytest.fixture
def flaky() -> Iterator[tuple[_FlakyProducts, str]]:
    servicer = _FlakyProducts()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=[ShopServerInterceptor(logging.getLogger("test-retries"))])
    product_pb2_grpc.add_ProductServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None).wait(timeout=10)


def test_an_idempotent_method_is_retried_after_unavailable_from_the_server(flaky: tuple[_FlakyProducts, str]) -> None:
    servicer, address = flaky
    assert "GetProduct" in IDEMPOTENT_METHODS["testbed.shop.v1.ProductService"]
    channel = open_channel(address)
    try:
        product, call = product_pb2_grpc.ProductServiceStub(channel).GetProduct.with_call(
            product_pb2.GetProductRequest(id="a" * 32), metadata=[(context.REQUEST_ID_KEY, "retry-me")], timeout=10)
    finally:
        channel.close()
    assert product.name == "after retries"
    assert servicer.attempts["GetProduct"] == FAILURES_BEFORE_SUCCESS + 1
    assert (context.REQUEST_ID_KEY, "retry-me") in call.trailing_metadata()


def test_a_non_idempotent_method_is_attempted_once(flaky: tuple[_FlakyProducts, str]) -> None:
    servicer, address = flaky
    assert "CreateProduct" not in IDEMPOTENT_METHODS["testbed.shop.v1.ProductService"]
    channel = open_channel(address)
    try:
        with pytest.raises(grpc.RpcError) as failed:
            product_pb2_grpc.ProductServiceStub(channel).CreateProduct(
                product_pb2.CreateProductRequest(name="lamp", price_cents=1), metadata=[(context.REQUEST_ID_KEY, "once")], timeout=10)
    finally:
        channel.close()
    assert failed.value.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert (context.REQUEST_ID_KEY, "once") in failed.value.trailing_metadata()  # type: ignore[attr-defined]
    assert servicer.attempts["CreateProduct"] == 1
