"""An acknowledged order is never lost and never credited twice, even when consumers are down."""

from __future__ import annotations

import pytest

from testbed.shop.v1 import delivery_pb2, point_pb2

from testbed.testing.shopflows import add_card, buy, eventually, make_product, new_account

pytestmark = pytest.mark.integration

ORDERS = 6


def test_orders_placed_while_consumers_are_down_are_applied_exactly_once(shop, stubs_for) -> None:
    stubs = stubs_for(shop)
    seller, buyer = new_account(stubs), new_account(stubs)
    product = make_product(stubs, seller, price_cents=1000)
    card = add_card(stubs, buyer)

    assert shop.stop(["point", "delivery"]) == {"point": 0, "delivery": 0}
    orders = [buy(stubs, buyer, card.id, [(product.id, i + 1)]) for i in range(ORDERS)]
    expected = sum(o.total_cents // 100 for o in orders)

    shop.start(["point", "delivery"])
    shop.wait_ready(["point", "delivery"])
    balance = eventually(
        lambda: stubs.point.GetBalance(point_pb2.GetBalanceRequest(user_id=buyer.user_id), metadata=buyer.md),
        lambda b: b.points >= expected, what=f"{expected} points")
    assert balance.points == expected
    deliveries = eventually(
        lambda: stubs.delivery.ListDeliveries(delivery_pb2.ListDeliveriesRequest(user_id=buyer.user_id), metadata=buyer.md),
        lambda d: len(d.deliveries) >= ORDERS, what=f"{ORDERS} deliveries")
    assert sorted(d.order_id for d in deliveries.deliveries) == sorted(o.id for o in orders)

    # A crash-restart replays from the stored cursor/durable consumer: nothing is applied twice.
    shop.stop(["point"], kill=True)
    shop.start(["point"])
    shop.wait_ready(["point"])
    buy(stubs, buyer, card.id, [(product.id, 1)])
    final = eventually(
        lambda: stubs.point.GetBalance(point_pb2.GetBalanceRequest(user_id=buyer.user_id), metadata=buyer.md),
        lambda b: b.points >= expected + 10, what="the post-restart order's points")
    assert final.points == expected + 10
    history = stubs.point.ListHistory(point_pb2.ListHistoryRequest(user_id=buyer.user_id, page_size=100), metadata=buyer.md)
    assert len(history.entries) == ORDERS + 1
    assert len({e.order_id for e in history.entries}) == ORDERS + 1
