"""The front end as a real process over small in-process gRPC services: start-up, probes,
outages, request ids, logs and graceful SIGTERM."""

from __future__ import annotations

import concurrent.futures
import html as html_lib
import json
import os
import re
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web_client import WebProcess, start_web, text_of, web_command
from web_fakeshop import SLOW_FILTER, FakeShop

pytestmark = pytest.mark.integration


@pytest.fixture
def fake() -> Iterator[FakeShop]:
    shop = FakeShop()
    for i in range(30):
        shop.world.add_product(f"Gadget {i:02d}", 500 + i, with_image=i % 3 == 0, description="handy")
    shop.start()
    yield shop
    shop.stop()


@pytest.fixture
def web(fake: FakeShop, tmp_path: Path) -> Iterator[WebProcess]:
    proc = start_web(fake.addresses, tmp_path)
    yield proc
    proc.kill()


def test_ready_file_and_secret(web: WebProcess, tmp_path: Path) -> None:
    ready = json.loads(web.ready_file.read_text())
    assert ready == {"pid": web.process.pid, "port": web.port, "metrics_port": None}
    assert web.port > 0
    secret = tmp_path / "state" / "web" / "session-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert [p.name for p in web.ready_file.parent.glob(".web.ready.json.*")] == []


def test_probes_follow_dependencies(web: WebProcess, fake: FakeShop) -> None:
    assert httpx.get(f"{web.url}/healthz").status_code == 200
    assert httpx.get(f"{web.url}/readyz").json()["ready"] is True
    fake.stop(("comment",))
    reply = httpx.get(f"{web.url}/readyz")
    assert reply.status_code == 503 and reply.json()["not_ready"] == ["comment"]
    assert httpx.get(f"{web.url}/healthz").status_code == 200


def test_outage_is_a_503_naming_the_service_and_recovers(web: WebProcess, fake: FakeShop) -> None:
    assert httpx.get(web.url + "/").status_code == 200
    fake.stop(("product",))
    started = time.monotonic()
    reply = httpx.get(web.url + "/", timeout=15)
    assert reply.status_code == 503, reply.text
    assert 'data-service="product"' in reply.text and "catalogue service is not answering" in text_of(reply.text, "error-message")
    assert time.monotonic() - started < 7  # bounded by the call deadline, not hanging
    fake.start(("product",))  # same port
    deadline = time.monotonic() + 5
    while httpx.get(web.url + "/").status_code != 200:
        assert time.monotonic() < deadline, "web did not pick up the restarted product service"
        time.sleep(0.1)


def test_one_json_log_line_per_request_and_request_id_propagation(web: WebProcess, fake: FakeShop) -> None:
    reply = httpx.get(web.url + "/?q=gadget", headers={"x-request-id": "trace-me-42"})
    assert reply.status_code == 200 and reply.headers["x-request-id"] == "trace-me-42"
    assert "trace-me-42" in fake.world.request_ids
    httpx.get(web.url + "/no/such/page")
    deadline = time.monotonic() + 5
    while True:
        http_lines = [line for line in web.log_lines() if line.get("msg") == "http"]
        if len(http_lines) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    first, second = http_lines[-2:]
    assert {k: first[k] for k in ("method", "path", "status", "request_id")} == {"method": "GET", "path": "/", "status": 200, "request_id": "trace-me-42"}
    assert isinstance(first["latency_ms"], (int, float)) and first["service"] == "web"
    assert second["status"] == 404 and len(str(second["request_id"])) == 32


def test_sigterm_drains_in_flight_requests_and_exits_0(web: WebProcess) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(httpx.get, f"{web.url}/?q={SLOW_FILTER}", timeout=15)
        time.sleep(0.5)
        started = time.monotonic()
        assert web.terminate() == 0
        assert slow.result().status_code == 200
    assert time.monotonic() - started < 6


def test_pagination_walks_forward_and_back(web: WebProcess) -> None:
    client = httpx.Client(base_url=web.url)
    first = client.get("/").text
    assert text_of(first, "page-number") == "Page 1" and 'id="page-prev"' not in first
    next_url = text_attr(first, "page-next", "href")
    second = client.get(next_url).text
    assert text_of(second, "page-number") == "Page 2"
    back = client.get(text_attr(second, "page-prev", "href")).text
    assert text_of(back, "page-number") == "Page 1"
    assert ids(back) == ids(first) != ids(second)


def test_missing_dependency_is_a_usage_error(tmp_path: Path) -> None:
    cmd = web_command({"user": "127.0.0.1:1"}, tmp_path / "state", tmp_path / "ready.json")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env={**os.environ})
    assert done.returncode == 2
    assert "--dep product=HOST:PORT" in done.stderr and "Traceback" not in done.stderr


def text_attr(html: str, element_id: str, attr: str) -> str:
    tag = re.search(rf'<[^>]*id="{element_id}"[^>]*>', html)
    assert tag, f"no #{element_id}"
    value = re.search(rf'{attr}="([^"]*)"', tag.group(0))
    assert value
    return html_lib.unescape(value.group(1))


def ids(html: str) -> list[str]:
    return re.findall(r'data-testid="product-row" data-product-id="([^"]+)"', html)
