"""The bring-up record built from ansible-runner events: steps, durations, changes, the failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testbed.bringup.record import Recorder

pytestmark = pytest.mark.unit


def start(task: str) -> dict[str, Any]:
    return {"event": "playbook_on_task_start", "event_data": {"task": task}}


def ok(task: str, **res: Any) -> dict[str, Any]:
    return {"event": "runner_on_ok", "event_data": {"task": task, "res": res}}


def test_steps_changes_progress_and_failure(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    rec = Recorder(lambda step, phase: seen.append((step, phase)))
    for event in [
        start("drift | which steps have something to do"), ok("drift | which steps have something to do"),
        start("bring up {{ step.name }}"),
        start("crds | apply"), ok("crds | apply", changed=True),
        start("crds | wait"), ok("crds | wait", changed=False, component="crds", simulated=[]),
        start("postgres | apply"), ok("postgres | apply", changed=False),
        start("postgres | wait"),
        {"event": "runner_on_failed", "event_data": {"task": "postgres | wait", "res": {
            "msg": "postgres: not ready", "component": "postgres", "diagnosis": "Cluster x\nconditions:"}}},
    ]:
        assert rec.on_event(event) is True
    rec.finish("failed", 2, tmp_path)
    assert list(rec.steps) == ["crds", "postgres"]
    assert rec.steps["crds"].changed == 1 and rec.steps["crds"].result == "ok"
    assert rec.changed == 1
    assert rec.failure is rec.steps["postgres"] and rec.failure.diagnosis.startswith("Cluster x")
    assert ("crds", "waiting") in seen and ("crds", "ready") in seen and ("postgres", "failed") in seen
    data = rec.to_json()
    assert data["failed_step"] == "postgres" and data["status"] == "failed"


def test_a_failure_outside_any_step_is_still_recorded(tmp_path: Path) -> None:
    rec = Recorder()
    rec.on_event({"event": "runner_on_failed", "event_data": {"task": "drift | which steps have something to do",
                                                              "res": {"msg": "HTTP 403"}}})
    rec.finish("failed", 2, tmp_path)
    assert rec.failure is not None and rec.failure.message == "HTTP 403"
