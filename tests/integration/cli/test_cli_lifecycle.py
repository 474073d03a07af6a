"""`testbed up/status/down` as a user runs them: real processes, exit codes, cleanup."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed.cli.main import main
from testbed.shop.launcher import pid_runs_service

pytestmark = pytest.mark.integration


def cli(workdir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "testbed.cli.main", *args], cwd=workdir, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"})


def shop_pids(workdir: Path) -> list[int]:
    """Every live process whose command line points at this workdir's state."""
    mine = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"testbed.shop" in cmd and str(workdir).encode() in cmd:
                mine.append(int(proc.name))
    return [p for p in mine if Path(f"/proc/{p}/stat").exists() and Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()[0] != "Z"]


@pytest.fixture
def workdir(tmp_path: Path):
    (tmp_path / "testbed.yaml").write_text(f"state_dir: {tmp_path / 'state'}\n")
    yield tmp_path
    cli(tmp_path, "down")
    assert shop_pids(tmp_path) == []


def test_up_status_down_cycle_as_subprocesses(workdir: Path) -> None:
    up = cli(workdir, "up")
    assert up.returncode == 0, up.stderr
    assert "web" in up.stdout and "http://127.0.0.1:" in up.stdout
    status = cli(workdir, "status", "--json")
    assert status.returncode == 0
    data = json.loads(status.stdout)
    assert data["healthy"] and len(data["services"]) == 10
    assert all(s["healthy"] and s["pid"] for s in data["services"])
    again = cli(workdir, "up")
    assert again.returncode == 0 and "already up" in again.stdout
    creds = json.loads((workdir / "state" / "demo-credentials.json").read_text())
    assert (workdir / "state" / "demo-credentials.json").stat().st_mode & 0o777 == 0o600 and len(creds["shopper_password"]) >= 12

    down = cli(workdir, "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert shop_pids(workdir) == []
    after = cli(workdir, "status")
    assert after.returncode == 3 and "not up" in after.stdout
    assert cli(workdir, "down").returncode == 0


def test_up_repairs_a_half_up_testbed_on_the_same_ports(workdir: Path) -> None:
    assert cli(workdir, "up").returncode == 0
    state = json.loads((workdir / "state" / "state.json").read_text())
    victim = state["services"]["cart"]
    os.kill(victim["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pid_runs_service(victim["pid"], "cart") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cli(workdir, "status").returncode == 1
    repaired = cli(workdir, "up")
    assert repaired.returncode == 0 and "started cart" in repaired.stdout
    new = json.loads((workdir / "state" / "state.json").read_text())["services"]["cart"]
    assert new["port"] == victim["port"] and new["pid"] != victim["pid"]
    assert cli(workdir, "status").returncode == 0


def test_interrupting_up_stops_what_it_started(workdir: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "testbed.cli.main", "up"], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not shop_pids(workdir) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert shop_pids(workdir), "up never started a service"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert shop_pids(workdir) == []


def test_port_in_use_is_one_line_exit_2(workdir: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        (workdir / "testbed.yaml").write_text(f"state_dir: {workdir / 'state'}\nports:\n  cart: {port}\n")
        out = cli(workdir, "up")
    assert out.returncode == 2
    assert f"port {port} for cart is already in use" in out.stderr and out.stderr.count("\n") == 1
    assert shop_pids(workdir) == []


@pytest.mark.parametrize("content,field", [
    ("timeouts:\n  up_s: soon\n", "timeouts.up_s"),
    ("ports: [1, 2]\n", "ports"),
    ("suites: [e2e, nosuch]\n", "suites"),
    ("binaries:\n  chromedriver: /nonexistent/chromedriver\n", "binaries"),
    ("surprise: 1\n", "surprise"),
    ("key: [unclosed\n", "line"),
])
def test_malformed_config_is_one_line_naming_the_field(tmp_path: Path, content: str, field: str) -> None:
    (tmp_path / "testbed.yaml").write_text(content)
    for args in (["up"], ["status"], ["down"]):
        out = cli(tmp_path, *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.startswith("testbed: ") and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
        assert "testbed.yaml" in out.stderr and field in out.stderr


def test_unknown_flags_exit_2_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["up", "--no-such-flag"]) == 2
    assert main(["status", "--target", "mars"]) == 2
    assert main(["nosuchcommand"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_status_with_nothing_up_exits_3_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["status"]) == 3
    assert main(["status", "--json"]) == 3
