"""What every service process does besides its RPCs: health, reflection, metrics, request ids,
graceful drain on SIGTERM, and reconnecting to a restarted dependency."""

from __future__ import annotations

import json
import time
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from testbed.shop.topology import GRPC_NAMES
from testbed.shop.v1 import cart_pb2, events_pb2, events_pb2_grpc, product_pb2

from testbed.testing.shopflows import make_product, new_account

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", sorted(GRPC_NAMES))
def test_health_and_reflection(sqlite_shop, service: str) -> None:
    with grpc.insecure_channel(sqlite_shop.addresses()[service]) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", *GRPC_NAMES[service]):
            assert health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as unknown:
            health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        listed = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert set(GRPC_NAMES[service]) | {"grpc.health.v1.Health"} <= listed


def test_metrics_count_rpcs_by_method_and_code(sqlite_shop, stubs_for) -> None:
    stubs = stubs_for(sqlite_shop)
    product = make_product(stubs, new_account(stubs))
    stubs.product.GetProduct(product_pb2.GetProductRequest(id=product.id))
    with pytest.raises(grpc.RpcError):
        stubs.product.GetProduct(product_pb2.GetProductRequest(id="bad"))
    port = sqlite_shop.procs["product"].metrics_port
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'grpc_server_handled_total{grpc_code="OK",grpc_method="/testbed.shop.v1.ProductService/GetProduct"}' in text
    assert 'grpc_code="INVALID_ARGUMENT",grpc_method="/testbed.shop.v1.ProductService/GetProduct"' in text
    assert "grpc_server_handling_seconds_bucket" in text


def test_request_id_is_echoed_and_propagated_to_dependencies(sqlite_shop, stubs_for) -> None:
    stubs = stubs_for(sqlite_shop)
    buyer = new_account(stubs)
    product = make_product(stubs, new_account(stubs))
    rid = "rid-" + product.id
    _, call = stubs.cart.AddItem.with_call(
        cart_pb2.AddItemRequest(user_id=buyer.user_id, product_id=product.id, quantity=1), metadata=[*buyer.md, ("x-request-id", rid)])
    assert ("x-request-id", rid) in call.trailing_metadata()  # trailers: initial metadata would commit the call (no retries)
    assert ("x-request-id", rid) not in (call.initial_metadata() or ())
    lines = [json.loads(l) for l in sqlite_shop.log_file("product").read_text().splitlines() if rid in l]
    assert any(l["method"].endswith("/GetProduct") and l["request_id"] == rid and l["code"] == "OK" and "latency_ms" in l for l in lines)


def test_sigterm_drains_in_flight_rpcs_and_exits_zero(sqlite_shop) -> None:
    with grpc.insecure_channel(sqlite_shop.addresses()["order"]) as channel:
        feed = events_pb2_grpc.EventFeedStub(channel)
        in_flight = feed.Fetch.future(events_pb2.FetchRequest(stream="orders", after_sequence=10**9, wait_ms=1500), timeout=10)
        time.sleep(0.4)
        codes = sqlite_shop.stop(["order"])
        assert in_flight.result().events == []  # completed normally during the drain
    assert codes == {"order": 0}
    sqlite_shop.start(["order"])
    sqlite_shop.wait_ready(["order"])


def test_a_restarted_dependency_is_picked_up_quickly(sqlite_shop, stubs_for) -> None:
    stubs = stubs_for(sqlite_shop)
    buyer = new_account(stubs)
    product = make_product(stubs, new_account(stubs))
    add = cart_pb2.AddItemRequest(user_id=buyer.user_id, product_id=product.id, quantity=1)
    stubs.cart.AddItem(add, metadata=buyer.md)
    sqlite_shop.stop(["product"])
    with pytest.raises(grpc.RpcError) as down:
        stubs.cart.AddItem(add, metadata=buyer.md)
    assert down.value.code() == grpc.StatusCode.UNAVAILABLE
    sqlite_shop.start(["product"])
    sqlite_shop.wait_ready(["product"])
    deadline = time.monotonic() + 3.0
    while True:
        try:
            stubs.cart.AddItem(add, metadata=buyer.md)
            break
        except grpc.RpcError:
            assert time.monotonic() < deadline, "cart did not reconnect to the restarted product service within 3 s"
            time.sleep(0.05)


@pytest.mark.parametrize("protocol", ["grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"])
def test_reflection_resolves_method_names_as_grpcurl_and_ghz_ask(sqlite_shop, protocol: str) -> None:
    from grpc_reflection.v1alpha import reflection_pb2

    with grpc.insecure_channel(sqlite_shop.addresses()["cart"]) as channel:
        info = channel.stream_stream(f"/{protocol}/ServerReflectionInfo",
                                     request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                     response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
        asks = ["testbed.shop.v1.CartService.Commit", "testbed.shop.v1.CartService", "grpc.health.v1.Health.Check", "testbed.shop.v1.CartService.NoSuchMethod"]
        answers = list(info(iter(reflection_pb2.ServerReflectionRequest(file_containing_symbol=s) for s in asks), timeout=5))
    kinds = [a.WhichOneof("message_response") for a in answers]
    assert kinds == ["file_descriptor_response"] * 3 + ["error_response"]
