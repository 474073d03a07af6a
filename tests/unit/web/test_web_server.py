"""Process plumbing that needs no server: the listening socket and the ready file."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from testbed.errors import ConfigError
from testbed.shop.web.server import bind, write_ready_file

pytestmark = pytest.mark.unit


def test_bound_socket_is_tcp_so_asyncio_sets_nodelay() -> None:
    # A socket made with proto 0 makes asyncio skip TCP_NODELAY: +40 ms on every response.
    with bind("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[1] > 0


def test_a_taken_port_is_a_config_error() -> None:
    with bind("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot bind 127.0.0.1:{port}"):
            bind("127.0.0.1", port)


def test_ready_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "run" / "web.ready.json"
    path.parent.mkdir()
    path.write_text("stale")
    write_ready_file(path, 8123)
    assert json.loads(path.read_text()) == {"pid": os.getpid(), "port": 8123, "metrics_port": None}
    assert sorted(p.name for p in path.parent.iterdir()) == ["web.ready.json"]
