"""Port allocation for local processes that must know each other's ports before they start.

A bind-to-0-then-close port can be handed out again before the service binds it: to another
launcher running at the same time (parallel tests), or as the source port of an outgoing
connection. So ports come from below the kernel's ephemeral range (never used for outgoing
connections) and are reserved for a while in a registry shared by every process on the
machine, under a file lock.
"""

from __future__ import annotations

import fcntl
import json
import random
import socket
import tempfile
import time
from pathlib import Path

RESERVE_S = 120.0
REGISTRY = Path(tempfile.gettempdir()) / "testbed-port-reservations.json"
DEFAULT_RANGE = (20000, 32767)


def ephemeral_floor() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return DEFAULT_RANGE[1] + 1
    return low


def candidate_range() -> tuple[int, int]:
    floor = ephemeral_floor()
    if floor <= DEFAULT_RANGE[0] + 1000:  # unusual kernel setting: use the range above the ephemeral one
        return (61000, 65000)
    return (DEFAULT_RANGE[0], min(DEFAULT_RANGE[1], floor - 1))


def bindable(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind `port` (with SO_REUSEADDR, as gRPC and uvicorn do)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def allocate(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct bindable ports, reserved against other allocators for RESERVE_S."""
    lo, hi = candidate_range()
    lock_path = REGISTRY.with_suffix(".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            now = time.time()
            try:
                reserved = {int(p): t for p, t in json.loads(REGISTRY.read_text()).items() if t > now}
            except (OSError, ValueError, AttributeError):
                reserved = {}
            chosen: list[int] = []
            attempts = 0
            while len(chosen) < count:
                attempts += 1
                if attempts > 20 * (hi - lo):
                    raise RuntimeError(f"no free ports left in {lo}-{hi}")
                port = random.randint(lo, hi)
                if port in reserved or port in chosen or not bindable(port, host):
                    continue
                chosen.append(port)
            reserved.update({p: now + RESERVE_S for p in chosen})
            tmp = REGISTRY.with_suffix(".tmp")
            tmp.write_text(json.dumps(reserved))
            tmp.replace(REGISTRY)
            return chosen
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
