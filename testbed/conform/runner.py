"""Run one suite as `python -m pytest` in its own process group, under a deadline, and read its results.

pytest's JUnit XML is the source of truth for test outcomes. The exit code only adds
an ERROR case when the XML cannot account for it: a suite that could not start
(usage/internal error, nothing collected), was killed at the deadline, or was
interrupted never counts as a pass.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from testbed.bundle.layout import RunBundle
from testbed.bundle.pytest_hooks import PROGRESS_ENV
from testbed.results.junit import parse_junit
from testbed.results.model import Outcome, SuiteResult, TestCase

POLL_S = 0.2
KILL_GRACE_S = 5.0
OUTPUT_TAIL_LINES = 40
# pytest exit codes: 0 ok, 1 tests failed, 2 interrupted, 3 internal error, 4 usage error, 5 no tests collected
PYTEST_EXIT_MEANING = {2: "interrupted (or collection errors)", 3: "internal error", 4: "usage error", 5: "no tests collected"}


@dataclass
class SuiteProgress:
    """Live counts for one suite, fed from the progress hook's JSON lines."""

    suite: str
    total: int | None = None
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})

    @property
    def done(self) -> int:
        return sum(self.counts.values())


ProgressCallback = Callable[[SuiteProgress], None]


@dataclass(frozen=True)
class SuiteRun:
    """What to run: the suite's directory, the bundle it writes into, the environment and the pytest workers."""

    name: str
    path: Path
    bundle: RunBundle
    env: Mapping[str, str]
    workers: str | None = None
    cwd: Path | None = None


def pytest_command(run: SuiteRun) -> list[str]:
    command = [
        sys.executable, "-m", "pytest", str(run.path),
        "-p", "no:cacheprovider", "-p", "testbed.bundle.pytest_hooks",
        f"--junitxml={run.bundle.suite_junit(run.name)}",
    ]
    if run.workers is not None:
        command += ["-n", run.workers]
    return command


class _ProgressReader:
    """Reads the complete JSON lines appended to the progress file since the last call."""

    def __init__(self, path: Path, progress: SuiteProgress) -> None:
        self.path, self.progress, self.offset = path, progress, 0

    def poll(self) -> bool:
        try:
            with self.path.open("rb") as src:
                src.seek(self.offset)
                chunk = src.read()
        except FileNotFoundError:
            return False
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "collected":
                self.progress.total = int(event.get("total", 0)) or self.progress.total
            elif event.get("outcome") in self.progress.counts:
                self.progress.counts[event["outcome"]] += 1
        return bool(complete)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the suite's process group, then SIGKILL after a grace period."""
    for sig, wait_s in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, lines: int = OUTPUT_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


_TESTBED_STOP = re.compile(r"(testbed: .*?)(?:\s+!+)?\s*$")


def testbed_stop_line(output: Path) -> str:
    """The last `testbed: ...` line testbed's pytest plugin ended the session with (see
    testbed/pytest_plugin.py: alone on a line, or in pytest's `! Exit: testbed: ... !` banner)."""
    found = ""
    for line in _tail(output, OUTPUT_TAIL_LINES * 5).splitlines():
        match = _TESTBED_STOP.search(line)
        if match and not line.lstrip().startswith(("ERROR ", "FAILED ")):  # the short summary may truncate it
            found = match.group(1)
    return found


def _error_case(suite: str, message: str, details: str) -> TestCase:
    return TestCase(name=f"{suite} (suite)", classname="testbed.conform", outcome=Outcome.ERROR, message=message, details=details)


def suite_result(name: str, junit: Path, exit_code: int | None, duration_s: float, output: Path, killed: str = "") -> SuiteResult:
    """Combine pytest's JUnit XML with how the process ended into one SuiteResult (see module docstring)."""
    cases, _ = parse_junit(junit)
    no_junit = junit.exists() is False
    if no_junit:
        cases = ()  # replaced by a case that says why there is no XML
    reason = ""
    stopped = testbed_stop_line(output) if exit_code in (2, 3) else ""
    if killed:
        reason = killed
    elif stopped:  # the plugin ended the session: the target could not be reached, or bad config
        reason = f"pytest exited {exit_code}: {stopped}"
    elif exit_code == 5:
        reason = "pytest collected no tests"
    elif no_junit:
        reason = f"pytest exited {exit_code} without writing JUnit XML"
    elif exit_code not in (0, 1) and not any(case.problem for case in cases):
        reason = f"pytest exited {exit_code}: {PYTEST_EXIT_MEANING.get(exit_code or 0, 'unexpected exit')}"
    elif exit_code == 1 and not any(case.problem for case in cases):
        reason = "pytest exited 1 but its JUnit XML records no failure"
    if reason:
        cases = (*cases, _error_case(name, reason, _tail(output)))
    return SuiteResult(name=name, cases=cases, duration_s=duration_s, exit_code=exit_code)


def run_suite(run: SuiteRun, deadline: float, on_progress: ProgressCallback | None = None) -> SuiteResult:
    """Run the suite until it ends or `deadline` (time.monotonic()) passes; Ctrl-C stops it and re-raises."""
    bundle = run.bundle
    bundle.create((run.name,))
    output, junit = bundle.suite_output(run.name), bundle.suite_junit(run.name)
    progress_file = bundle.pytest_dir / f".{run.name}.progress.jsonl"
    progress = SuiteProgress(run.name)
    reader = _ProgressReader(progress_file, progress)
    env = {**run.env, PROGRESS_ENV: str(progress_file)}
    started = time.monotonic()
    killed = ""
    with output.open("wb") as out:
        process = subprocess.Popen(
            pytest_command(run), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=run.cwd, start_new_session=True,
        )
        try:
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    process.wait(POLL_S)
                except subprocess.TimeoutExpired:
                    pass
                if reader.poll() and on_progress is not None:
                    on_progress(progress)
            if process.poll() is None:
                _stop(process)
                killed = f"killed at the conform deadline after {time.monotonic() - started:.0f}s"
        except KeyboardInterrupt:
            _stop(process)
            raise
    reader.poll()
    progress_file.unlink(missing_ok=True)
    if on_progress is not None:
        on_progress(progress)
    duration = time.monotonic() - started
    return suite_result(run.name, junit, None if killed else process.returncode, duration, output, killed)


def not_run(name: str, why: str) -> SuiteResult:
    """A selected suite that never started (e.g. the deadline passed first) is an error, not a pass."""
    return SuiteResult(name=name, cases=(_error_case(name, f"not run: {why}", ""),))
