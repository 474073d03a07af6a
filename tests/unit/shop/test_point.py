"""Point crediting: the points rule and exactly-once application of OrderPlaced events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from testbed.shop.events import Envelope
from testbed.shop.events.inbox import Inbox
from testbed.shop.runtime.storage import Database
from testbed.shop.services import point
from testbed.shop.v1 import events_pb2

pytestmark = pytest.mark.unit

USER = "a" * 32


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'point.db'}", point.metadata)
    yield database
    database.close()


def _event(order_id: str, total_cents: int, *, user_id: str = USER, event_type: str = "OrderPlaced", payload: bytes | None = None) -> Envelope:
    if payload is None:
        payload = events_pb2.OrderPlaced(order_id=order_id, user_id=user_id, total_cents=total_cents).SerializeToString()
    return Envelope(id=uuid.uuid4().hex, sequence=1, stream="orders", type=event_type, payload=payload)


def _apply(db: Database, event: Envelope) -> bool:
    handler = point.OrderPlacedHandler(logging.getLogger("test"))
    with db.write() as conn:
        return Inbox(point.inbox_table, point.cursor_table).apply_once(conn, event, handler)


def _balance(db: Database, user_id: str = USER) -> int:
    with db.read() as conn:
        return int(conn.execute(select(point.balances.c.points).where(point.balances.c.user_id == user_id)).scalar() or 0)


def _ledger_rows(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(point.ledger)).scalar_one())


@pytest.mark.parametrize(("total_cents", "points"), [(0, 0), (99, 0), (100, 1), (12345, 123), (-500, 0), (2**62, 2**62 // 100)])
def test_one_point_per_whole_currency_unit(total_cents: int, points: int) -> None:
    assert point.points_for(total_cents) == points


def test_same_event_applied_twice_credits_once(db: Database) -> None:
    event = _event("b" * 32, 12345)
    assert _apply(db, event) is True
    assert _apply(db, event) is False
    assert _balance(db) == 123
    assert _ledger_rows(db) == 1


def test_same_order_under_another_event_id_credits_once(db: Database) -> None:
    _apply(db, _event("b" * 32, 12345))
    assert _apply(db, _event("b" * 32, 12345)) is True  # the inbox has not seen this id; the ledger guard skips it
    assert _balance(db) == 123
    assert _ledger_rows(db) == 1


def test_orders_accumulate_per_user(db: Database) -> None:
    _apply(db, _event("b" * 32, 1000))
    _apply(db, _event("c" * 32, 250))
    _apply(db, _event("d" * 32, 700, user_id="e" * 32))
    assert _balance(db) == 12
    assert _balance(db, "e" * 32) == 7


@pytest.mark.parametrize(
    "event",
    [
        _event("b" * 32, 100, event_type="OrderCancelled"),
        _event("b" * 32, 100, payload=b"\xff\xff\xff not a protobuf"),
        _event("", 100),
        _event("b" * 32, 100, user_id=""),
        _event("b" * 65, 100),
        _event("b" * 32, -100),
    ],
    ids=["unknown-type", "garbage-payload", "no-order-id", "no-user-id", "order-id-too-long", "negative-total"],
)
def test_unusable_events_are_consumed_without_effect(db: Database, event: Envelope) -> None:
    assert _apply(db, event) is True  # recorded as applied so the stream moves on
    assert _apply(db, event) is False
    assert _ledger_rows(db) == 0
