"""Validation of every form and query the front end accepts, before any RPC is made.

Bad input never reaches a service as garbage and never produces a 500: each reader
collects one message per field (keyed by the form field's name) and raises `FormInvalid`,
which views render next to the form. The services validate again; their INVALID_ARGUMENT
messages are shown the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_QUANTITY = 99
MAX_SEARCH_CHARS = 200
MAX_PAGE_TOKEN_CHARS = 512
NEW_CARD = "new"


class FormInvalid(Exception):
    """One or more fields are invalid; `errors` maps field name -> message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


class FormReader:
    """Reads fields from submitted form data, collecting one error per bad field."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> str:
        value = self._data.get(name, "")
        return value if isinstance(value, str) else ""

    def text(self, name: str, label: str, *, required: bool = True, min_len: int = 0, max_len: int = 200, strip: bool = True) -> str:
        value = self.raw(name)
        if strip:
            value = value.strip()
        if not value:
            if required:
                self.errors[name] = f"{label} is required."
            return ""
        if len(value) < min_len:
            self.errors[name] = f"{label} must be at least {min_len} characters."
        elif len(value) > max_len:
            self.errors[name] = f"{label} must be at most {max_len} characters."
        elif any(ord(c) < 32 and c not in "\n\r\t" for c in value):
            self.errors[name] = f"{label} contains control characters."
        return value

    def integer(self, name: str, label: str, *, lo: int, hi: int) -> int:
        value = self.raw(name).strip()
        if not value:
            self.errors[name] = f"{label} is required."
            return lo
        if not re.fullmatch(r"[+-]?[0-9]{1,9}", value):
            self.errors[name] = f"{label} must be a whole number."
            return lo
        number = int(value)
        if not lo <= number <= hi:
            self.errors[name] = f"{label} must be between {lo} and {hi}."
            return lo
        return number

    def email(self, name: str = "email", label: str = "Email") -> str:
        value = self.text(name, label, max_len=254)
        if value and name not in self.errors and not EMAIL_RE.match(value):
            self.errors[name] = f"{label} must look like name@example.com."
        return value.lower()

    def identifier(self, name: str, label: str, *, required: bool = True) -> str:
        value = self.text(name, label, required=required, max_len=128)
        if value and name not in self.errors and not ID_RE.match(value):
            self.errors[name] = f"{label} is not a valid id."
        return value

    def check(self) -> None:
        if self.errors:
            raise FormInvalid(self.errors)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass(frozen=True)
class SignUpForm:
    email: str
    display_name: str
    password: str

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> SignUpForm:
        r = FormReader(data)
        form = cls(email=r.email(), display_name=r.text("display_name", "Display name", max_len=80), password=r.text("password", "Password", min_len=8, max_len=128, strip=False))
        r.check()
        return form


@dataclass(frozen=True)
class LoginForm:
    email: str
    password: str

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> LoginForm:
        r = FormReader(data)
        form = cls(email=r.email(), password=r.text("password", "Password", max_len=128, strip=False))
        r.check()
        return form


@dataclass(frozen=True)
class AddToCartForm:
    quantity: int

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> AddToCartForm:
        r = FormReader(data)
        form = cls(quantity=r.integer("quantity", "Quantity", lo=1, hi=MAX_QUANTITY))
        r.check()
        return form


@dataclass(frozen=True)
class RateForm:
    stars: int
    comment: str

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> RateForm:
        r = FormReader(data)
        form = cls(stars=r.integer("stars", "Rating", lo=1, hi=5), comment=r.text("comment", "Review", required=False, max_len=1000))
        r.check()
        return form


@dataclass(frozen=True)
class CommentForm:
    body: str
    parent_id: str

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> CommentForm:
        r = FormReader(data)
        form = cls(body=r.text("body", "Comment", max_len=2000), parent_id=r.identifier("parent_id", "Reply target", required=False))
        r.check()
        return form


@dataclass(frozen=True)
class NewCard:
    card_number: str
    cardholder_name: str
    expiry_month: int
    expiry_year: int


@dataclass(frozen=True)
class CheckoutForm:
    """Pay with a saved card (`payment_info_id`) or a new one (`new_card`)."""

    payment_info_id: str
    new_card: NewCard | None

    @classmethod
    def read(cls, data: Mapping[str, Any], *, today: dt.date | None = None) -> CheckoutForm:
        r = FormReader(data)
        choice = r.raw("payment_choice").strip()
        if not choice:
            r.errors["payment_choice"] = "Choose a saved card or add a new one."
            r.check()
        if choice != NEW_CARD:
            payment_info_id = r.identifier("payment_choice", "Saved card")
            r.check()
            return cls(payment_info_id=payment_info_id, new_card=None)
        card = read_new_card(r, today=today or dt.date.today())
        r.check()
        return cls(payment_info_id="", new_card=card)


def read_new_card(r: FormReader, *, today: dt.date) -> NewCard:
    number = re.sub(r"[\s-]", "", r.raw("card_number"))
    if not number:
        r.errors["card_number"] = "Card number is required."
    elif not number.isdigit() or not 12 <= len(number) <= 19:
        r.errors["card_number"] = "Card number must be 12 to 19 digits."
    elif not luhn_ok(number):
        r.errors["card_number"] = "Card number is not valid (check digit mismatch)."
    name = r.text("cardholder_name", "Cardholder name", max_len=100)
    month = r.integer("expiry_month", "Expiry month", lo=1, hi=12)
    year = r.integer("expiry_year", "Expiry year", lo=today.year, hi=today.year + 20)
    if "expiry_month" not in r.errors and "expiry_year" not in r.errors and (year, month) < (today.year, today.month):
        r.errors["expiry_month"] = "The card has expired."
    return NewCard(card_number=number, cardholder_name=name, expiry_month=month, expiry_year=year)


@dataclass(frozen=True)
class ProductQuery:
    """The product list's query string: search text and the page position."""

    q: str
    page_token: str
    prev: tuple[str, ...]

    @classmethod
    def read(cls, params: Mapping[str, Any], prev: list[str]) -> ProductQuery:
        r = FormReader(params)
        q = r.text("q", "Search", required=False, max_len=MAX_SEARCH_CHARS)
        token = r.text("page_token", "Page", required=False, max_len=MAX_PAGE_TOKEN_CHARS)
        trail = tuple(t for t in prev[-50:] if len(t) <= MAX_PAGE_TOKEN_CHARS)
        r.check()
        return cls(q=q, page_token=token, prev=trail)


def valid_id(value: str) -> bool:
    """Whether a path segment can be an entity id (anything else is a 404 without an RPC)."""
    return bool(ID_RE.match(value))


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to return to after login; anything else (open redirects) becomes `default`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 1000:
        return default
    if any(ord(c) < 32 for c in value):
        return default
    return value
