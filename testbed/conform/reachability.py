"""Check, under a deadline, that the target is up and healthy before any suite runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from testbed.errors import TargetUnreachable, TestbedError
from testbed.targets.base import Endpoints, Target, TargetStatus


@dataclass
class _Answer:
    endpoints: Endpoints | None = None
    status: TargetStatus | None = None
    error: TestbedError | None = None
    crash: str = ""


def check_reachable(target: Target, timeout_s: float) -> Endpoints:
    """The target's endpoints, once `endpoints()` answers and `status().healthy` is true, within `timeout_s`.

    Raises TargetUnreachable naming what was wrong: nothing up, unhealthy services, or no answer in time.
    The probe runs in a daemon thread so a hung target cannot hold the command past the deadline.
    """
    answer = _Answer()

    def probe() -> None:
        try:
            answer.endpoints = target.endpoints()
            answer.status = target.status()
        except TestbedError as err:
            answer.error = err
        except Exception as err:  # a target's bug must read as "unreachable, because ...", not a traceback
            answer.crash = f"{type(err).__name__}: {err}"

    thread = threading.Thread(target=probe, name="reachability", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TargetUnreachable(f"target {target.name!r} did not answer within {timeout_s:g}s")
    if answer.error is not None:
        if isinstance(answer.error, TargetUnreachable):
            raise answer.error
        raise TargetUnreachable(f"target {target.name!r} is not reachable: {answer.error.message}")
    status, endpoints = answer.status, answer.endpoints
    if status is None or endpoints is None:
        raise TargetUnreachable(f"target {target.name!r} could not be queried: {answer.crash or 'no answer'}")
    if not status.anything_up:
        raise TargetUnreachable(f"nothing is up on target {target.name!r}; run `testbed up` first")
    if not status.healthy:
        sick = ", ".join(f"{s.name} ({s.detail or 'unhealthy'})" for s in status.services if not s.healthy)
        raise TargetUnreachable(f"target {target.name!r} is not healthy: {sick or 'no services reported'}")
    return endpoints
