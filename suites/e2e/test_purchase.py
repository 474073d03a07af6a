"""The purchase flow end to end, and the event guarantees that follow it."""

from __future__ import annotations

import grpc

from testbed.testing.shopflows import add_card, buy, eventually, make_product, rpc_code
from testbed.shop.v1 import cart_pb2, delivery_pb2, order_pb2, point_pb2


def test_purchase_flow(shop, user_factory) -> None:
    seller, buyer = user_factory("Seller"), user_factory("Buyer")
    product = make_product(shop, seller, "E2E Kettle", price_cents=4599)
    card = add_card(shop, buyer)
    cart = shop.cart.AddItem(cart_pb2.AddItemRequest(user_id=buyer.user_id, product_id=product.id, quantity=2), metadata=buyer.md)
    assert [(i.product_id, i.quantity) for i in cart.items] == [(product.id, 2)]

    order = shop.cart.Commit(cart_pb2.CommitRequest(user_id=buyer.user_id, payment_info_id=card.id), metadata=buyer.md).order
    assert order.total_cents == 2 * 4599
    assert shop.cart.GetCart(cart_pb2.GetCartRequest(user_id=buyer.user_id), metadata=buyer.md).items == []
    mine = shop.order.ListOrders(order_pb2.ListOrdersRequest(user_id=buyer.user_id), metadata=buyer.md)
    assert [o.id for o in mine.orders] == [order.id]


def test_points_and_delivery_appear_exactly_once(shop, user_factory) -> None:
    seller, buyer = user_factory(), user_factory()
    product = make_product(shop, seller, price_cents=1000)
    card = add_card(shop, buyer)
    orders = [buy(shop, buyer, card.id, [(product.id, n)]) for n in (1, 2, 3)]
    expected = sum(o.total_cents // 100 for o in orders)
    balance = eventually(lambda: shop.point.GetBalance(point_pb2.GetBalanceRequest(user_id=buyer.user_id), metadata=buyer.md),
                         lambda b: b.points >= expected, timeout_s=15, what="points for three orders")
    assert balance.points == expected
    history = shop.point.ListHistory(point_pb2.ListHistoryRequest(user_id=buyer.user_id, page_size=50), metadata=buyer.md)
    assert sorted(e.order_id for e in history.entries) == sorted(o.id for o in orders)
    deliveries = eventually(lambda: shop.delivery.ListDeliveries(delivery_pb2.ListDeliveriesRequest(user_id=buyer.user_id), metadata=buyer.md),
                            lambda d: len(d.deliveries) >= 3, timeout_s=15, what="three delivery records")
    assert sorted(d.order_id for d in deliveries.deliveries) == sorted(o.id for o in orders)
    assert {d.state for d in deliveries.deliveries} == {delivery_pb2.PENDING}


def test_empty_cart_cannot_be_committed(shop, user_factory) -> None:
    buyer = user_factory()
    card = add_card(shop, buyer)
    code = rpc_code(lambda: shop.cart.Commit(cart_pb2.CommitRequest(user_id=buyer.user_id, payment_info_id=card.id), metadata=buyer.md))
    assert code == grpc.StatusCode.FAILED_PRECONDITION


def test_owner_can_cancel_a_pending_delivery_but_not_ship_it(shop, user_factory) -> None:
    seller, buyer = user_factory(), user_factory()
    order = buy(shop, buyer, add_card(shop, buyer).id, [(make_product(shop, seller).id, 1)])
    eventually(lambda: shop.delivery.GetDelivery(delivery_pb2.GetDeliveryRequest(order_id=order.id), metadata=buyer.md),
               lambda d: d.state == delivery_pb2.PENDING, what="the delivery record")
    ship = rpc_code(lambda: shop.delivery.UpdateStatus(delivery_pb2.UpdateStatusRequest(order_id=order.id, state=delivery_pb2.SHIPPED), metadata=buyer.md))
    assert ship == grpc.StatusCode.PERMISSION_DENIED
    cancelled = shop.delivery.UpdateStatus(delivery_pb2.UpdateStatusRequest(order_id=order.id, state=delivery_pb2.CANCELLED), metadata=buyer.md)
    assert cancelled.state == delivery_pb2.CANCELLED
