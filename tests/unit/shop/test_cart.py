"""cart.Commit: idempotency key from the generation, stock checks, and no double order when settling fails."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import grpc
import pytest

from testbed.shop.runtime.auth import Principal
from testbed.shop.runtime.status import FailedPrecondition, Unavailable
from testbed.shop.services.cart import CartServicer, order_key
from testbed.shop.services.cart_store import SqlCartStore
from testbed.shop.v1 import cart_pb2, order_pb2, product_pb2

pytestmark = pytest.mark.unit

U = "a" * 32
PAY = "b" * 32
APPLE = "1" * 32
PEAR = "2" * 32


class _Auth:
    def owner(self, user_id: str) -> Principal:
        return Principal(user_id, ())


class _Done:
    """Stands in for a finished gRPC future."""

    def __init__(self, value: product_pb2.Product | None, error: grpc.RpcError | None = None) -> None:
        self._value, self._error = value, error

    def result(self) -> product_pb2.Product:
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


class _NotFound(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.NOT_FOUND

    def details(self) -> str:
        return "not found"


class _GetProduct:
    def __init__(self, catalogue: dict[str, product_pb2.Product]) -> None:
        self.catalogue = catalogue

    def __call__(self, request: product_pb2.GetProductRequest, timeout: float) -> product_pb2.Product:
        return self.future(request, timeout).result()

    def future(self, request: product_pb2.GetProductRequest, timeout: float) -> _Done:
        product = self.catalogue.get(request.id)
        return _Done(product) if product else _Done(None, _NotFound())


class _Products:
    def __init__(self) -> None:
        self.GetProduct = _GetProduct({
            APPLE: product_pb2.Product(id=APPLE, name="Apple", price_cents=150, stock=5),
            PEAR: product_pb2.Product(id=PEAR, name="Pear", price_cents=99, stock=100),
        })


class _Orders:
    """Keeps one order per idempotency key, like the order service."""

    def __init__(self) -> None:
        self.by_key: dict[str, order_pb2.Order] = {}
        self.calls = 0

    def CreateOrder(self, request: order_pb2.CreateOrderRequest, timeout: float) -> order_pb2.Order:
        self.calls += 1
        if request.idempotency_key not in self.by_key:
            total = sum(ln.quantity * ln.unit_price_cents for ln in request.lines)
            self.by_key[request.idempotency_key] = order_pb2.Order(id=f"{len(self.by_key):032x}", user_id=request.user_id, lines=request.lines, total_cents=total)
        return self.by_key[request.idempotency_key]


class _FlakySettle(SqlCartStore):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.fail_next_settle = False

    def settle(self, user_id: str, generation: int, ordered: Mapping[str, int]) -> bool:
        if self.fail_next_settle:
            self.fail_next_settle = False
            raise Unavailable("cart store unavailable: simulated")
        return super().settle(user_id, generation, ordered)


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[CartServicer, _FlakySettle, _Orders, _Products]]:
    store = _FlakySettle(f"sqlite:///{tmp_path / 'cart.db'}")
    orders, products = _Orders(), _Products()
    yield CartServicer(store, _Auth(), products, orders, logging.getLogger("test")), store, orders, products  # type: ignore[arg-type]
    store.close()


def _add(servicer: CartServicer, product_id: str, quantity: int) -> cart_pb2.Cart:
    return servicer.AddItem(cart_pb2.AddItemRequest(user_id=U, product_id=product_id, quantity=quantity), None)  # type: ignore[arg-type]


def _commit(servicer: CartServicer) -> order_pb2.Order:
    return servicer.Commit(cart_pb2.CommitRequest(user_id=U, payment_info_id=PAY), None).order  # type: ignore[arg-type]


def test_key_names_user_and_generation() -> None:
    assert order_key(U, 7) == f"cart:{U}:7"


def test_empty_cart_cannot_be_committed(parts) -> None:  # type: ignore[no-untyped-def]
    servicer, *_ = parts
    with pytest.raises(FailedPrecondition, match="cart is empty"):
        _commit(servicer)


def test_commit_prices_from_product_and_clears(parts) -> None:  # type: ignore[no-untyped-def]
    servicer, store, orders, _ = parts
    _add(servicer, APPLE, 2)
    _add(servicer, PEAR, 1)
    order = _commit(servicer)
    assert order.total_cents == 2 * 150 + 99
    assert list(orders.by_key) == [order_key(U, 0)]
    assert store.get(U).items == {} and store.get(U).generation == 1


def test_short_stock_and_vanished_products_name_the_product(parts) -> None:  # type: ignore[no-untyped-def]
    servicer, _, orders, products = parts
    _add(servicer, APPLE, 6)
    with pytest.raises(FailedPrecondition, match=f"{APPLE} \\(Apple\\) has 5 in stock"):
        _commit(servicer)
    servicer.RemoveItem(cart_pb2.RemoveItemRequest(user_id=U, product_id=APPLE, quantity=1), None)  # type: ignore[arg-type]
    del products.GetProduct.catalogue[APPLE]
    with pytest.raises(FailedPrecondition, match=f"{APPLE} is no longer available"):
        _commit(servicer)
    assert orders.calls == 0


def test_failed_settle_then_retry_is_the_same_order(parts) -> None:  # type: ignore[no-untyped-def]
    servicer, store, orders, _ = parts
    _add(servicer, APPLE, 2)
    store.fail_next_settle = True
    first = _commit(servicer)  # the order exists; the cart could not be settled
    assert store.get(U).items == {APPLE: 2} and store.get(U).generation == 0
    _add(servicer, PEAR, 1)  # the user keeps shopping meanwhile
    again = _commit(servicer)
    assert again == first and len(orders.by_key) == 1
    assert store.get(U).items == {PEAR: 1} and store.get(U).generation == 1  # what the order bought is gone, the pear stays
    third = _commit(servicer)
    assert third.id != first.id and [ln.product_id for ln in third.lines] == [PEAR]
