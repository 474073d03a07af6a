"""What is actually running: component pids from kwokctl's pid files, and listening ports.

`down` uses this to prove it left no process or port behind, and `status` to report each
component. Ports are read from /proc/net/tcp{,6} (the kernel's own table) rather than by
connecting, so checking never disturbs the components.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_LISTEN = "0A"


@dataclass(frozen=True)
class Proc:
    """One component process recorded by kwokctl (pids/<binary>.pid)."""

    name: str
    pid: int


def read_pidfiles(workdir: Path) -> list[Proc]:
    """The processes kwokctl recorded for a cluster; unreadable pid files are skipped."""
    procs = []
    for pidfile in sorted((workdir / "pids").glob("*.pid")):
        try:
            procs.append(Proc(pidfile.stem, int(pidfile.read_text().strip())))
        except (OSError, ValueError):
            continue
    return procs


def is_running(proc: Proc) -> bool:
    """True if `proc.pid` is alive and is still the named component (not a recycled pid).

    Identity comes from /proc/<pid>/stat's command name (the kernel keeps 15 characters),
    which, unlike the command line, stays readable while a process shuts down.
    """
    try:
        stat = Path(f"/proc/{proc.pid}/stat").read_text()
    except OSError:
        return False
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    state = stat[stat.rindex(")") + 1 :].split()[0]
    return state not in ("Z", "X") and comm == proc.name[:15]


def terminate(procs: Iterable[Proc], sig: signal.Signals = signal.SIGTERM) -> list[Proc]:
    """Send `sig` to each still-running component; returns the ones signalled."""
    signalled = []
    for proc in procs:
        if is_running(proc):
            try:
                os.kill(proc.pid, sig)
                signalled.append(proc)
            except ProcessLookupError:
                continue
    return signalled


def listening_sockets(host: str = "127.0.0.1") -> dict[int, int]:
    """Socket inode -> port of every TCP socket in LISTEN state on `host` (or on any address)."""
    wanted_v4 = {_hex_ipv4(host), _hex_ipv4("0.0.0.0")}
    wanted_v6 = {"0" * 32, "0000000000000000FFFF0000" + _hex_ipv4(host)}
    sockets: dict[int, int] = {}
    for table, wanted in (("/proc/net/tcp", wanted_v4), ("/proc/net/tcp6", wanted_v6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            addr, port_hex = fields[1].rsplit(":", 1)
            if addr in wanted:
                sockets[int(fields[9])] = int(port_hex, 16)
    return sockets


def listening_ports(host: str = "127.0.0.1") -> set[int]:
    """TCP ports in LISTEN state on `host` (or on any address, which includes it)."""
    return set(listening_sockets(host).values())


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets a process holds open (empty if it is gone or not ours to read)."""
    inodes = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return set()
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True if something listens on host:port or the port cannot be bound there."""
    if port in listening_ports(host):
        return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _hex_ipv4(address: str) -> str:
    """An IPv4 address as /proc/net/tcp writes it: little-endian hex."""
    return socket.inet_aton(address)[::-1].hex().upper()
