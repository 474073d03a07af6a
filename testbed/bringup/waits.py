"""Waiting for a component's objects to be ready under one deadline, and deletion waits for teardown.

Called from the playbooks' `testbed_wait` / `testbed_delete` modules. A wait that runs out
raises ProvisioningFailed naming the component and the first object not ready, with the
diagnosis (conditions, events, failing pods' logs). Deletion strips finalizers of objects
whose controller is gone (always the case for stand-ins) once a grace period has passed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from testbed.bringup.diagnosis import diagnose
from testbed.bringup.readiness import Target, evaluate
from testbed.errors import ProvisioningFailed, TestbedError, WaitTimeout
from testbed.kube.api import KubeAPI
from testbed.kube.objects import ref_label
from testbed.kube.wait import Seen, wait_until

Ref = Mapping[str, Any]  # apiVersion, kind, name, namespace


@dataclass
class WaitReport:
    ready: list[str] = field(default_factory=list)
    simulated: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0


def _wait_label(wait: Mapping[str, Any]) -> str:
    return f"{ref_label(wait)} {wait['for']}"


def wait_ready(api: KubeAPI, component: str, waits: Sequence[Mapping[str, Any]], *, interval_s: float = 0.25,
               clock: Any = time.monotonic) -> WaitReport:
    """Wait until every wait holds, each under its own `timeout_s`.

    The first wait whose deadline passes raises ProvisioningFailed naming the component and
    the object, with the diagnosis (conditions, recent events, failing pods' last log lines).
    """
    start = clock()
    pending = list(waits)
    last: dict[int, list[Target]] = {}
    report = WaitReport()
    overall = max((float(w["timeout_s"]) for w in waits), default=1.0)

    def probe() -> Seen[None]:
        still = []
        for wait in pending:
            targets = evaluate(api, wait)
            last[id(wait)] = targets
            if all(t.ready for t in targets):
                for t in targets:
                    (report.simulated if t.simulated else report.ready).append(f"{t.ref}: {t.detail}")
                continue
            if clock() - start > float(wait["timeout_s"]):
                raise _Expired(wait)
            still.append(wait)
        pending[:] = still
        if not still:
            return Seen(True, "all ready")
        bad = next(t for t in last[id(still[0])] if not t.ready)
        return Seen(False, f"{len(still)} waits pending; {bad.ref}: {bad.detail}")

    try:
        wait_until(f"{component}: {len(waits)} waits", probe, timeout_s=overall + 1.0, interval_s=interval_s)
    except (_Expired, WaitTimeout) as err:
        wait = err.wait if isinstance(err, _Expired) else pending[0]
        bad = next(t for t in last.get(id(wait), []) if not t.ready) if last.get(id(wait)) else None
        ref = dict(wait)
        if bad is not None and not wait.get("name") and "/" in bad.ref and "[" not in bad.ref:
            ref["name"] = bad.ref.rsplit("/", 1)[1]
        detail = f"{bad.ref}: {bad.detail}" if bad else _wait_label(wait)
        message = f"not ready after {float(wait['timeout_s']):.0f}s: {detail} (waiting for {_wait_label(wait)})"
        diagnosis = diagnose(api, ref) if ref.get("name") else "no object to diagnose: nothing matches the selector"
        raise ProvisioningFailed(component, message, diagnosis) from err
    report.elapsed_s = clock() - start
    return report


class _Expired(TestbedError):
    def __init__(self, wait: Mapping[str, Any]) -> None:
        super().__init__(f"wait expired: {_wait_label(wait)}")
        self.wait = wait


def delete_and_wait(api: KubeAPI, component: str, refs: Sequence[Ref], *, timeout_s: float,
                    finalizer_grace_s: float = 10.0) -> dict[str, list[str]]:
    """Delete refs (in reverse order) and wait until they are gone; strip finalizers left after the grace."""
    deleted, stripped = [], []
    for ref in reversed(refs):
        try:
            if api.delete(ref["apiVersion"], ref["kind"], ref["name"], namespace=ref.get("namespace")):
                deleted.append(ref_label(ref))
        except TestbedError as err:
            if "serves no kind" in err.message:
                continue  # its CRD is already gone, and with it the object
            raise
    start = time.monotonic()
    remaining = list(refs)

    def gone() -> Seen[None]:
        still = []
        for ref in remaining:
            try:
                obj = api.get(ref["apiVersion"], ref["kind"], ref["name"], ref.get("namespace"))
            except TestbedError:
                continue  # kind no longer served: gone
            if obj is None:
                continue
            still.append(ref)
            finalizers = obj["metadata"].get("finalizers")
            if finalizers and time.monotonic() - start > finalizer_grace_s and obj["kind"] != "Namespace":
                api.patch(ref["apiVersion"], ref["kind"], ref["name"], {"metadata": {"finalizers": None}},
                          namespace=ref.get("namespace"))
                stripped.append(f"{ref_label(ref)} ({', '.join(finalizers)})")
        remaining[:] = still
        return Seen(not still, "all gone" if not still else f"{len(still)} left, first {ref_label(still[0])}")

    try:
        wait_until(f"{component}: objects deleted", gone, timeout_s=timeout_s, interval_s=0.25)
    except WaitTimeout as err:
        raise ProvisioningFailed(component, f"{ref_label(remaining[0])} still present after {timeout_s:.0f}s",
                                 diagnose(api, remaining[0])) from err
    return {"deleted": deleted, "finalizers_removed": stripped}
