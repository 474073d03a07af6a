"""The delivery-status service: one delivery record per order, moved along allowed transitions only.

Records are created PENDING from OrderPlaced events (idempotent on order_id), so a delivery
exists only once the order's event has arrived. Every transition bumps the record's version;
a caller may pass the version it saw to fail with ABORTED instead of overwriting a change it
has not seen. Staff may make any allowed transition; the order's owner may only cancel.
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
from testbed.shop.runtime.auth import Authenticator, Principal
from testbed.shop.runtime.deps import Toolkit
from testbed.shop.runtime.jsonlog import log
from testbed.shop.runtime.server import ServiceDefinition, serve
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.runtime.status import Aborted, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from testbed.shop.runtime.storage import Database
from testbed.shop.v1 import delivery_pb2, delivery_pb2_grpc

ORDERS_STREAM = order_placed.STREAM
MAX_ID_LEN = order_placed.MAX_ID_LEN
FIRST_VERSION = 1

State = delivery_pb2.DeliveryState
PENDING = delivery_pb2.PENDING
PACKED = delivery_pb2.PACKED
SHIPPED = delivery_pb2.SHIPPED
IN_TRANSIT = delivery_pb2.IN_TRANSIT
DELIVERED = delivery_pb2.DELIVERED
CANCELLED = delivery_pb2.CANCELLED
RETURNED = delivery_pb2.RETURNED

# The contract of delivery.proto: state -> states it may move to. Absent = terminal.
TRANSITIONS: dict[int, frozenset[int]] = {
    PENDING: frozenset({PACKED, CANCELLED}),
    PACKED: frozenset({SHIPPED, CANCELLED}),
    SHIPPED: frozenset({IN_TRANSIT, DELIVERED}),
    IN_TRANSIT: frozenset({DELIVERED, RETURNED}),
    DELIVERED: frozenset({RETURNED}),
}
# What the order's owner (not staff) may move a delivery to.
OWNER_TARGETS = frozenset({CANCELLED})

metadata = MetaData()
deliveries = Table(
    "deliveries",
    metadata,
    Column("order_id", String(MAX_ID_LEN), primary_key=True),
    Column("user_id", String(MAX_ID_LEN), nullable=False, index=True),
    Column("state", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
inbox_table, cursor_table = inbox_tables(metadata)


def state_name(state: int) -> str:
    return State.Name(state) if state in State.values() else str(state)


def check_transition(current: int, target: int) -> None:
    """FAILED_PRECONDITION naming both states unless `current` may move to `target`."""
    if target not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(state_name(s) for s in TRANSITIONS.get(current, frozenset()))) or "none (final state)"
        raise FailedPrecondition(f"state: cannot move delivery from {state_name(current)} to {state_name(target)}; allowed from {state_name(current)}: {allowed}")


def check_may_move(who: Principal, owner_id: str, target: int) -> None:
    """Staff may make any move; the order's owner only the OWNER_TARGETS ones; nobody else any."""
    if who.is_staff():
        return
    if who.user_id != owner_id:
        raise PermissionDenied("this delivery belongs to another user")
    if target not in OWNER_TARGETS:
        raise PermissionDenied(f"state: customers may only move their delivery to {', '.join(state_name(s) for s in sorted(OWNER_TARGETS))}")


def _target_state(value: int) -> int:
    if value == delivery_pb2.DELIVERY_STATE_UNSPECIFIED:
        raise InvalidArgument("state", "is required")
    if value not in State.values():
        raise InvalidArgument("state", f"unknown delivery state {value}")
    return value


