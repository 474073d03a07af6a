"""The payment-info service: stored payment methods, reduced to last-4, brand and a token.

The card number is checked (digits, length, Luhn) and then dropped: the row keeps only the
last four digits, the brand derived from the issuer prefix, and a random token standing in
for the card with a (notional) processor. Neither the number nor any hash of it is stored,
logged or returned. Every RPC is user-scoped: only the owner (or staff) sees a method.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from datetime import datetime, timezone

import grpc
from google.protobuf import empty_pb2
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, func, insert, select

from testbed.shop.runtime import validate
from testbed.shop.runtime.auth import Authenticator, Principal
from testbed.shop.runtime.deps import Toolkit
from testbed.shop.runtime.server import ServiceDefinition, serve
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.runtime.status import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from testbed.shop.runtime.storage import Database
from testbed.shop.v1 import payment_pb2, payment_pb2_grpc

metadata = MetaData()
payment_infos = Table(
    "payment_infos",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), nullable=False, index=True),
    Column("last4", String(4), nullable=False),
    Column("brand", String(16), nullable=False),
    Column("cardholder_name", String(100), nullable=False),
    Column("expiry_month", Integer, nullable=False),
    Column("expiry_year", Integer, nullable=False),
    Column("token", String(40), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

MIN_DIGITS = 12
MAX_DIGITS = 19
MAX_CARD_INPUT = 40  # digits plus separators
MAX_YEARS_AHEAD = 20
MAX_METHODS_PER_USER = 50
_SEPARATORS = re.compile(r"[ \-]")
_DIGITS = re.compile(r"^[0-9]+$")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(digits: str) -> str:
    """Brand from the issuer identification number (IIN) prefix."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in ("34", "37"):
        return "amex"
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649 or 622126 <= six <= 622925:
        return "discover"
    return "other"


def card_number(field: str, value: str) -> str:
    """The card's digits with spaces and dashes removed, or InvalidArgument (never echoing the number)."""
    if not value:
        raise InvalidArgument(field, "is required")
    if len(value) > MAX_CARD_INPUT:
        raise InvalidArgument(field, f"must have {MIN_DIGITS} to {MAX_DIGITS} digits")
    digits = _SEPARATORS.sub("", value)
    if not _DIGITS.fullmatch(digits):
        raise InvalidArgument(field, "may contain only digits, spaces and dashes")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidArgument(field, f"must have {MIN_DIGITS} to {MAX_DIGITS} digits")
    if not luhn_valid(digits):
        raise InvalidArgument(field, "is not a valid card number (checksum failed)")
    return digits


def expiry(month: int, year: int, now: datetime | None = None) -> tuple[int, int]:
    """(month, year) if the card is not expired and the year is at most 20 years ahead."""
    today = now or datetime.now(timezone.utc)
    validate.int_range("expiry_month", month, 1, 12)
    validate.int_range("expiry_year", year, today.year, today.year + MAX_YEARS_AHEAD)
    if year == today.year and month < today.month:
        raise InvalidArgument("expiry_month", "the card has expired")
    return month, year


def new_token() -> str:
    return "tok_" + secrets.token_hex(12)


def _to_proto(row: object) -> payment_pb2.PaymentInfo:
    msg = payment_pb2.PaymentInfo(
        id=row.id, user_id=row.user_id, last4=row.last4, brand=row.brand, cardholder_name=row.cardholder_name,  # type: ignore[attr-defined]
        expiry_month=row.expiry_month, expiry_year=row.expiry_year, token=row.token,  # type: ignore[attr-defined]
    )
    msg.created_at.FromNanoseconds(int(row.created_at * 1e9))  # type: ignore[attr-defined]
    return msg


def _check_owner(who: Principal, owner_id: str) -> None:
    if who.user_id != owner_id and not who.is_staff():
        raise PermissionDenied("this payment method belongs to another user")


class PaymentInfoServicer(payment_pb2_grpc.PaymentInfoServiceServicer):
    def __init__(self, db: Database, auth: Authenticator) -> None:
        self._db = db
        self._auth = auth

    def CreatePaymentInfo(self, request: payment_pb2.CreatePaymentInfoRequest, context: grpc.ServicerContext) -> payment_pb2.PaymentInfo:
        user_id = validate.ident("user_id", request.user_id)
        digits = card_number("card_number", request.card_number)
        name = validate.text("cardholder_name", request.cardholder_name, max_len=100)
        month, year = expiry(request.expiry_month, request.expiry_year)
        who = self._auth.principal()
        if who.user_id != user_id:
            raise PermissionDenied("a payment method can only be added by its owner")
        row = {
            "id": uuid.uuid4().hex, "user_id": user_id, "last4": digits[-4:], "brand": card_brand(digits),
            "cardholder_name": name, "expiry_month": month, "expiry_year": year, "token": new_token(), "created_at": time.time(),
        }
        t = payment_infos
        with self._db.write() as conn:
            count = conn.execute(select(func.count()).select_from(t).where(t.c.user_id == user_id)).scalar_one()
            if count >= MAX_METHODS_PER_USER:
                raise FailedPrecondition(f"at most {MAX_METHODS_PER_USER} payment methods per user; delete one first")
            conn.execute(insert(t).values(**row))
        return self._get(row["id"], who)

    def _get(self, info_id: str, who: Principal) -> payment_pb2.PaymentInfo:
        with self._db.read() as conn:
            row = conn.execute(select(payment_infos).where(payment_infos.c.id == info_id)).first()
        if row is None:
            raise NotFound(f"payment info {info_id} not found")
        _check_owner(who, row.user_id)
        return _to_proto(row)

    def GetPaymentInfo(self, request: payment_pb2.GetPaymentInfoRequest, context: grpc.ServicerContext) -> payment_pb2.PaymentInfo:
        info_id = validate.ident("id", request.id)
        return self._get(info_id, self._auth.principal())

    def DeletePaymentInfo(self, request: payment_pb2.DeletePaymentInfoRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        info_id = validate.ident("id", request.id)
        who = self._auth.principal()
        t = payment_infos
        with self._db.write() as conn:
            row = conn.execute(select(t.c.user_id).where(t.c.id == info_id)).first()
            if row is None:
                raise NotFound(f"payment info {info_id} not found")
            _check_owner(who, row.user_id)
            conn.execute(delete(t).where(t.c.id == info_id))
        return empty_pb2.Empty()

    def ListPaymentInfos(self, request: payment_pb2.ListPaymentInfosRequest, context: grpc.ServicerContext) -> payment_pb2.ListPaymentInfosResponse:
        user_id = validate.ident("user_id", request.user_id)
        self._auth.owner(user_id)
        t = payment_infos
        with self._db.read() as conn:
            rows = conn.execute(select(t).where(t.c.user_id == user_id).order_by(t.c.created_at.desc(), t.c.id)).all()
        return payment_pb2.ListPaymentInfosResponse(payment_infos=[_to_proto(r) for r in rows])


def build(settings: ServiceSettings) -> ServiceDefinition:
    kit = Toolkit(settings)
    db = Database(settings.sql_url(), metadata)
    servicer = PaymentInfoServicer(db, kit.authenticator())

    def stop() -> None:
        db.close()
        kit.close()

    return ServiceDefinition(
        register=lambda server: payment_pb2_grpc.add_PaymentInfoServiceServicer_to_server(servicer, server),
        service_names=[payment_pb2.DESCRIPTOR.services_by_name["PaymentInfoService"].full_name],
        on_stop=stop,
    )


def run(settings: ServiceSettings) -> int:
    return serve(settings, build)
