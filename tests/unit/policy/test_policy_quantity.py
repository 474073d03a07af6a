from decimal import Decimal

import pytest

from testbed.policy.quantity import QuantityError, parse_quantity

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "value"), [
    ("250m", Decimal("0.25")), ("1", Decimal(1)), (2, Decimal(2)), ("0.5", Decimal("0.5")),
    ("1Ki", Decimal(1024)), ("128Mi", Decimal(128 * 2**20)), ("1.5Gi", Decimal("1.5") * 2**30),
    ("2k", Decimal(2000)), ("3M", Decimal(3_000_000)), ("1G", Decimal(10**9)), ("1e3", Decimal(1000)),
    ("1E3", Decimal(1000)), ("5E", Decimal(5 * 10**18)), ("100n", Decimal("1e-7")), ("+1", Decimal(1)),
    (".5", Decimal("0.5")), ("12u", Decimal("0.000012")), ("1Ti", Decimal(2**40)), (1.5, Decimal("1.5")),
])
def test_parses_kubernetes_quantities(text: object, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1x", "1KiB", "Mi", "1.2.3", "--1", "1 Gi", True, None, [1], "1e999"])
def test_rejects_malformed_quantities(text: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)
