"""Cart store semantics (SQL store on a SQLite file): caps, removal, and the settle compare-and-increment.

The checks are plain functions of a store so the same ones can be run against the Redis
store by hand (or by an integration test) without copying them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.errors import ConfigError
from testbed.shop.runtime.status import FailedPrecondition, Unavailable
from testbed.shop.services.cart_store import MAX_LINES, CartStore, RedisCartStore, SqlCartStore, open_store

pytestmark = pytest.mark.unit

U = "a" * 32
P1 = "1" * 32
P2 = "2" * 32


def check_add_sums_and_caps_lines(store: CartStore) -> None:
    assert store.get(U).items == {}
    store.add(U, P2, 3)
    store.add(U, P1, 999)
    state = store.add(U, P1, 5)
    assert state.items == {P1: 1000, P2: 3}
    assert list(state.items) == [P1, P2]  # sorted by product id
    assert state.generation == 0


def check_remove(store: CartStore) -> None:
    store.add(U, P1, 5)
    store.add(U, P2, 2)
    assert store.remove(U, P1, 2).items == {P1: 3, P2: 2}
    assert store.remove(U, P1, 3).items == {P2: 2}
    assert store.remove(U, P1, 1).items == {P2: 2}  # absent line: no-op
    assert store.remove(U, P2, 0).items == {}


def check_line_limit(store: CartStore) -> None:
    for i in range(MAX_LINES):
        store.add(U, f"{i:032x}", 1)
    with pytest.raises(FailedPrecondition, match="full"):
        store.add(U, "f" * 32, 1)
    assert store.add(U, f"{0:032x}", 1).items[f"{0:032x}"] == 2  # existing lines still grow


def check_settle_is_compare_and_increment(store: CartStore) -> None:
    store.add(U, P1, 2)
    store.add(U, P2, 1)
    assert store.settle(U, 0, {P1: 2, P2: 1}) is True
    assert store.get(U).generation == 1 and store.get(U).items == {}
    assert store.settle(U, 0, {P1: 2}) is False  # a second settle of generation 0 changes nothing
    store.add(U, P1, 4)
    assert store.settle(U, 0, {P1: 4}) is False
    assert store.get(U).items == {P1: 4}
    assert store.settle(U, 1, {P1: 4}) is True
    assert store.get(U).generation == 2


def check_settle_keeps_what_the_order_did_not_buy(store: CartStore) -> None:
    store.add(U, P1, 2)
    store.add(U, P2, 5)  # added while the order for {P1: 2, P2: 3} was in flight
    assert store.settle(U, 0, {P1: 2, P2: 3}) is True
    assert store.get(U).items == {P2: 2}


def check_users_are_separate(store: CartStore) -> None:
    store.add(U, P1, 1)
    assert store.get("b" * 32).items == {}
    assert store.settle("b" * 32, 0, {P1: 1}) is True
    assert store.get(U).items == {P1: 1} and store.get(U).generation == 0


CHECKS = [check_add_sums_and_caps_lines, check_remove, check_line_limit, check_settle_is_compare_and_increment, check_settle_keeps_what_the_order_did_not_buy, check_users_are_separate]


@pytest.fixture
def sql_store(tmp_path: Path) -> Iterator[CartStore]:
    store = SqlCartStore(f"sqlite:///{tmp_path / 'cart.db'}")
    yield store
    store.close()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_sql_store(sql_store: CartStore, check) -> None:  # type: ignore[no-untyped-def]
    check(sql_store)


def test_redis_store_down_is_unavailable_not_a_crash() -> None:
    store = RedisCartStore("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(Unavailable, match="cart store unavailable"):
            store.get(U)
        with pytest.raises(Unavailable):
            store.settle(U, 0, {P1: 1})
    finally:
        store.close()


def test_malformed_redis_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="redis_url"):
        open_store(redis_url="http://nope", sql_url=f"sqlite:///{tmp_path / 'x.db'}")
