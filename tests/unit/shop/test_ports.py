from __future__ import annotations

import socket
from concurrent.futures import ProcessPoolExecutor

import pytest

from testbed.shop import ports

pytestmark = pytest.mark.unit


def test_ports_are_below_the_ephemeral_range_and_bindable() -> None:
    chosen = ports.allocate(20)
    lo, hi = ports.candidate_range()
    assert len(set(chosen)) == 20
    assert all(lo <= p <= hi < ports.ephemeral_floor() or p >= 61000 for p in chosen)
    assert all(ports.bindable(p) for p in chosen)


def test_concurrent_allocators_never_hand_out_the_same_port() -> None:
    with ProcessPoolExecutor(4) as pool:
        batches = list(pool.map(ports.allocate, [25] * 8))
    flat = [p for batch in batches for p in batch]
    assert len(flat) == len(set(flat)) == 200


def test_a_listening_port_is_not_bindable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert not ports.bindable(s.getsockname()[1])
