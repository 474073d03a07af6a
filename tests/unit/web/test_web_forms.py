"""Form and query validation: every bad input gives a field message, never an exception."""

from __future__ import annotations

import datetime as dt

import pytest

from testbed.shop.web.forms import (
    NEW_CARD,
    AddToCartForm,
    CheckoutForm,
    CommentForm,
    FormInvalid,
    LoginForm,
    ProductQuery,
    RateForm,
    SignUpForm,
    luhn_ok,
    safe_next,
    valid_id,
)

pytestmark = pytest.mark.unit
TODAY = dt.date(2026, 11, 22)


def errors_of(read, data, **kw) -> dict[str, str]:
    with pytest.raises(FormInvalid) as caught:
        read(data, **kw)
    return caught.value.errors


@pytest.mark.parametrize("value", ["", " ", "abc", "1.5", "0", "100", "-3", "1e3", "99999999999999999999", "٣"])
def test_quantity_rejects_non_numbers_and_out_of_range(value: str) -> None:
    assert "quantity" in errors_of(AddToCartForm.read, {"quantity": value})


@pytest.mark.parametrize("value,expected", [("1", 1), (" 7 ", 7), ("99", 99), ("+2", 2)])
def test_quantity_accepts_whole_numbers_in_range(value: str, expected: int) -> None:
    assert AddToCartForm.read({"quantity": value}).quantity == expected


def test_quantity_message_names_the_range() -> None:
    assert errors_of(AddToCartForm.read, {"quantity": "500"})["quantity"] == "Quantity must be between 1 and 99."


def test_a_non_string_field_counts_as_missing() -> None:
    assert errors_of(AddToCartForm.read, {"quantity": object()})["quantity"] == "Quantity is required."


def test_signup_collects_one_message_per_field() -> None:
    errs = errors_of(SignUpForm.read, {"email": "nope", "display_name": "", "password": "short"})
    assert set(errs) == {"email", "display_name", "password"}
    assert "at least 8" in errs["password"]


def test_signup_normalises_email_and_keeps_password_verbatim() -> None:
    form = SignUpForm.read({"email": " Ann@Example.COM ", "display_name": " Ann ", "password": "  spaced pass  "})
    assert (form.email, form.display_name, form.password) == ("ann@example.com", "Ann", "  spaced pass  ")


def test_control_characters_are_refused() -> None:
    assert "display_name" in errors_of(SignUpForm.read, {"email": "a@b.co", "display_name": "A\x00nn", "password": "password1"})


def test_login_requires_both_fields() -> None:
    assert set(errors_of(LoginForm.read, {})) == {"email", "password"}


@pytest.mark.parametrize("stars", ["0", "6", "x", ""])
def test_rating_is_one_to_five(stars: str) -> None:
    assert "stars" in errors_of(RateForm.read, {"stars": stars})


def test_rating_comment_is_optional_and_bounded() -> None:
    assert RateForm.read({"stars": "4"}).comment == ""
    assert "comment" in errors_of(RateForm.read, {"stars": "4", "comment": "x" * 1001})


def test_comment_needs_a_body_and_a_well_formed_parent() -> None:
    assert "body" in errors_of(CommentForm.read, {"body": "   "})
    assert "parent_id" in errors_of(CommentForm.read, {"body": "hi", "parent_id": "../etc"})
    assert CommentForm.read({"body": "hi", "parent_id": "c-1"}).parent_id == "c-1"


def test_luhn() -> None:
    assert luhn_ok("4242424242424242")
    assert luhn_ok("5555555555554444")
    assert not luhn_ok("4242424242424241")


def new_card(**over: str) -> dict[str, str]:
    data = {"payment_choice": NEW_CARD, "card_number": "4242 4242-4242 4242", "cardholder_name": "Ann", "expiry_month": "12", "expiry_year": "2030"}
    data.update(over)
    return data


def test_checkout_with_a_new_card_strips_separators() -> None:
    form = CheckoutForm.read(new_card(), today=TODAY)
    assert form.new_card is not None and form.new_card.card_number == "4242424242424242"
    assert form.payment_info_id == ""


def test_checkout_with_a_saved_card() -> None:
    form = CheckoutForm.read({"payment_choice": "pay-7"}, today=TODAY)
    assert (form.payment_info_id, form.new_card) == ("pay-7", None)


@pytest.mark.parametrize(
    "over,field",
    [
        ({"card_number": "4242424242424241"}, "card_number"),
        ({"card_number": "4242abcd"}, "card_number"),
        ({"card_number": ""}, "card_number"),
        ({"cardholder_name": ""}, "cardholder_name"),
        ({"expiry_month": "13"}, "expiry_month"),
        ({"expiry_year": "26"}, "expiry_year"),
        ({"expiry_year": "2025"}, "expiry_year"),
        ({"expiry_month": "10", "expiry_year": "2026"}, "expiry_month"),
        ({"payment_choice": ""}, "payment_choice"),
        ({"payment_choice": "<script>"}, "payment_choice"),
    ],
)
def test_checkout_rejects_bad_payment_details(over: dict[str, str], field: str) -> None:
    assert field in errors_of(CheckoutForm.read, new_card(**over), today=TODAY)


def test_card_expiring_this_month_is_still_valid() -> None:
    assert CheckoutForm.read(new_card(expiry_month="11", expiry_year="2026"), today=TODAY).new_card is not None


def test_product_query_bounds_search_and_token() -> None:
    assert ProductQuery.read({"q": " shoes "}, []).q == "shoes"
    assert "q" in errors_of(ProductQuery.read, {"q": "x" * 201}, prev=[])
    assert "page_token" in errors_of(ProductQuery.read, {"page_token": "t" * 513}, prev=[])
    assert len(ProductQuery.read({}, ["a"] * 80).prev) == 50


@pytest.mark.parametrize("value", ["/cart", "/products/p1?x=1", "/"])
def test_safe_next_keeps_local_paths(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize("value", [None, "", "https://evil.example/", "//evil.example", "/\\evil", "cart", "/a\r\nb"])
def test_safe_next_refuses_anything_else(value: str | None) -> None:
    assert safe_next(value) == "/"


@pytest.mark.parametrize("value,ok", [("p1", True), ("3f2a-9_c.1:2", True), ("", False), ("a/b", False), ("a b", False), ("x" * 129, False)])
def test_valid_id(value: str, ok: bool) -> None:
    assert valid_id(value) is ok
