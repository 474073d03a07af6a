"""Shop actions tests and suites compose: accounts, a seller with products, a buyer with a card, polling."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import grpc

from testbed.shop.stubs import Account, Stubs, sign_up
from testbed.shop.v1 import cart_pb2, order_pb2, payment_pb2, product_pb2

T = TypeVar("T")

CARD = "4242 4242 4242 4242"


def new_account(stubs: Stubs) -> Account:
    return sign_up(stubs, f"u{uuid.uuid4().hex[:12]}@example.com", "correct horse battery", "Test User")


def make_product(stubs: Stubs, seller: Account, name: str = "Widget", price_cents: int = 1999, stock: int = 100) -> product_pb2.Product:
    return stubs.product.CreateProduct(product_pb2.CreateProductRequest(name=name, description=f"A fine {name.lower()}", price_cents=price_cents, stock=stock), metadata=seller.md)


def add_card(stubs: Stubs, buyer: Account) -> payment_pb2.PaymentInfo:
    return stubs.payment.CreatePaymentInfo(
        payment_pb2.CreatePaymentInfoRequest(user_id=buyer.user_id, card_number=CARD, cardholder_name="Test Buyer", expiry_month=12, expiry_year=time.gmtime().tm_year + 3),
        metadata=buyer.md,
    )


def buy(stubs: Stubs, buyer: Account, card_id: str, items: list[tuple[str, int]]) -> order_pb2.Order:
    for product_id, qty in items:
        stubs.cart.AddItem(cart_pb2.AddItemRequest(user_id=buyer.user_id, product_id=product_id, quantity=qty), metadata=buyer.md)
    return stubs.cart.Commit(cart_pb2.CommitRequest(user_id=buyer.user_id, payment_info_id=card_id), metadata=buyer.md).order


def eventually(probe: Callable[[], T], accept: Callable[[T], bool], timeout_s: float = 15.0, what: str = "condition") -> T:
    """Poll `probe` until `accept` holds; fail with the last value seen."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if accept(last):  # type: ignore[arg-type]
                return last  # type: ignore[return-value]
        except grpc.RpcError as err:
            last = f"{err.code().name}: {err.details()}"  # type: ignore[attr-defined]
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last: {last}")


def rpc_code(call: Callable[[], object]) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as err:
        return err.code()  # type: ignore[attr-defined,no-any-return]
    return grpc.StatusCode.OK
