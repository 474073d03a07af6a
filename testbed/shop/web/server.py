"""Run the web front end as a process: `python -m testbed.shop web` calls `run(settings)`.

We bind the socket ourselves (port 0 picks a free one), hand it to uvicorn, and write
the ready file (JSON pid/port, temp + rename) once uvicorn serves. SIGTERM and SIGINT
stop accepting connections, let in-flight requests finish within `grace_s`, and `run`
returns 0 — uvicorn's own handlers would re-raise the signal after shutdown instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import socket
from collections.abc import Generator
from pathlib import Path

import uvicorn

from testbed.errors import ConfigError
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.web.app import build_app
from testbed.shop.web.backends import Shop
from testbed.shop.web.requestlog import configure_logging
from testbed.shop.web.session import load_secret, secure_cookie

log = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 30.0


class _Server(uvicorn.Server):
    """uvicorn, with signal handling that ends `serve()` cleanly instead of re-raising."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop, sig)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def _stop(self, sig: int) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True
        log.info("shutting down", extra={"fields": {"signal": signal.Signals(sig).name}})


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; a bind failure is a ConfigError naming the address."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise ConfigError(f"cannot resolve {host!r}: {err.strerror}", source="web settings", field="host") from None
    family, kind, proto, _, address = infos[0]
    # proto must be IPPROTO_TCP (not 0): asyncio only sets TCP_NODELAY on accepted sockets that say
    # so, and without it every response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        raise ConfigError(f"cannot bind {host}:{port}: {err.strerror}", source="web settings", field="port") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def write_ready_file(path: Path, port: int) -> None:
    """Write {"pid", "port", "metrics_port"} so a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "port": port, "metrics_port": None}), encoding="utf-8")
    os.replace(tmp, path)


def run(settings: ServiceSettings) -> int:
    configure_logging(settings.service, settings.log_level)
    secret = load_secret(settings.private_dir())
    shop = Shop.from_settings(settings)
    sock = bind(settings.host, settings.port)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(shop, session_secret=secret, secure_cookie=secure_cookie()),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=math.ceil(settings.grace_s),
        server_header=False,
        proxy_headers=False,
    )
    server = _Server(config)
    try:
        asyncio.run(_serve(server, sock, settings.ready_file, port))
    finally:
        sock.close()
        shop.close()
    log.info("stopped", extra={"fields": {"port": port}})
    return 0


async def _serve(server: _Server, sock: socket.socket, ready_file: Path | None, port: int) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(STARTUP_TIMEOUT_S):
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
    if server.started:
        if ready_file is not None:
            write_ready_file(ready_file, port)
        log.info("serving", extra={"fields": {"host": sock.getsockname()[0], "port": port}})
    await task
