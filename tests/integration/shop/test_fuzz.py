"""Random and garbage requests to every RPC never answer INTERNAL or UNKNOWN, and the services stay healthy."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.shop.launcher import grpc_serving
from testbed.shop.topology import GRPC_NAMES
from testbed.shop.v1 import (  # noqa: F401  (imports register the descriptors)
    cart_pb2, comment_pb2, delivery_pb2, events_pb2, order_pb2, payment_pb2, point_pb2, product_pb2, rate_pb2, user_pb2,
)

from testbed.testing.shopflows import add_card, make_product, new_account

pytestmark = pytest.mark.integration

FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED}
FILES = [user_pb2, product_pb2, cart_pb2, order_pb2, events_pb2, payment_pb2, point_pb2, delivery_pb2, comment_pb2, rate_pb2]
SERVICE_OF = {full: svc for svc, names in GRPC_NAMES.items() for full in names}
METHODS: list[MethodDescriptor] = [m for f in FILES for s in f.DESCRIPTOR.services_by_name.values() for m in s.methods]
INT_BOUNDS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1), FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1), FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
}


def _edge_ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([0, 1, -1 if lo < 0 else 2, 5, 100, 1001, lo, hi]), st.integers(lo, hi))


def _page_token(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _strings(name: str, known_ids: list[str]) -> st.SearchStrategy[str]:
    base = st.one_of(st.text(max_size=40), st.text(min_size=2000, max_size=6000), st.sampled_from(["", " ", "\x00", "a" * 33, "é🙂", "%_\\"]))
    if name.endswith("id") or name.endswith("_id"):
        return st.one_of(st.sampled_from(known_ids), st.builds(lambda: uuid.uuid4().hex), base)
    if name == "email":
        return st.one_of(st.emails(), base)
    if name == "page_token":  # well-formed base64 around a number str.isdigit() accepts but int() does not
        return st.one_of(st.sampled_from([_page_token("o:\u00b9"), _page_token("o:\u0663"), _page_token("o:1\u00b2")]), base)
    if name in ("card_number",):
        return st.one_of(st.sampled_from(["4242424242424242", "4242424242424241", "1234"]), st.from_regex(r"[0-9 -]{0,25}", fullmatch=True), base)
    return base


def message_strategy(desc: Descriptor, known_ids: list[str], depth: int = 0) -> st.SearchStrategy[Message]:
    cls = GetMessageClass(desc)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for f in desc.fields:
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            if depth >= 2 or f.message_type.full_name.startswith("google.protobuf."):
                continue
            single: st.SearchStrategy[Any] = message_strategy(f.message_type, known_ids, depth + 1)
        elif f.type == FieldDescriptor.TYPE_STRING:
            single = _strings(f.name, known_ids)
        elif f.type == FieldDescriptor.TYPE_BYTES:
            single = st.one_of(st.binary(max_size=64), st.sampled_from([b"\x89PNG\r\n\x1a\n" + b"0" * 64, b"\xff\xd8\xff" + b"1" * 64]))
        elif f.type == FieldDescriptor.TYPE_BOOL:
            single = st.booleans()
        elif f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            single = st.floats(allow_nan=True, allow_infinity=True, width=32 if f.type == FieldDescriptor.TYPE_FLOAT else 64)
        elif f.type == FieldDescriptor.TYPE_ENUM:
            single = st.integers(-3, 12)  # proto3 enums are open: unknown values must be handled
        else:
            single = _edge_ints(*INT_BOUNDS.get(f.type, (-(2**31), 2**31 - 1)))
        repeated = f.is_repeated
        fields[f.name] = st.lists(single, max_size=4) if repeated else single
    keys = sorted(fields)

    def build(values: dict[str, Any], present: list[bool]) -> Message:
        msg = cls()
        for key, keep in zip(keys, present):
            if not keep:
                continue
            value, field = values[key], desc.fields_by_name[key]
            if field.is_repeated:
                getattr(msg, key).extend(value) if field.type != FieldDescriptor.TYPE_MESSAGE else [getattr(msg, key).add().CopyFrom(v) for v in value]
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(msg, key).CopyFrom(value)
            else:
                setattr(msg, key, value)
        return msg

    return st.builds(build, st.fixed_dictionaries(fields), st.lists(st.booleans(), min_size=len(keys), max_size=len(keys)))


@pytest.fixture(scope="module")
def world(sqlite_shop):
    from testbed.shop.stubs import Stubs

    stubs = Stubs(sqlite_shop.addresses())
    seller, buyer = new_account(stubs), new_account(stubs)
    product = make_product(stubs, seller)
    card = add_card(stubs, buyer)
    yield {"shop": sqlite_shop, "buyer": buyer, "ids": [buyer.user_id, seller.user_id, product.id, card.id]}
    stubs.close()


def _call(shop, method: MethodDescriptor, payload: Any, metadata: list[tuple[str, str]] | None, raw: bool) -> grpc.StatusCode:
    path = f"/{method.containing_service.full_name}/{method.name}"
    address = shop.addresses()[SERVICE_OF[method.containing_service.full_name]]
    with grpc.insecure_channel(address) as channel:
        ser = (lambda b: b) if raw else (lambda m: m.SerializeToString())
        try:
            if method.client_streaming:
                channel.stream_unary(path, request_serializer=ser, response_deserializer=None)(iter(payload), timeout=10, metadata=metadata)
            else:
                channel.unary_unary(path, request_serializer=ser, response_deserializer=None)(payload, timeout=10, metadata=metadata)
        except grpc.RpcError as err:
            return err.code()  # type: ignore[attr-defined,no-any-return]
    return grpc.StatusCode.OK


@pytest.mark.parametrize("method", METHODS, ids=lambda m: f"{m.containing_service.name}.{m.name}")
def test_random_requests_never_answer_internal(world, method: MethodDescriptor) -> None:
    auth = st.sampled_from([None, world["buyer"].md, [("authorization", "Bearer not.a.jwt")], [("authorization", "Basic abc")]])
    message = message_strategy(method.input_type, world["ids"])
    payload = st.lists(message, max_size=4) if method.client_streaming else message

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(request=payload, metadata=auth)
    def check(request: Any, metadata: Any) -> None:
        code = _call(world["shop"], method, request, metadata, raw=False)
        assert code not in FORBIDDEN, f"{method.full_name} answered {code.name} to {request!r}"

    check()
    assert grpc_serving(world["shop"].addresses()[SERVICE_OF[method.containing_service.full_name]])


@pytest.mark.parametrize("method", METHODS, ids=lambda m: f"{m.containing_service.name}.{m.name}")
def test_garbage_bytes_never_answer_internal(world, method: MethodDescriptor) -> None:
    frame = st.binary(min_size=1, max_size=512)
    payload = st.lists(frame, min_size=1, max_size=3) if method.client_streaming else frame

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(request=payload)
    def check(request: Any) -> None:
        code = _call(world["shop"], method, request, world["buyer"].md, raw=True)
        assert code not in FORBIDDEN, f"{method.full_name} answered {code.name} to bytes {request!r}"

    check()
    assert grpc_serving(world["shop"].addresses()[SERVICE_OF[method.containing_service.full_name]])


def test_oversized_messages_are_refused(world) -> None:
    code = _call(world["shop"], product_pb2.DESCRIPTOR.services_by_name["ProductService"].methods_by_name["CreateProduct"],
                 b"\x0a" + b"\xff\xff\xff\x03" + b"x" * (5 * 1024 * 1024), world["buyer"].md, raw=True)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert grpc_serving(world["shop"].addresses()["product"])


PAGED = [m for m in METHODS if "page_token" in m.input_type.fields_by_name]


@pytest.mark.parametrize("method", PAGED, ids=lambda m: f"{m.containing_service.name}.{m.name}")
@pytest.mark.parametrize("number", ["\u00b9", "\u0663", "\uff11"])
def test_a_page_token_with_a_non_ascii_digit_is_invalid_argument(world, method: MethodDescriptor, number: str) -> None:
    """'¹' passes str.isdigit() and then fails int(): it must be INVALID_ARGUMENT, never INTERNAL."""
    request = GetMessageClass(method.input_type)(page_token=_page_token(f"o:{number}"))
    for field in method.input_type.fields:  # ids the call needs, so the token is what gets judged
        if field.type == FieldDescriptor.TYPE_STRING and field.name.endswith("id") and not field.is_repeated:
            setattr(request, field.name, world["ids"][2])
    code = _call(world["shop"], method, request, world["buyer"].md, raw=False)
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{method.full_name} answered {code.name}"
