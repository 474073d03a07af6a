"""Drive the web front end over HTTP like a browser would: a cookie jar, CSRF tokens, form posts.

Also starts the front end as a real process (`python -m testbed.shop web`) for the tests
that need to own it (ready file, signals, logs).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
START_TIMEOUT_S = 20.0


class WebClient:
    """An httpx client with the session cookie, that fills in the CSRF token of the last page."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=15.0)
        self.csrf = ""

    def get(self, path: str, **kw: object) -> httpx.Response:
        reply = self.http.get(path, **kw)  # type: ignore[arg-type]
        match = CSRF_RE.search(reply.text)
        if match:
            self.csrf = match.group(1)
        return reply

    def post(self, path: str, data: Mapping[str, str] | None = None, *, follow: bool = False) -> httpx.Response:
        if not self.csrf:
            self.get("/login")
        reply = self.http.post(path, data={"csrf_token": self.csrf, **(data or {})})
        if follow and reply.status_code in (302, 303):
            return self.get(reply.headers["location"])
        match = CSRF_RE.search(reply.text)
        if match:
            self.csrf = match.group(1)
        return reply

    def sign_up(self, email: str, password: str = "correct horse battery", name: str = "Web Tester") -> httpx.Response:
        self.get("/signup")
        return self.post("/signup", {"email": email, "display_name": name, "password": password})

    def log_in(self, email: str, password: str = "correct horse battery") -> httpx.Response:
        self.get("/login")
        return self.post("/login", {"email": email, "password": password})

    def close(self) -> None:
        self.http.close()


def text_of(html: str, element_id: str) -> str:
    """Inner text of the element with this id (no nesting needed for our ids)."""
    match = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)</', html, flags=re.S)
    assert match, f"no element #{element_id} in the page"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def attr_values(html: str, testid: str, attr: str) -> list[str]:
    """`attr` of every element with data-testid=`testid`, in page order."""
    values = []
    for tag in re.findall(rf'<[^>]*data-testid="{re.escape(testid)}"[^>]*>', html):
        match = re.search(rf'{re.escape(attr)}="([^"]*)"', tag)
        if match:
            values.append(match.group(1))
    return values


@dataclass
class WebProcess:
    process: subprocess.Popen[bytes]
    port: int
    ready_file: Path
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[dict[str, object]]:
        lines = []
        for raw in self.log_file.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                lines.append(json.loads(raw))
        return lines

    def terminate(self, timeout_s: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout_s)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def web_command(addresses: Mapping[str, str], state_dir: Path, ready_file: Path, port: int = 0) -> list[str]:
    cmd = [sys.executable, "-m", "testbed.shop", "web", "--host", "127.0.0.1", "--port", str(port), "--state-dir", str(state_dir), "--ready-file", str(ready_file), "--grace-s", "5"]
    for name, addr in addresses.items():
        cmd += ["--dep", f"{name}={addr}"]
    return cmd


def start_web(addresses: Mapping[str, str], tmp: Path, env: Mapping[str, str] | None = None) -> WebProcess:
    """Start the front end on a free port and wait for its ready file; fail with its log otherwise."""
    ready_file = tmp / "web.ready.json"
    log_file = tmp / "web.log"
    ready_file.unlink(missing_ok=True)
    with log_file.open("wb") as log:
        process = subprocess.Popen(web_command(addresses, tmp / "state", ready_file), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"web did not become ready (exit {process.poll()}): {log_file.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    port = int(json.loads(ready_file.read_text())["port"])
    return WebProcess(process=process, port=port, ready_file=ready_file, log_file=log_file)
