"""Real PostgreSQL, Redis and NATS (JetStream) servers on 127.0.0.1 for tests.

Each server runs from the Debian package's binary in a private temporary directory on a
free port and is stopped, with its directory removed, when the context exits. A missing
binary raises MissingTool naming the package to install.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testbed.errors import MissingTool, WaitTimeout
from testbed.shop import ports

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _free_port() -> int:
    return ports.allocate(1)[0]


def _tool(name: str, package: str, extra_dirs: list[Path] | None = None) -> str:
    for d in extra_dirs or []:
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if found is None:
        raise MissingTool(f"{name} not found: install the Debian package {package} (apt-get install -y {package})")
    return found


def _wait_port(port: int, what: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WaitTimeout(what, timeout_s, f"process exited with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise WaitTimeout(what, timeout_s, f"port {port} not accepting connections")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _as_postgres_user() -> list[str]:
    """initdb and postgres refuse to run as root; drop to the postgres account when we are root."""
    if os.geteuid() != 0:
        return []
    return [_tool("runuser", "util-linux"), "-u", "postgres", "--"]


@contextmanager
def postgres(databases: tuple[str, ...] = ()) -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh server (user `postgres`, trust auth on loopback)."""
    initdb = _tool("initdb", "postgresql", PG_BIN_DIRS)
    pg_bin = Path(initdb).resolve().parent
    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="testbed-pg-"))
    data = tmp / "data"
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    prefix = _as_postgres_user()
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    proc = subprocess.Popen(
        [*prefix, str(pg_bin / "postgres"), "-D", str(data), "-p", str(port), "-k", str(tmp), "-c", "listen_addresses=127.0.0.1",
         "-c", "fsync=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        _wait_port(port, "postgres to accept connections", proc)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        if databases:
            import psycopg

            deadline = time.monotonic() + 15
            while True:
                try:
                    conn = psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True)
                    break
                except psycopg.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            with conn:
                for name in databases:
                    conn.execute(f'CREATE DATABASE "{name}"')
        yield url
    finally:
        _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def redis() -> Iterator[str]:
    binary = _tool("redis-server", "redis-server")
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_port(port, "redis-server to accept connections", proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


@contextmanager
def nats() -> Iterator[str]:
    binary = _tool("nats-server", "nats-server")
    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="testbed-nats-"))
    proc = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(tmp)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_port(port, "nats-server to accept connections", proc)
        yield f"nats://127.0.0.1:{port}"
    finally:
        _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
