"""The point service: loyalty points credited from OrderPlaced events, exactly once per order.

Points are earned at one per whole currency unit of the order total. Crediting is guarded
twice: the inbox skips an event id seen before, and the ledger's UNIQUE order_id skips an
order seen before under another event id. Balance and history are readable by their owner
(or staff) only.
"""

from __future__ import annotations

import logging
import time

import grpc
from sqlalchemy import BigInteger, Column, Connection, Float, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from testbed.shop.events import Envelope, order_placed
from testbed.shop.events.inbox import Inbox, inbox_tables
from testbed.shop.events.wiring import consumer_worker
from testbed.shop.runtime import validate
from testbed.shop.runtime.auth import Authenticator
from testbed.shop.runtime.deps import Toolkit
from testbed.shop.runtime.jsonlog import log
from testbed.shop.runtime.server import ServiceDefinition, serve
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.runtime.storage import Database
from testbed.shop.v1 import point_pb2, point_pb2_grpc

ORDERS_STREAM = order_placed.STREAM
CENTS_PER_POINT = 100
CREDIT_REASON = "order placed"
MAX_ID_LEN = order_placed.MAX_ID_LEN

metadata = MetaData()
ledger = Table(
    "point_ledger",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(64), nullable=False, unique=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("points", BigInteger, nullable=False),
    Column("reason", String(100), nullable=False),
    Column("created_at", Float, nullable=False),
)
balances = Table(
    "point_balances",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("points", BigInteger, nullable=False),
)
inbox_table, cursor_table = inbox_tables(metadata)


def points_for(total_cents: int) -> int:
    """Points earned by an order: one per whole currency unit; never negative."""
    return max(total_cents, 0) // CENTS_PER_POINT


class OrderPlacedHandler:
    """Credits an order's points inside the consumer's transaction (writes only through `conn`).

    Events that cannot be applied are logged and treated as applied, so one bad event never
    blocks the stream: an unknown event type, a payload that does not parse as OrderPlaced,
    and an OrderPlaced whose order_id or user_id is empty or longer than the columns hold,
    or whose total is negative.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def __call__(self, conn: Connection, event: Envelope) -> None:
        placed = order_placed.decode(event, self._logger)
        if placed is None:
            return
        points = points_for(placed.total_cents)
        try:
            with conn.begin_nested():  # a savepoint, so a duplicate order leaves the outer transaction usable
                conn.execute(insert(ledger).values(order_id=placed.order_id, user_id=placed.user_id, points=points, reason=CREDIT_REASON, created_at=time.time()))
        except IntegrityError:
            log(self._logger, logging.WARNING, "order already credited; event skipped", event_id=event.id, order_id=placed.order_id)
            return
        if conn.execute(update(balances).where(balances.c.user_id == placed.user_id).values(points=balances.c.points + points)).rowcount == 0:
            conn.execute(insert(balances).values(user_id=placed.user_id, points=points))
        log(self._logger, logging.INFO, "points credited", event_id=event.id, order_id=placed.order_id, user_id=placed.user_id, points=points)



def _entry(row: object) -> point_pb2.PointEntry:
    msg = point_pb2.PointEntry(order_id=row.order_id, points=row.points, reason=row.reason)  # type: ignore[attr-defined]
    msg.created_at.FromNanoseconds(int(row.created_at * 1e9))  # type: ignore[attr-defined]
    return msg


class PointServicer(point_pb2_grpc.PointServiceServicer):
    def __init__(self, db: Database, auth: Authenticator) -> None:
        self._db = db
        self._auth = auth

    def GetBalance(self, request: point_pb2.GetBalanceRequest, context: grpc.ServicerContext) -> point_pb2.Balance:
        user_id = validate.ident("user_id", request.user_id)
        self._auth.owner(user_id)
        with self._db.read() as conn:
            points = conn.execute(select(balances.c.points).where(balances.c.user_id == user_id)).scalar()
        return point_pb2.Balance(user_id=user_id, points=points or 0)

    def ListHistory(self, request: point_pb2.ListHistoryRequest, context: grpc.ServicerContext) -> point_pb2.ListHistoryResponse:
        user_id = validate.ident("user_id", request.user_id)
        limit, offset = validate.page("page_size", request.page_size, "page_token", request.page_token)
        self._auth.owner(user_id)
        query = select(ledger).where(ledger.c.user_id == user_id).order_by(ledger.c.seq.desc()).limit(limit + 1).offset(offset)
        with self._db.read() as conn:
            rows, token = validate.page_of(conn.execute(query).all(), offset, limit)
        return point_pb2.ListHistoryResponse(entries=[_entry(r) for r in rows], next_page_token=token)


def build(settings: ServiceSettings) -> ServiceDefinition:
    kit = Toolkit(settings)
    db = Database(settings.sql_url(), metadata)
    consumer = consumer_worker(
        settings, producer="order", stream=ORDERS_STREAM, db=db, inbox=Inbox(inbox_table, cursor_table),
        handler=OrderPlacedHandler(kit.logger), logger=kit.logger,
    )
    servicer = PointServicer(db, kit.authenticator())

    def stop() -> None:
        kit.close()
        db.close()

    return ServiceDefinition(
        register=lambda server: point_pb2_grpc.add_PointServiceServicer_to_server(servicer, server),
        service_names=[point_pb2.DESCRIPTOR.services_by_name["PointService"].full_name],
        workers=[consumer],
        on_stop=stop,
    )


def run(settings: ServiceSettings) -> int:
    return serve(settings, build)
