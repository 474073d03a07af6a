"""Field validation for requests: each check raises InvalidArgument naming the field."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import TypeVar

from testbed.shop.runtime.status import InvalidArgument

_ID = re.compile(r"^[0-9a-f]{32}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
T = TypeVar("T")


def ident(field: str, value: str) -> str:
    if not value:
        raise InvalidArgument(field, "is required")
    if not _ID.fullmatch(value):
        raise InvalidArgument(field, "must be a 32-character lowercase hex id")
    return value


def optional_ident(field: str, value: str) -> str:
    return ident(field, value) if value else ""


def text(field: str, value: str, *, max_len: int, min_len: int = 1, single_line: bool = True) -> str:
    stripped = value.strip()
    if len(stripped) < min_len:
        raise InvalidArgument(field, "is required" if min_len == 1 else f"must be at least {min_len} characters")
    if len(value) > max_len:
        raise InvalidArgument(field, f"must be at most {max_len} characters")
    if "\x00" in value or (single_line and any(c in value for c in "\r\n")):
        raise InvalidArgument(field, "contains forbidden control characters")
    return stripped


def email(field: str, value: str) -> str:
    value = value.strip().lower()
    if not value:
        raise InvalidArgument(field, "is required")
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise InvalidArgument(field, "is not a valid email address")
    return value


def int_range(field: str, value: int, lo: int, hi: int) -> int:
    if not lo <= value <= hi:
        raise InvalidArgument(field, f"must be between {lo} and {hi}")
    return value


def page(size_field: str, size: int, token_field: str, token: str) -> tuple[int, int]:
    """(limit, offset) from a page size and an opaque page token."""
    if size < 0 or size > MAX_PAGE_SIZE:
        raise InvalidArgument(size_field, f"must be between 0 and {MAX_PAGE_SIZE}")
    return size or DEFAULT_PAGE_SIZE, decode_token(token_field, token)


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_token(field: str, token: str) -> int:
    if not token:
        return 0
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument(field, "is not a valid page token") from None
    prefix, _, number = raw.partition(":")
    # ASCII digits only: str.isdigit() also accepts '¹' or '٣', which int() then rejects (or reads as 3).
    if prefix != "o" or not re.fullmatch(r"[0-9]{1,9}", number):
        raise InvalidArgument(field, "is not a valid page token")
    return int(number)


def page_of(rows: Sequence[T], offset: int, limit: int) -> tuple[Sequence[T], str]:
    """The page and the next page token, from a query run with `.limit(limit + 1)`.

    The extra row says whether another page exists, so a last page that is exactly full
    gets no token (a token to an empty page would make clients fetch once more for nothing).
    """
    if len(rows) > limit:
        return rows[:limit], encode_token(offset + limit)
    return rows, ""
