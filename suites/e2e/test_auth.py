"""User-scoped RPCs: no token or a bad token is UNAUTHENTICATED; another user's resource is PERMISSION_DENIED."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from testbed.shop.v1 import cart_pb2, order_pb2, payment_pb2, point_pb2, user_pb2
from testbed.testing.shopflows import add_card, buy, make_product, rpc_code

NO_TOKEN: list[tuple[str, str]] = []
BAD_TOKENS = [[("authorization", "Bearer eyJhbGciOiJFZERTQSJ9.e30.AAAA")], [("authorization", "Basic dXNlcjpwdw==")], [("authorization", "Bearer ")]]


@pytest.fixture
def victim(shop, user_factory):
    seller, owner = user_factory(), user_factory()
    card = add_card(shop, owner)
    order = buy(shop, owner, card.id, [(make_product(shop, seller).id, 1)])
    return owner, card, order


def _calls(shop, owner, card, order) -> dict[str, Callable[[list[tuple[str, str]]], object]]:
    uid = owner.user_id
    return {
        "cart.GetCart": lambda md: shop.cart.GetCart(cart_pb2.GetCartRequest(user_id=uid), metadata=md),
        "cart.Commit": lambda md: shop.cart.Commit(cart_pb2.CommitRequest(user_id=uid, payment_info_id=card.id), metadata=md),
        "order.GetOrder": lambda md: shop.order.GetOrder(order_pb2.GetOrderRequest(id=order.id), metadata=md),
        "order.ListOrders": lambda md: shop.order.ListOrders(order_pb2.ListOrdersRequest(user_id=uid), metadata=md),
        "payment.GetPaymentInfo": lambda md: shop.payment.GetPaymentInfo(payment_pb2.GetPaymentInfoRequest(id=card.id), metadata=md),
        "payment.ListPaymentInfos": lambda md: shop.payment.ListPaymentInfos(payment_pb2.ListPaymentInfosRequest(user_id=uid), metadata=md),
        "point.GetBalance": lambda md: shop.point.GetBalance(point_pb2.GetBalanceRequest(user_id=uid), metadata=md),
        "user.GetUser": lambda md: shop.user.GetUser(user_pb2.GetUserRequest(id=uid), metadata=md),
    }


def test_no_token_is_unauthenticated(shop, victim) -> None:
    for name, call in _calls(shop, *victim).items():
        assert rpc_code(lambda: call(NO_TOKEN)) == grpc.StatusCode.UNAUTHENTICATED, name


def test_bad_tokens_are_unauthenticated(shop, victim) -> None:
    for name, call in _calls(shop, *victim).items():
        for md in BAD_TOKENS:
            assert rpc_code(lambda: call(md)) == grpc.StatusCode.UNAUTHENTICATED, f"{name} with {md}"


def test_another_users_resources_are_permission_denied(shop, victim, user_factory) -> None:
    intruder = user_factory("Intruder")
    for name, call in _calls(shop, *victim).items():
        assert rpc_code(lambda: call(intruder.md)) == grpc.StatusCode.PERMISSION_DENIED, name


def test_owner_is_allowed(shop, victim) -> None:
    owner = victim[0]
    for name, call in _calls(shop, *victim).items():
        if name != "cart.Commit":  # the cart is empty after the victim's purchase
            assert rpc_code(lambda: call(owner.md)) == grpc.StatusCode.OK, name


def test_wrong_password_is_unauthenticated(shop, user_factory) -> None:
    account = user_factory()
    code = rpc_code(lambda: shop.user.Authenticate(user_pb2.AuthenticateRequest(email=account.email, password="not the password")))
    assert code == grpc.StatusCode.UNAUTHENTICATED
