"""What a test does when something it needs is missing: fail under CI=true, skip elsewhere.

A developer without Chromium or kubectl should still get a green local run of what they
can run; CI must never turn a missing tool into a silent skip. Every test that checks for
a prerequisite goes through `require` (or `unavailable`), so the rule lives in one place.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when CI is set to 1, true or yes (any case)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(message: str) -> NoReturn:
    """A prerequisite is missing: fail the test in CI, skip it elsewhere; `message` says how to get it."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require(condition: bool, message: str) -> None:
    """`unavailable(message)` unless `condition` holds."""
    if not condition:
        unavailable(message)
