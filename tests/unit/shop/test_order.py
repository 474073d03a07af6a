"""Order service logic: line validation, idempotency on (user, key), and the outbox event."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.shop.events.outbox import Outbox
from testbed.shop.runtime.auth import Principal
from testbed.shop.runtime.status import FailedPrecondition, InvalidArgument
from testbed.shop.runtime.storage import Database
from testbed.shop.services import order as order_service
from testbed.shop.v1 import events_pb2, order_pb2, payment_pb2, user_pb2

pytestmark = pytest.mark.unit

USER = "1" * 32
OTHER = "2" * 32
PAYMENT = "3" * 32
PRODUCT = "4" * 32


def _line(**kw: object) -> order_pb2.OrderLine:
    fields: dict[str, object] = {"product_id": PRODUCT, "product_name": "Apple", "quantity": 2, "unit_price_cents": 150}
    fields.update(kw)
    return order_pb2.OrderLine(**fields)  # type: ignore[arg-type]


def test_lines_are_validated_and_totalled() -> None:
    lines = order_service.validate_lines([_line(), _line(quantity=1, unit_price_cents=0, product_name="  Pear ")])
    assert lines[1].product_name == "Pear"
    assert order_service.total_cents(lines) == 300


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([_line()] * 101, "lines"),
        ([_line(), _line(product_id="X" * 32)], "lines[1].product_id"),
        ([_line(quantity=0)], "lines[0].quantity"),
        ([_line(quantity=1001)], "lines[0].quantity"),
        ([_line(unit_price_cents=-1)], "lines[0].unit_price_cents"),
        ([_line(product_name="")], "lines[0].product_name"),
        ([_line(product_name="a" * 201)], "lines[0].product_name"),
    ],
)
def test_bad_lines_name_the_field(lines: list[order_pb2.OrderLine], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        order_service.validate_lines(lines)
    assert info.value.field == field


@pytest.mark.parametrize("key", ["", "k" * 201, "a\nb"])
def test_bad_idempotency_keys(key: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        order_service.idempotency_key(key)
    assert info.value.field == "idempotency_key"


class _Auth:
    def principal(self) -> Principal:
        return Principal(USER, ("customer",))

    def owner(self, user_id: str) -> Principal:
        assert user_id == USER
        return self.principal()


class _Done:
    """Stands in for a finished gRPC future."""

    def __init__(self, value: object) -> None:
        self._value = value

    def result(self) -> object:
        return self._value

    def cancel(self) -> bool:
        return False


class _Method:
    def __init__(self, answer) -> None:  # type: ignore[no-untyped-def]
        self.answer = answer
        self.calls = 0

    def future(self, request: object, timeout: float) -> _Done:
        self.calls += 1
        return _Done(self.answer(request))


class _Users:
    def __init__(self) -> None:
        self.GetUser = _Method(lambda req: user_pb2.User(id=req.id))

    @property
    def calls(self) -> int:
        return self.GetUser.calls


class _Payments:
    def __init__(self, owner: str) -> None:
        self.GetPaymentInfo = _Method(lambda req: payment_pb2.PaymentInfo(id=req.id, user_id=owner))


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'order.db'}", order_service.metadata)
    yield database
    database.close()


def _servicer(db: Database, payment_owner: str = USER) -> tuple[order_service.OrderServicer, Outbox, _Users]:
    box = Outbox(db, order_service.outbox)
    users = _Users()
    return order_service.OrderServicer(db, box, _Auth(), users, _Payments(payment_owner)), box, users  # type: ignore[arg-type]


def _request(key: str) -> order_pb2.CreateOrderRequest:
    return order_pb2.CreateOrderRequest(user_id=USER, payment_info_id=PAYMENT, lines=[_line()], idempotency_key=key)


def test_same_key_returns_the_same_order_and_one_event(db: Database) -> None:
    servicer, box, users = _servicer(db)
    first = servicer.CreateOrder(_request("cart:1:0"), None)  # type: ignore[arg-type]
    again = servicer.CreateOrder(_request("cart:1:0"), None)  # type: ignore[arg-type]
    other = servicer.CreateOrder(_request("cart:1:1"), None)  # type: ignore[arg-type]
    assert first == again and other.id != first.id
    assert users.calls == 2  # the repeat was answered from the store without calling user again
    events = box.fetch("orders", 0, 10)
    assert [e.type for e in events] == ["OrderPlaced", "OrderPlaced"]
    placed = events_pb2.OrderPlaced.FromString(events[0].payload)
    assert (placed.order_id, placed.user_id, placed.total_cents, len(placed.lines)) == (first.id, USER, 300, 1)


def test_payment_method_of_another_user_is_refused(db: Database) -> None:
    servicer, box, _ = _servicer(db, payment_owner=OTHER)
    with pytest.raises(FailedPrecondition, match="payment_info_id"):
        servicer.CreateOrder(_request("k"), None)  # type: ignore[arg-type]
    assert box.fetch("orders", 0, 10) == []
