from __future__ import annotations

import pytest

from testbed.errors import WaitTimeout
from testbed.kube.wait import Seen, wait_until

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_returns_the_value_once_done() -> None:
    clock = FakeClock()
    states = iter([Seen(False, "starting"), Seen(True, "ready", 42)])

    assert wait_until("thing", lambda: next(states), timeout_s=5, clock=clock, sleep=clock.sleep) == 42


def test_timeout_names_what_was_awaited_and_the_last_state_seen() -> None:
    clock = FakeClock()
    calls = []

    def probe() -> Seen[None]:
        calls.append(clock.now)
        return Seen(False, f"2/3 ready at t={clock.now:.0f}")

    with pytest.raises(WaitTimeout) as err:
        wait_until("deployment web", probe, timeout_s=3, interval_s=1, clock=clock, sleep=clock.sleep)

    assert err.value.what == "deployment web"
    assert err.value.last_state == "2/3 ready at t=3"
    assert "timed out after 3s waiting for deployment web; last state: 2/3 ready at t=3" == err.value.message
    assert calls == [0, 1, 2, 3], "probed once more right at the deadline"


def test_a_non_positive_timeout_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        wait_until("x", lambda: Seen(True, ""), timeout_s=0)
