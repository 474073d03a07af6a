"""Pure logic of the payment-info service: Luhn, brand detection, card number and expiry checks."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from testbed.shop.runtime.status import InvalidArgument
from testbed.shop.services.payment import card_brand, card_number, expiry, luhn_valid, new_token

pytestmark = pytest.mark.unit

NOW = datetime(2026, 6, 15, tzinfo=timezone.utc)


@pytest.mark.parametrize("digits", ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "2223003122003222", "79927398713"])
def test_luhn_accepts_valid_numbers(digits: str) -> None:
    assert luhn_valid(digits)


@pytest.mark.parametrize("digits", ["4111111111111112", "5555555555554445", "79927398710"])
def test_luhn_rejects_wrong_check_digit(digits: str) -> None:
    assert not luhn_valid(digits)


@pytest.mark.parametrize(
    ("digits", "brand"),
    [
        ("4111111111111111", "visa"),
        ("5105105105105100", "mastercard"),
        ("2221000000000009", "mastercard"),
        ("2720990000000000", "mastercard"),
        ("378282246310005", "amex"),
        ("341111111111111", "amex"),
        ("6011000990139424", "discover"),
        ("6500000000000002", "discover"),
        ("6440000000000000", "discover"),
        ("6221260000000000", "discover"),
        ("3530111333300000", "other"),
        ("2720999999999999", "mastercard"),
        ("2721000000000000", "other"),
    ],
)
def test_brand_from_iin(digits: str, brand: str) -> None:
    assert card_brand(digits) == brand


def test_card_number_strips_spaces_and_dashes() -> None:
    assert card_number("card_number", "4111 1111-1111 1111") == "4111111111111111"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is required"),
        ("4111a11111111111", "only digits"),
        ("４１１１１１１１１１１１１１１１", "only digits"),  # non-ASCII digits are not card digits
        ("41111111111", "12 to 19 digits"),
        ("4" * 20, "12 to 19 digits"),
        ("1" * 500, "12 to 19 digits"),
        ("4111111111111112", "checksum"),
    ],
)
def test_card_number_rejects_with_field_and_never_echoes_number(value: str, problem: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        card_number("card_number", value)
    assert info.value.field == "card_number"
    assert problem in info.value.message
    if value:
        assert value not in info.value.message


def test_expiry_accepts_current_month_and_twenty_years_ahead() -> None:
    assert expiry(6, 2026, NOW) == (6, 2026)
    assert expiry(1, 2046, NOW) == (1, 2046)


@pytest.mark.parametrize(("month", "year", "field"), [(0, 2027, "expiry_month"), (13, 2027, "expiry_month"), (5, 2026, "expiry_month"), (12, 2025, "expiry_year"), (1, 2047, "expiry_year")])
def test_expiry_rejects(month: int, year: int, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        expiry(month, year, NOW)
    assert info.value.field == field


def test_tokens_are_random_and_shaped() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(t.startswith("tok_") and len(t) == 28 for t in tokens)


def test_card_number_with_a_trailing_newline_is_refused() -> None:
    from testbed.shop.runtime.status import InvalidArgument
    from testbed.shop.services.payment import card_number

    with pytest.raises(InvalidArgument, match="card_number"):
        card_number("card_number", "4242424242424242\n")
