"""Check, under a deadline, that the target is up and healthy, and that it can be reached from here,
before any suite runs.

`check_reachable` asks the target (endpoints, status) in a daemon thread, so a hung target cannot
hold the command past the deadline. `check_access` then opens and closes the target's `access()`
once, ON THE CALLING THREAD: on kube that starts the port-forwards every suite process will open,
so a missing kubectl, a Service without a running pod or RBAC without pods/portforward is exit 3
with kubectl's own line here, not an "internal error" in every suite. (It must not run in the
probe thread: a thread that ends may take the processes it started with it, see
testbed/kube/watchdog.py, and an abandoned probe would leave them running.)
"""

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


def check_access(target: Target) -> None:
    """Open the target's access() once and close it again (on kube: every port-forward the suites need).

    Raises TargetUnreachable with the target's own reason when it cannot be opened. Other testbed
    errors pass through unchanged (a ConfigError stays a usage error)."""
    with target.access():
        pass
