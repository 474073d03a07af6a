"""Deadline-bound polling, so no wait in testbed can hang or fail without saying why.

Every wait names what it waits for and remembers the last state it observed; when the
deadline passes it raises `WaitTimeout` with both, which is what a person debugging a
red CI run needs first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from testbed.errors import WaitTimeout

T = TypeVar("T")


@dataclass(frozen=True)
class Seen(Generic[T]):
    """One observation of a poll: whether the wait is over, a short description, and a value."""

    done: bool
    state: str
    value: T | None = None


def wait_until(
    what: str,
    probe: Callable[[], Seen[T]],
    *,
    timeout_s: float,
    interval_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T | None:
    """Call `probe` until it reports done, and return its value.

    Raises WaitTimeout naming `what` and the last state seen when `timeout_s` passes.
    The probe is always called at least once, and once more right at the deadline.
    """
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    deadline = clock() + timeout_s
    last_state = "never observed"
    while True:
        seen = probe()
        last_state = seen.state
        if seen.done:
            return seen.value
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(what, timeout_s, last_state)
        sleep(min(interval_s, remaining))
