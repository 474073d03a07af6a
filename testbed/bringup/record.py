"""The structured bring-up record, built from ansible-runner's events as they arrive.

Per step: component, stage, start, duration, result (ok/failed/skipped), changed count, and
for a failure the message and diagnosis. The record goes into the run bundle as
bringup.json; live progress is reported per step ("applying", "waiting: ...", "ready").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Progress = Callable[[str, str], None]
PHASES = ("apply", "wait", "create missing", "stand-in operators", "delete", "bootstrap")


@dataclass
class StepRecord:
    step: str
    component: str = ""
    started_s: float = 0.0
    duration_s: float = 0.0
    result: str = "pending"  # ok | failed | pending
    changed: int = 0
    tasks: int = 0
    simulated: list[str] = field(default_factory=list)
    finalizers_removed: list[str] = field(default_factory=list)
    message: str = ""
    diagnosis: str = ""
    note: str = ""  # what a step's module said it did, e.g. "simulated: skipped, no Harbor API on sim"


@dataclass
class Recorder:
    progress: Progress | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    status: str = "running"
    rc: int | None = None
    artifacts: str = ""
    started: float = field(default_factory=time.monotonic)
    elapsed_s: float = 0.0
    changed: int = 0
    failure: StepRecord | None = None
    warnings: list[str] = field(default_factory=list)  # of the plan, e.g. Argo CD's placeholder repository
    ca_cert: str | None = None  # the testbed CA certificate clients trust for the ingress (None: no TLS)
    _current: str | None = None

    def _step_of(self, data: dict[str, Any]) -> str | None:
        """The plan step of a task named "<step> | <phase>" (tasks/step.yml and the special roles)."""
        name = str(data.get("task") or data.get("name") or "")
        step, _, phase = name.partition(" | ")
        return step.strip() if phase.strip() in PHASES else None

    def on_event(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        now = time.monotonic() - self.started
        if kind == "playbook_on_task_start":
            name = self._step_of(data)
            if name:
                rec = self.steps.setdefault(name, StepRecord(name, started_s=now))
                if self._current and self._current != name:
                    self._close(self._current, now)
                self._current = name
                phase = str(data.get("task", "")).split(" | ", 1)[1]
                if self.progress:
                    self.progress(name, "waiting" if phase.startswith("wait") else phase)
                rec.tasks += 1
        elif kind in ("runner_on_ok", "runner_on_failed", "runner_on_skipped"):
            name = self._step_of(data)
            res = data.get("res") or {}
            if name is None or name not in self.steps:
                if kind == "runner_on_failed" and not data.get("ignore_errors"):
                    task = str(data.get("task") or "playbook")
                    self.failure = StepRecord(task, component=str(res.get("component") or task), result="failed",
                                              message=str(res.get("msg") or "failed"), diagnosis=str(res.get("diagnosis") or ""))
                return True
            rec = self.steps[name]
            rec.component = str(res.get("component") or rec.component or name.split(":")[0])
            if kind == "runner_on_ok" and res.get("changed"):
                rec.changed += 1
                self.changed += 1
            rec.simulated.extend(res.get("simulated") or [])
            rec.finalizers_removed.extend(res.get("finalizers_removed") or [])
            if kind == "runner_on_ok" and res.get("note"):
                rec.note = str(res["note"])
            if kind == "runner_on_failed" and not data.get("ignore_errors"):
                rec.result = "failed"
                rec.message = str(res.get("msg") or "failed")
                rec.diagnosis = str(res.get("diagnosis") or "")
                rec.component = str(res.get("component") or rec.component)
                self.failure = rec
                if self.progress:
                    self.progress(name, "failed")
        return True

    def _close(self, name: str, now: float) -> None:
        rec = self.steps[name]
        rec.duration_s = round(now - rec.started_s, 3)
        if rec.result == "pending":
            rec.result = "ok"
            if self.progress:
                self.progress(name, rec.note if rec.note.startswith("simulated") else "ready")

    def finish(self, status: str, rc: int | None, artifacts: Path) -> None:
        now = time.monotonic() - self.started
        if self._current:
            self._close(self._current, now)
        self.status, self.rc, self.artifacts, self.elapsed_s = status, rc, str(artifacts), round(now, 3)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "rc": self.rc, "elapsed_s": self.elapsed_s, "changed": self.changed,
                "artifacts": self.artifacts, "failed_step": self.failure.step if self.failure else None,
                "warnings": self.warnings, "ca_cert": self.ca_cert, "steps": [asdict(s) for s in self.steps.values()]}

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_json(), indent=1))
        return path
