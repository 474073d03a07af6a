"""pytest hooks that stream test outcomes to `testbed conform` as JSON lines, for live progress.

Loaded only by conform (it passes `-p testbed.bundle.pytest_hooks`) and inert unless
TESTBED_PROGRESS_FILE is set. Each line is one complete JSON object:
{"event": "collected", "total": N} or {"event": "test", "nodeid": ..., "outcome": passed|failed|skipped|error}.
Under pytest-xdist only the controller writes (it receives every worker's reports).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

PROGRESS_ENV = "TESTBED_PROGRESS_FILE"
_state: dict[str, Any] = {"path": None}


def _emit(event: dict[str, Any]) -> None:
    path = _state["path"]
    if path is None:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(event) + "\n")


def pytest_configure(config: pytest.Config) -> None:
    is_xdist_worker = hasattr(config, "workerinput")
    _state["path"] = None if is_xdist_worker else os.environ.get(PROGRESS_ENV) or None


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.items:
        _emit({"event": "collected", "total": len(session.items)})


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    _emit({"event": "collected", "total": len(ids)})


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _emit({"event": "test", "nodeid": report.nodeid, "outcome": "error"})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        outcome = "skipped" if report.skipped else report.outcome
    elif report.failed:
        outcome = "error"
    elif report.skipped and report.when == "setup":
        outcome = "skipped"
    else:
        return
    _emit({"event": "test", "nodeid": report.nodeid, "outcome": outcome})