class OrderPlacedHandler:
    """Creates the order's PENDING delivery inside the consumer's transaction (writes only through `conn`).

    Idempotent on order_id. Events that cannot be applied are logged and treated as applied,
    so one bad event never blocks the stream: an unknown event type, a payload that does not
    parse as OrderPlaced, and an OrderPlaced whose order_id or user_id is empty or too long.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def __call__(self, conn: Connection, event: Envelope) -> None:
        placed = order_placed.decode(event, self._logger)
        if placed is None:
            return
        now = time.time()
        try:
            with conn.begin_nested():  # a savepoint, so a duplicate order leaves the outer transaction usable
                conn.execute(insert(deliveries).values(order_id=placed.order_id, user_id=placed.user_id, state=PENDING, version=FIRST_VERSION, created_at=now, updated_at=now))
        except IntegrityError:
            log(self._logger, logging.WARNING, "delivery already exists; event skipped", event_id=event.id, order_id=placed.order_id)
            return
        log(self._logger, logging.INFO, "delivery created", event_id=event.id, order_id=placed.order_id, user_id=placed.user_id)



def _to_proto(row: object) -> delivery_pb2.Delivery:
    msg = delivery_pb2.Delivery(order_id=row.order_id, user_id=row.user_id, state=row.state, version=row.version)  # type: ignore[attr-defined]
    msg.created_at.FromNanoseconds(int(row.created_at * 1e9))  # type: ignore[attr-defined]
    msg.updated_at.FromNanoseconds(int(row.updated_at * 1e9))  # type: ignore[attr-defined]
    return msg


class DeliveryServicer(delivery_pb2_grpc.DeliveryStatusServiceServicer):
    def __init__(self, db: Database, auth: Authenticator) -> None:
        self._db = db
        self._auth = auth

    def GetDelivery(self, request: delivery_pb2.GetDeliveryRequest, context: grpc.ServicerContext) -> delivery_pb2.Delivery:
        order_id = validate.ident("order_id", request.order_id)
        who = self._auth.principal()
        with self._db.read() as conn:
            row = conn.execute(select(deliveries).where(deliveries.c.order_id == order_id)).first()
        if row is None:
            raise NotFound(f"no delivery for order {order_id} (yet: it is created when the order's event arrives)")
        if row.user_id != who.user_id and not who.is_staff():
            raise PermissionDenied("this delivery belongs to another user")
        return _to_proto(row)

    def ListDeliveries(self, request: delivery_pb2.ListDeliveriesRequest, context: grpc.ServicerContext) -> delivery_pb2.ListDeliveriesResponse:
        user_id = validate.ident("user_id", request.user_id)
        self._auth.owner(user_id)
        query = select(deliveries).where(deliveries.c.user_id == user_id).order_by(deliveries.c.created_at.desc(), deliveries.c.order_id)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return delivery_pb2.ListDeliveriesResponse(deliveries=[_to_proto(r) for r in rows])

    def UpdateStatus(self, request: delivery_pb2.UpdateStatusRequest, context: grpc.ServicerContext) -> delivery_pb2.Delivery:
        order_id = validate.ident("order_id", request.order_id)
        target = _target_state(request.state)
        if request.expected_version < 0:
            raise InvalidArgument("expected_version", "must be >= 0 (0 means any version)")
        who = self._auth.principal()
        with self._db.write() as conn:
            row = conn.execute(select(deliveries).where(deliveries.c.order_id == order_id)).first()
            if row is None:
                raise NotFound(f"no delivery for order {order_id} (yet: it is created when the order's event arrives)")
            check_may_move(who, row.user_id, target)
            if request.expected_version and request.expected_version != row.version:
                raise Aborted(f"expected_version: delivery is at version {row.version}, not {request.expected_version}; re-read and retry")
            check_transition(row.state, target)
            moved = conn.execute(
                update(deliveries)
                .where(deliveries.c.order_id == order_id, deliveries.c.version == row.version)
                .values(state=target, version=row.version + 1, updated_at=time.time())
            )
            if moved.rowcount == 0:
                raise Aborted("delivery changed concurrently; re-read and retry")
            updated = conn.execute(select(deliveries).where(deliveries.c.order_id == order_id)).one()
        return _to_proto(updated)


def build(settings: ServiceSettings) -> ServiceDefinition:
    kit = Toolkit(settings)
    db = Database(settings.sql_url(), metadata)
    consumer = consumer_worker(
        settings, producer="order", stream=ORDERS_STREAM, db=db, inbox=Inbox(inbox_table, cursor_table),
        handler=OrderPlacedHandler(kit.logger), logger=kit.logger,
    )
    servicer = DeliveryServicer(db, kit.authenticator())

    def stop() -> None:
        kit.close()
        db.close()

    return ServiceDefinition(
        register=lambda server: delivery_pb2_grpc.add_DeliveryStatusServiceServicer_to_server(servicer, server),
        service_names=[delivery_pb2.DESCRIPTOR.services_by_name["DeliveryStatusService"].full_name],
        workers=[consumer],
        on_stop=stop,
    )


def run(settings: ServiceSettings) -> int:
    return serve(settings, build)
