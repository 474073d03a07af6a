"""The order service: creates orders idempotently and publishes OrderPlaced through an outbox.

CreateOrder checks the caller owns `user_id`, asks the user service that the user exists and
the payment-info service that the payment method exists and belongs to the user (both with
the caller's propagated token), then writes the order, its lines and an OrderPlaced event in
one transaction. Once that transaction committed the event cannot be lost: the EventFeed this
service serves (embedded mode) or the JetStream relay (with NATS) delivers it at least once.

Idempotency: (user_id, idempotency_key) is unique. A request whose key was seen before gets
the existing order back unchanged, whatever else it carries, and without calling user or
payment again; two racing requests with the same key are settled by the unique constraint.
The key is required, because callers (cart.Commit, and gRPC's own retries) rely on it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import grpc
from sqlalchemy import BigInteger, Column, Connection, Float, ForeignKey, Integer, MetaData, String, Table, UniqueConstraint, insert, select
from sqlalchemy.exc import IntegrityError

from testbed.shop.events.outbox import EventFeedServicer, Outbox, outbox_table
from testbed.shop.events.wiring import producer_workers
from testbed.shop.runtime import validate
from testbed.shop.runtime.auth import Authenticator
from testbed.shop.runtime.deps import Toolkit
from testbed.shop.runtime.server import ServiceDefinition, serve
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.runtime.status import Aborted, DependencyError, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from testbed.shop.runtime.storage import Database
from testbed.shop.v1 import events_pb2, events_pb2_grpc, order_pb2, order_pb2_grpc, payment_pb2, payment_pb2_grpc, user_pb2, user_pb2_grpc

metadata = MetaData()
orders = Table(
    "orders",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), nullable=False, index=True),
    Column("payment_info_id", String(32), nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("user_id", "idempotency_key", name="uq_orders_user_idempotency_key"),
)
order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(32), ForeignKey("orders.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("product_id", String(32), nullable=False),
    Column("product_name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", BigInteger, nullable=False),
)
outbox = outbox_table(metadata)

STREAM = "orders"
EVENT_TYPE = "OrderPlaced"
MAX_LINES = 100
MAX_QUANTITY = 1000
MAX_UNIT_PRICE_CENTS = 100_000_000
MAX_KEY = 200
DEPENDENCY_DEADLINE_S = 3.0


def validate_lines(lines: Sequence[order_pb2.OrderLine]) -> list[order_pb2.OrderLine]:
    """Each line checked, errors naming `lines[i].field`; the lines returned normalised."""
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidArgument("lines", f"must have 1 to {MAX_LINES} lines")
    checked = []
    for i, line in enumerate(lines):
        checked.append(order_pb2.OrderLine(
            product_id=validate.ident(f"lines[{i}].product_id", line.product_id),
            product_name=validate.text(f"lines[{i}].product_name", line.product_name, max_len=200),
            quantity=validate.int_range(f"lines[{i}].quantity", line.quantity, 1, MAX_QUANTITY),
            unit_price_cents=validate.int_range(f"lines[{i}].unit_price_cents", line.unit_price_cents, 0, MAX_UNIT_PRICE_CENTS),
        ))
    return checked


def idempotency_key(value: str) -> str:
    if not value:
        raise InvalidArgument("idempotency_key", "is required")
    if len(value) > MAX_KEY or not value.isprintable():
        raise InvalidArgument("idempotency_key", f"must be 1 to {MAX_KEY} printable characters")
    return value


def total_cents(lines: Sequence[order_pb2.OrderLine]) -> int:
    return sum(line.quantity * line.unit_price_cents for line in lines)


def _orders_to_proto(conn: Connection, rows: Sequence[object]) -> list[order_pb2.Order]:
    """Orders in the order of `rows`, with their lines (one query for all of them)."""
    ids = [r.id for r in rows]  # type: ignore[attr-defined]
    lines: dict[str, list[order_pb2.OrderLine]] = {i: [] for i in ids}
    if ids:
        t = order_lines
        for ln in conn.execute(select(t).where(t.c.order_id.in_(ids)).order_by(t.c.order_id, t.c.line_no)):
            lines[ln.order_id].append(order_pb2.OrderLine(product_id=ln.product_id, product_name=ln.product_name, quantity=ln.quantity, unit_price_cents=ln.unit_price_cents))
    result = []
    for r in rows:
        msg = order_pb2.Order(id=r.id, user_id=r.user_id, payment_info_id=r.payment_info_id, lines=lines[r.id], total_cents=r.total_cents)  # type: ignore[attr-defined]
        msg.created_at.FromNanoseconds(int(r.created_at * 1e9))  # type: ignore[attr-defined]
        result.append(msg)
    return result


class OrderServicer(order_pb2_grpc.OrderServiceServicer):
    def __init__(self, db: Database, outbox: Outbox, auth: Authenticator, users: user_pb2_grpc.UserServiceStub, payments: payment_pb2_grpc.PaymentInfoServiceStub) -> None:
        self._db = db
        self._outbox = outbox
        self._auth = auth
        self._users = users
        self._payments = payments

    def _by_key(self, user_id: str, key: str) -> order_pb2.Order | None:
        with self._db.read() as conn:
            row = conn.execute(select(orders).where(orders.c.user_id == user_id, orders.c.idempotency_key == key)).first()
            return _orders_to_proto(conn, [row])[0] if row is not None else None

    def _check_dependencies(self, user_id: str, payment_info_id: str) -> None:
        """Both lookups run concurrently, each with its own deadline and the caller's token."""
        user_call = self._users.GetUser.future(user_pb2.GetUserRequest(id=user_id), timeout=DEPENDENCY_DEADLINE_S)
        payment_call = self._payments.GetPaymentInfo.future(payment_pb2.GetPaymentInfoRequest(id=payment_info_id), timeout=DEPENDENCY_DEADLINE_S)
        try:
            user_call.result()
        except grpc.RpcError as err:
            payment_call.cancel()
            raise DependencyError("user", err) from None
        try:
            info = payment_call.result()
        except grpc.RpcError as err:
            raise DependencyError("payment", err) from None
        if info.user_id != user_id:
            raise FailedPrecondition(f"payment_info_id: payment method {payment_info_id} does not belong to user {user_id}")

    def CreateOrder(self, request: order_pb2.CreateOrderRequest, context: grpc.ServicerContext) -> order_pb2.Order:
        user_id = validate.ident("user_id", request.user_id)
        payment_info_id = validate.ident("payment_info_id", request.payment_info_id)
        lines = validate_lines(request.lines)
        key = idempotency_key(request.idempotency_key)
        self._auth.owner(user_id)
        existing = self._by_key(user_id, key)
        if existing is not None:
            return existing
        self._check_dependencies(user_id, payment_info_id)
        order_id = uuid.uuid4().hex
        now = time.time()
        total = total_cents(lines)
        event = events_pb2.OrderPlaced(order_id=order_id, user_id=user_id, total_cents=total, lines=lines)
        event.placed_at.FromNanoseconds(int(now * 1e9))
        try:
            with self._db.write() as conn:
                conn.execute(insert(orders).values(id=order_id, user_id=user_id, payment_info_id=payment_info_id, total_cents=total, idempotency_key=key, created_at=now))
                conn.execute(insert(order_lines), [
                    {"order_id": order_id, "line_no": i, "product_id": ln.product_id, "product_name": ln.product_name, "quantity": ln.quantity, "unit_price_cents": ln.unit_price_cents}
                    for i, ln in enumerate(lines)
                ])
                self._outbox.append(conn, STREAM, EVENT_TYPE, event.SerializeToString())
        except IntegrityError:
            # A concurrent request with the same key won the race: its order is the answer.
            existing = self._by_key(user_id, key)
            if existing is None:
                raise Aborted("the order could not be stored; retry with the same idempotency_key") from None
            return existing
        self._outbox.notify()
        with self._db.read() as conn:
            return _orders_to_proto(conn, [conn.execute(select(orders).where(orders.c.id == order_id)).one()])[0]

    def GetOrder(self, request: order_pb2.GetOrderRequest, context: grpc.ServicerContext) -> order_pb2.Order:
        order_id = validate.ident("id", request.id)
        who = self._auth.principal()
        with self._db.read() as conn:
            row = conn.execute(select(orders).where(orders.c.id == order_id)).first()
            if row is None:
                raise NotFound(f"order {order_id} not found")
            if row.user_id != who.user_id and not who.is_staff():
                raise PermissionDenied("this order belongs to another user")
            return _orders_to_proto(conn, [row])[0]

    def ListOrders(self, request: order_pb2.ListOrdersRequest, context: grpc.ServicerContext) -> order_pb2.ListOrdersResponse:
        user_id = validate.ident("user_id", request.user_id)
        limit, offset = validate.page("page_size", request.page_size, "page_token", request.page_token)
        self._auth.owner(user_id)
        t = orders
        query = select(t).where(t.c.user_id == user_id).order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit + 1).offset(offset)
        with self._db.read() as conn:
            rows, token = validate.page_of(conn.execute(query).all(), offset, limit)
            result = _orders_to_proto(conn, rows)
        return order_pb2.ListOrdersResponse(orders=result, next_page_token=token)


def build(settings: ServiceSettings) -> ServiceDefinition:
    kit = Toolkit(settings)
    db = Database(settings.sql_url(), metadata)
    box = Outbox(db, outbox)
    servicer = OrderServicer(
        db, box, kit.authenticator(),
        user_pb2_grpc.UserServiceStub(kit.channel("user")),
        payment_pb2_grpc.PaymentInfoServiceStub(kit.channel("payment")),
    )
    feed = EventFeedServicer(box, (STREAM,))

    def register(server: grpc.Server) -> None:
        order_pb2_grpc.add_OrderServiceServicer_to_server(servicer, server)
        events_pb2_grpc.add_EventFeedServicer_to_server(feed, server)

    def stop() -> None:
        db.close()
        kit.close()

    return ServiceDefinition(
        register=register,
        service_names=[
            order_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name,
            events_pb2.DESCRIPTOR.services_by_name["EventFeed"].full_name,
        ],
        workers=producer_workers(settings, box, kit.logger),
        on_stop=stop,
    )


def run(settings: ServiceSettings) -> int:
    return serve(settings, build)
