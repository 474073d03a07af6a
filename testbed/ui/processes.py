"""The processes one browser session started, found from /proc, so quitting can prove none is left.

chromedriver normally takes Chromium down with it on quit; when it does not (a crashed
session, a hung renderer) we end exactly the processes this session started: chromedriver's
descendants and anything running with this session's private --user-data-dir. A process is
identified by pid *and* start time, so a recycled pid is never signalled.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessId:
    pid: int
    start_ticks: int  # field 22 of /proc/<pid>/stat: distinguishes a recycled pid

    def alive(self) -> bool:
        stat = _stat(self.pid)
        return stat is not None and stat[1] == self.start_ticks and stat[2] != "Z"


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(ppid, start_ticks, state) of a process, or None when it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # the command name may contain spaces and parentheses
    return int(fields[1]), int(fields[19]), fields[0]


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def session_processes(root_pid: int | None, marker: str) -> set[ProcessId]:
    """Live descendants of `root_pid` (itself included) and every process whose command line holds `marker`."""
    table: dict[int, tuple[int, int, str]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[2] != "Z":
                table[int(entry.name)] = stat
    found = {pid for pid in table if marker and marker in _cmdline(pid)}
    if root_pid is not None and root_pid in table:
        found.add(root_pid)
        frontier = [root_pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, (ppid, _, _) in table.items() if ppid == parent and pid not in found]
            found.update(children)
            frontier.extend(children)
    found.discard(os.getpid())
    return {ProcessId(pid, table[pid][1]) for pid in found if pid in table}


def end_processes(procs: set[ProcessId], grace_s: float = 3.0) -> set[ProcessId]:
    """SIGTERM, wait up to `grace_s`, then SIGKILL; returns the processes still alive afterwards."""
    alive = {p for p in procs if p.alive()}
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 2.0)):
        for proc in alive:
            try:
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait_s
        while alive and time.monotonic() < deadline:
            alive = {p for p in alive if p.alive()}
            if alive:
                time.sleep(0.05)
        if not alive:
            break
    return alive
