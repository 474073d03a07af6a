"""No child process outlives its owner: a spawner thread (PR_SET_PDEATHSIG) plus a watchdog process.

`kubectl port-forward` processes must never be left behind, however the Python process that
started them ends (close(), an exception, Ctrl-C, SIGTERM, SIGKILL). Two independent guards:

- The watchdog: a process of its own session that reads "+PGID"/"-PGID" lines from a pipe only
  we hold. When the pipe closes (we closed it, or we died however we died) it stops every group
  still registered: SIGTERM, then SIGKILL. It alone does not cover a child forked but not yet
  registered when we are SIGKILLed.
- PR_SET_PDEATHSIG(SIGKILL), set in the child before exec. Linux sends it when the *thread*
  that forked the child ends, not the process. So children are never forked by whichever
  thread happens to ask (a pytest fixture, a supervisor that may restart them, a short-lived
  probe thread): every fork happens on the Spawner's own thread, which does nothing else and
  lives until Spawner.close(), i.e. exactly as long as the children may. It cannot die early:
  whatever a spawn raises is handed back to the thread that asked for it.

PDEATHSIG alone is not enough either: a kubectl that re-execs itself from another thread
(gcloud's kubectl dispatcher does) loses it; the watchdog still stops its group.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from testbed.errors import TargetUnreachable

SPAWN_TIMEOUT_S = 30.0
WATCHDOG_CLOSE_S = 10.0
_PR_SET_PDEATHSIG = 1
log = logging.getLogger(__name__)

_prctl = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).prctl  # resolved before any fork


def _die_with_spawner_thread() -> None:
    """Runs in the child before exec: SIGKILL it when the thread that forked it (the spawner's) ends."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_WATCHDOG = """
import os, signal, sys, time
groups = set()
for line in sys.stdin:
    sign, pgid = line[:1], int(line[1:])
    (groups.add if sign == "+" else groups.discard)(pgid)
def alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except OSError:
        return False
for sig in (signal.SIGTERM, signal.SIGKILL):
    for pgid in [g for g in groups if alive(g)]:
        os.killpg(pgid, sig)
    deadline = time.monotonic() + 2.0
    while any(alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.05)
"""


class Watchdog:
    """Stops our process groups if we end without stopping them (see the module docstring)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _WATCHDOG], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self._lock = threading.Lock()

    def _send(self, line: str) -> None:
        with self._lock:
            if self.process.stdin is not None and not self.process.stdin.closed:
                self.process.stdin.write(line + "\n")
                self.process.stdin.flush()

    def watch(self, pgid: int) -> None:
        self._send(f"+{pgid}")

    def forget(self, pgid: int) -> None:
        self._send(f"-{pgid}")

    def close(self) -> None:
        with self._lock:
            if self.process.stdin is not None and not self.process.stdin.closed:
                self.process.stdin.close()
        self.process.wait(WATCHDOG_CLOSE_S)


@dataclass
class _Request:
    command: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    process: subprocess.Popen[str] | None = None
    error: BaseException | None = None


class Spawner:
    """Starts child processes from one long-lived thread, each in a session of its own, watched by a Watchdog.

    `spawn()` may be called from any thread; the child's stdout (stderr merged) is a text pipe.
    """

    def __init__(self) -> None:
        self.watchdog = Watchdog()
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="child-spawner", daemon=True)
        self._thread.start()

    def spawn(self, command: Sequence[str]) -> subprocess.Popen[str]:
        """The started process; OSError when it cannot be started, TargetUnreachable once closed."""
        request = _Request(list(command))
        with self._lock:
            if self._closed:
                raise TargetUnreachable(f"cannot start {command[0]}: its owner is closing")
            self._requests.put(request)
        if not request.done.wait(SPAWN_TIMEOUT_S):
            raise TargetUnreachable(f"{command[0]} did not start within {SPAWN_TIMEOUT_S:g}s")
        if request.error is not None:
            raise request.error
        assert request.process is not None
        return request.process

    def _serve(self) -> None:
        while (request := self._requests.get()) is not None:
            try:
                request.process = self._start(request.command)
            except Exception as err:  # handed to the caller; this thread must outlive every child it forked
                request.error = err if isinstance(err, OSError) else OSError(f"cannot start {request.command[0]}: {err}")
            finally:
                request.done.set()

    def _start(self, command: list[str]) -> subprocess.Popen[str]:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, errors="replace", start_new_session=True,
                                   preexec_fn=_die_with_spawner_thread)
        try:
            self.watchdog.watch(process.pid)
        except OSError as err:  # the watchdog is gone; PDEATHSIG still ties the child to this thread
            log.warning("process watchdog gone (%s); %s is guarded by PR_SET_PDEATHSIG only", err, command[0])
        return process

    def close(self) -> None:
        """End the spawner thread (which SIGKILLs any child still running) and then the watchdog; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._requests.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(SPAWN_TIMEOUT_S)
        self.watchdog.close()
