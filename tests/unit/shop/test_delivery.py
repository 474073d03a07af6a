"""Delivery status: the transition table, who may move a delivery, and idempotent record creation."""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from testbed.shop.events import Envelope
from testbed.shop.events.inbox import Inbox
from testbed.shop.runtime.auth import Principal
from testbed.shop.runtime.status import FailedPrecondition, PermissionDenied
from testbed.shop.runtime.storage import Database
from testbed.shop.services import delivery
from testbed.shop.v1 import delivery_pb2, events_pb2

pytestmark = pytest.mark.unit

S = delivery_pb2
ALLOWED = {
    (S.PENDING, S.PACKED), (S.PENDING, S.CANCELLED),
    (S.PACKED, S.SHIPPED), (S.PACKED, S.CANCELLED),
    (S.SHIPPED, S.IN_TRANSIT), (S.SHIPPED, S.DELIVERED),
    (S.IN_TRANSIT, S.DELIVERED), (S.IN_TRANSIT, S.RETURNED),
    (S.DELIVERED, S.RETURNED),
}  # written out from delivery.proto, independently of the module's table
STATES = [v for v in S.DeliveryState.values() if v != S.DELIVERY_STATE_UNSPECIFIED]
OWNER = "a" * 32


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATES, STATES)))
def test_transition_table_matches_the_proto_contract(current: int, target: int) -> None:
    if (current, target) in ALLOWED:
        delivery.check_transition(current, target)
    else:
        with pytest.raises(FailedPrecondition) as err:
            delivery.check_transition(current, target)
        assert S.DeliveryState.Name(current) in err.value.message
        assert S.DeliveryState.Name(target) in err.value.message


def test_staff_may_make_any_move() -> None:
    for target in STATES:
        delivery.check_may_move(Principal("b" * 32, ("customer", "staff")), OWNER, target)


def test_owner_may_only_cancel() -> None:
    who = Principal(OWNER, ("customer",))
    delivery.check_may_move(who, OWNER, S.CANCELLED)
    for target in set(STATES) - {S.CANCELLED}:
        with pytest.raises(PermissionDenied):
            delivery.check_may_move(who, OWNER, target)


def test_another_customer_may_not_even_cancel() -> None:
    with pytest.raises(PermissionDenied):
        delivery.check_may_move(Principal("b" * 32, ("customer",)), OWNER, S.CANCELLED)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'delivery.db'}", delivery.metadata)
    yield database
    database.close()


def _event(order_id: str, *, event_type: str = "OrderPlaced", payload: bytes | None = None) -> Envelope:
    if payload is None:
        payload = events_pb2.OrderPlaced(order_id=order_id, user_id=OWNER, total_cents=500).SerializeToString()
    return Envelope(id=uuid.uuid4().hex, sequence=1, stream="orders", type=event_type, payload=payload)


def _apply(db: Database, event: Envelope) -> bool:
    with db.write() as conn:
        return Inbox(delivery.inbox_table, delivery.cursor_table).apply_once(conn, event, delivery.OrderPlacedHandler(logging.getLogger("test")))


def _rows(db: Database) -> list[tuple[str, str, int, int]]:
    t = delivery.deliveries
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(select(t.c.order_id, t.c.user_id, t.c.state, t.c.version)).all()]  # type: ignore[misc]


def test_order_placed_creates_one_pending_delivery(db: Database) -> None:
    event = _event("c" * 32)
    assert _apply(db, event) is True
    assert _apply(db, event) is False
    assert _apply(db, _event("c" * 32)) is True  # same order, another event id: still one record
    assert _rows(db) == [("c" * 32, OWNER, S.PENDING, delivery.FIRST_VERSION)]


@pytest.mark.parametrize(
    "event",
    [_event("c" * 32, event_type="OrderShipped"), _event("c" * 32, payload=b"\xff\xff\xff"), _event(""), _event("c" * 65)],
    ids=["unknown-type", "garbage-payload", "no-order-id", "order-id-too-long"],
)
def test_unusable_events_are_consumed_without_effect(db: Database, event: Envelope) -> None:
    assert _apply(db, event) is True
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(delivery.deliveries)).scalar_one() == 0
