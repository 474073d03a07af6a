"""The full purchase flow, on SQLite and on PostgreSQL/Redis/NATS."""

from __future__ import annotations

import grpc
import pytest

from testbed.shop.v1 import cart_pb2, delivery_pb2, order_pb2, point_pb2

from testbed.testing.shopflows import add_card, buy, eventually, make_product, rpc_code, new_account

pytestmark = pytest.mark.integration


def test_purchase_flow_end_to_end(shop, stubs_for) -> None:
    stubs = stubs_for(shop)
    seller, buyer = new_account(stubs), new_account(stubs)
    lamp = make_product(stubs, seller, "Lamp", price_cents=2500)
    mug = make_product(stubs, seller, "Mug", price_cents=1250)
    card = add_card(stubs, buyer)
    assert card.last4 == "4242" and "4242424242424242" not in str(card)

    order = buy(stubs, buyer, card.id, [(lamp.id, 2), (mug.id, 1)])

    assert order.user_id == buyer.user_id
    assert order.total_cents == 2 * 2500 + 1250
    assert sorted((l.product_id, l.quantity) for l in order.lines) == sorted([(lamp.id, 2), (mug.id, 1)])
    cart = stubs.cart.GetCart(cart_pb2.GetCartRequest(user_id=buyer.user_id), metadata=buyer.md)
    assert list(cart.items) == []
    listed = stubs.order.ListOrders(order_pb2.ListOrdersRequest(user_id=buyer.user_id), metadata=buyer.md)
    assert [o.id for o in listed.orders] == [order.id]
    assert stubs.order.GetOrder(order_pb2.GetOrderRequest(id=order.id), metadata=buyer.md).total_cents == order.total_cents

    balance = eventually(
        lambda: stubs.point.GetBalance(point_pb2.GetBalanceRequest(user_id=buyer.user_id), metadata=buyer.md),
        lambda b: b.points > 0, what="points to be credited")
    assert balance.points == order.total_cents // 100
    delivery = eventually(
        lambda: stubs.delivery.GetDelivery(delivery_pb2.GetDeliveryRequest(order_id=order.id), metadata=buyer.md),
        lambda d: d.order_id == order.id, what="a delivery record")
    assert delivery.state == delivery_pb2.PENDING and delivery.user_id == buyer.user_id

    history = stubs.point.ListHistory(point_pb2.ListHistoryRequest(user_id=buyer.user_id), metadata=buyer.md)
    assert [(e.order_id, e.points) for e in history.entries] == [(order.id, order.total_cents // 100)]


def test_committing_an_emptied_cart_is_refused_not_a_second_order(shop, stubs_for) -> None:
    stubs = stubs_for(shop)
    seller, buyer = new_account(stubs), new_account(stubs)
    product = make_product(stubs, seller)
    card = add_card(stubs, buyer)
    buy(stubs, buyer, card.id, [(product.id, 1)])
    again = rpc_code(lambda: stubs.cart.Commit(cart_pb2.CommitRequest(user_id=buyer.user_id, payment_info_id=card.id), metadata=buyer.md))
    assert again == grpc.StatusCode.FAILED_PRECONDITION
    assert len(stubs.order.ListOrders(order_pb2.ListOrdersRequest(user_id=buyer.user_id), metadata=buyer.md).orders) == 1


def test_order_creation_is_idempotent_on_its_key(shop, stubs_for) -> None:
    stubs = stubs_for(shop)
    seller, buyer = new_account(stubs), new_account(stubs)
    product = make_product(stubs, seller)
    card = add_card(stubs, buyer)
    request = order_pb2.CreateOrderRequest(
        user_id=buyer.user_id, payment_info_id=card.id, idempotency_key="cart:retry-test:0",
        lines=[order_pb2.OrderLine(product_id=product.id, product_name=product.name, quantity=3, unit_price_cents=product.price_cents)])
    first = stubs.order.CreateOrder(request, metadata=buyer.md)
    second = stubs.order.CreateOrder(request, metadata=buyer.md)
    assert first.id == second.id
    assert len(stubs.order.ListOrders(order_pb2.ListOrdersRequest(user_id=buyer.user_id), metadata=buyer.md).orders) == 1
    balance = eventually(
        lambda: stubs.point.GetBalance(point_pb2.GetBalanceRequest(user_id=buyer.user_id), metadata=buyer.md),
        lambda b: b.points > 0, what="points to be credited")
    assert balance.points == first.total_cents // 100
