from __future__ import annotations

import base64

import pytest

from testbed.shop.runtime import validate
from testbed.shop.runtime.status import InvalidArgument

pytestmark = pytest.mark.unit


def _token(raw: str) -> str:
    """A page token carrying `raw` the way encode_token does (unpadded urlsafe base64)."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("number", ["\u00b9", "\u0663", "1\u00b2", "\uff11", "", "-1", "+1", " 1", "1\n", "1234567890"])
def test_a_page_token_whose_number_is_not_ascii_digits_is_invalid_argument(number: str) -> None:
    """str.isdigit() accepts '¹', '٣' (Arabic-Indic three) and fullwidth '１'; they must be refused, not raise ValueError."""
    with pytest.raises(InvalidArgument, match="page_token"):
        validate.page("page_size", 10, "page_token", _token(f"o:{number}"))
    assert validate.page("page_size", 10, "page_token", _token("o:123456789")) == (10, 123456789)


def test_ident_accepts_hex_ids_and_names_the_field() -> None:
    assert validate.ident("product_id", "a" * 32) == "a" * 32
    for bad in ("", "A" * 32, "a" * 31, "g" * 32, "a" * 32 + "\n"):
        with pytest.raises(InvalidArgument) as err:
            validate.ident("product_id", bad)
        assert err.value.field == "product_id"


def test_text_bounds_and_control_characters() -> None:
    assert validate.text("name", "  Lamp ", max_len=10) == "Lamp"
    with pytest.raises(InvalidArgument, match="name: is required"):
        validate.text("name", "   ", max_len=10)
    with pytest.raises(InvalidArgument, match="at most 3"):
        validate.text("name", "abcd", max_len=3)
    with pytest.raises(InvalidArgument, match="control"):
        validate.text("name", "a\nb", max_len=10)
    assert validate.text("body", "a\nb", max_len=10, single_line=False) == "a\nb"


@pytest.mark.parametrize("good", ["a@b.co", "First.Last+tag@example.com"])
def test_email_accepts(good: str) -> None:
    assert validate.email("email", good) == good.lower()


@pytest.mark.parametrize("bad", ["", "a", "a@", "@b.co", "a@b", "a b@c.co", "a@-b.co", "x" * 65 + "@b.co"])
def test_email_rejects(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="^email: "):
        validate.email("email", bad)


def test_page_tokens_round_trip_and_reject_garbage() -> None:
    assert validate.page("page_size", 0, "page_token", "") == (validate.DEFAULT_PAGE_SIZE, 0)
    token = validate.encode_token(40)
    assert validate.page("page_size", 10, "page_token", token) == (10, 40)
    assert validate.page_of(list(range(11)), 40, 10) == (list(range(10)), validate.encode_token(50))
    assert validate.page_of(list(range(10)), 40, 10) == (list(range(10)), "")  # exactly full, nothing after
    assert validate.page_of([1, 2, 3], 40, 10) == ([1, 2, 3], "")
    for bad in ("!!", "bzp4", "eDoxMA", validate.encode_token(1) + "*", "bzoxMjM0NTY3ODkwMTI"):
        with pytest.raises(InvalidArgument, match="page_token"):
            validate.page("page_size", 10, "page_token", bad)
    with pytest.raises(InvalidArgument, match="page_size"):
        validate.page("page_size", validate.MAX_PAGE_SIZE + 1, "page_token", "")
    with pytest.raises(InvalidArgument, match="page_size"):
        validate.page("page_size", -1, "page_token", "")
