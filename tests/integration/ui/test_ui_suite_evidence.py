"""The ui suite's machinery against a real local testbed: evidence on failure, no browser left behind.

The module brings its own testbed up (`testbed up --config` with the state dir in a temp
dir) and takes it down at the end. Tiny suites in tmp_path reuse the real
suites/ui/conftest.py, run as pytest subprocesses the way `testbed conform` runs suites.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.errors import MissingTool
from testbed.kube.wait import Seen, wait_until
from testbed.testing.prereqs import unavailable
from testbed.ui.binaries import BrowserBinaries, find_browser_binaries
from testbed.ui.processes import session_processes

pytestmark = [pytest.mark.integration, pytest.mark.browser]

UI_CONFTEST = Path(__file__).resolve().parents[3] / "suites" / "ui" / "conftest.py"

FAILING_UI_TEST = '''
from testbed.ui.shop_pages import flashes

def test_fails_on_the_shop_home(browser):
    browser.open("/")
    browser.element("product-list")
    assert flashes(browser) == ["DEMO-FAILURE this message is not on the page"]
'''

PASSING_UI_TEST = '''
def test_home_page_renders(browser):
    browser.open("/")
    browser.element("product-list")
'''


@pytest.fixture(scope="module")
def binaries() -> BrowserBinaries:
    try:
        return find_browser_binaries()
    except MissingTool as err:
        unavailable(err.message)


def _cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "testbed.cli.main", *args, "--config", str(workdir / "testbed.yaml")],
                          cwd=workdir, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def testbed_dir(tmp_path_factory: pytest.TempPathFactory, binaries: BrowserBinaries) -> Iterator[Path]:
    """A real local testbed in its own state dir; its testbed.yaml is what the subprocess suites load."""
    workdir = tmp_path_factory.mktemp("ui-testbed")
    (workdir / "testbed.yaml").write_text(f"state_dir: {workdir / 'state'}\nreports_dir: {workdir / 'reports'}\n")
    up = _cli(workdir, "up")
    assert up.returncode == 0, up.stderr
    try:
        yield workdir
    finally:
        down = _cli(workdir, "down")
        assert down.returncode == 0, down.stderr


@pytest.fixture
def suite_tmpdir() -> Iterator[Path]:
    """TMPDIR of the subprocess suite, so its browser profiles can be found. Short on purpose:
    Chromium puts Unix sockets under TMPDIR and a socket path is limited to 107 bytes.

    Afterwards no process of the suite may be left: whatever is (its process group, or anything
    with this TMPDIR in its environment: chromedriver, Chromium) is killed and the test fails."""
    path = Path(tempfile.mkdtemp(prefix="tbui-"))
    yield path
    leftovers = _suite_processes(path, _SUITE_GROUPS.pop(path, []))
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(path, ignore_errors=True)
    assert not leftovers, f"processes of the ui suite outlived it: {sorted(leftovers.values())}"


def _suite_processes(suite_tmpdir: Path, groups: list[int]) -> dict[int, str]:
    """pid -> executable of every live process in one of `groups` or with `suite_tmpdir` as TMPDIR."""
    marker = f"TMPDIR={suite_tmpdir}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
            environ = (entry / "environ").read_bytes()
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        state, _ppid, pgrp = stat[stat.rindex(")") + 2:].split()[:3]
        if state != "Z" and (int(pgrp) in groups or marker in environ.split(b"\0")):
            found[int(entry.name)] = Path(exe).name
    return found


_SUITE_GROUPS: dict[Path, list[int]] = {}  # suite TMPDIR -> process groups of the suites run with it
SUITE_TIMEOUT_S = 120.0


REAP_AFTER_KILL_S = 30.0  # a SIGKILLed group's pipes close at once; this only bounds a wedged reader


def _start_suite(testbed_dir: Path, tmp_path: Path, source: str, suite_tmpdir: Path, **env: str) -> subprocess.Popen[str]:
    suite = tmp_path / "suites" / "ui"  # the plugin marks tests `ui` by this directory
    suite.mkdir(parents=True)
    shutil.copy(UI_CONFTEST, suite / "conftest.py")
    (suite / "test_tiny_ui.py").write_text(textwrap.dedent(source))
    environ = {**os.environ, "TESTBED_CONFIG": str(testbed_dir / "testbed.yaml"), "TESTBED_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
               "TMPDIR": str(suite_tmpdir), **env}
    environ.pop("PYTEST_XDIST_WORKER", None)
    args = [sys.executable, "-m", "pytest", str(suite), "-p", "no:cacheprovider", "-rA", "-m", "ui"]
    # Its own session, so killing its group ends pytest *and* the chromedriver and Chromium it started.
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
                            start_new_session=True)
    _SUITE_GROUPS.setdefault(suite_tmpdir, []).append(proc.pid)
    return proc


def _kill_suite(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGKILL the suite's whole process group and collect what it printed."""
    with contextlib.suppress(ProcessLookupError):  # the group is gone already: nothing of it is left to kill
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        return proc.communicate(timeout=REAP_AFTER_KILL_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the ui suite's output pipes stayed open {REAP_AFTER_KILL_S:.0f}s after its process group was killed")


def _run_suite(testbed_dir: Path, tmp_path: Path, source: str, suite_tmpdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    proc = _start_suite(testbed_dir, tmp_path, source, suite_tmpdir, **env)
    try:
        out, err = proc.communicate(timeout=SUITE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        out, err = _kill_suite(proc)
        pytest.fail(f"the ui suite ran over {SUITE_TIMEOUT_S:.0f}s; its process group was killed\n{out}\n{err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_failing_ui_test_leaves_a_screenshot_and_the_page_source(testbed_dir: Path, tmp_path: Path, suite_tmpdir: Path) -> None:
    done = _run_suite(testbed_dir, tmp_path, FAILING_UI_TEST, suite_tmpdir)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "DEMO-FAILURE" in done.stdout and "1 failed" in done.stdout
    name = "test_tiny_ui__test_fails_on_the_shop_home"
    png = tmp_path / "artifacts" / f"{name}.png"
    html = tmp_path / "artifacts" / f"{name}.html"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000, "a screenshot of a rendered page"
    assert 'id="product-list"' in html.read_text()
    assert f"saved {png}" in done.stdout, "the report names the evidence"


def test_a_passing_ui_test_leaves_no_evidence_and_no_browser(testbed_dir: Path, tmp_path: Path, suite_tmpdir: Path) -> None:
    done = _run_suite(testbed_dir, tmp_path, PASSING_UI_TEST, suite_tmpdir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list((tmp_path / "artifacts").iterdir())
    assert not session_processes(None, f"--user-data-dir={suite_tmpdir}"), "a browser process outlived the suite"
    assert not list(suite_tmpdir.glob("testbed-chromium-*")), "the browser profile was not removed"


HANGING_UI_TEST = '''
import os, pathlib, time

def test_hangs_with_the_browser_open(browser):
    browser.open("/")
    browser.element("product-list")
    (pathlib.Path(os.environ["TMPDIR"]) / "browser-open").touch()
    time.sleep(600)
'''


def test_a_killed_suite_takes_its_browser_with_it(testbed_dir: Path, tmp_path: Path, suite_tmpdir: Path) -> None:
    """Killing the suite's process group (what a suite timeout does) leaves no chromedriver or Chromium.

    The kill is triggered by the suite's own `browser-open` marker, not by a timeout, so a slow
    machine (pytest start, Chromium start, page load) only makes the test wait longer."""
    proc = _start_suite(testbed_dir, tmp_path, HANGING_UI_TEST, suite_tmpdir)
    marker = suite_tmpdir / "browser-open"

    def browser_open_or_exited() -> Seen[bool]:
        exited = proc.poll() is not None
        return Seen(marker.exists() or exited, f"exited with {proc.returncode}" if exited else "no browser-open marker yet", True)

    try:
        wait_until("the hanging suite's browser to be open", browser_open_or_exited, timeout_s=SUITE_TIMEOUT_S, interval_s=0.2)
    finally:
        out, err = _kill_suite(proc)
    assert marker.exists(), f"the hanging suite exited ({proc.returncode}) before its browser was up\n{out}\n{err}"
    assert proc.returncode == -signal.SIGKILL, f"the suite was not ended by the kill\n{out}\n{err}"
    groups = list(_SUITE_GROUPS[suite_tmpdir])

    def none_left() -> Seen[dict[int, str]]:
        left = _suite_processes(suite_tmpdir, groups)
        return Seen(not left, f"still running: {sorted(left.values())}", left)

    wait_until("the killed suite's processes to be gone", none_left, timeout_s=10.0, interval_s=0.1)


@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_a_missing_chromium_fails_in_ci_and_skips_elsewhere(testbed_dir: Path, tmp_path: Path, suite_tmpdir: Path, ci: str, outcome: str) -> None:
    empty_path = tmp_path / "empty-bin"
    empty_path.mkdir()
    done = _run_suite(testbed_dir, tmp_path, PASSING_UI_TEST, suite_tmpdir, CI=ci, PATH=str(empty_path))
    assert outcome in done.stdout, done.stdout + done.stderr
    assert done.returncode == (1 if ci else 0)
    assert "chromium chromium-driver" in done.stdout


def test_quit_leaves_no_chromium_process_and_no_profile(testbed_dir: Path, binaries: BrowserBinaries) -> None:
    from testbed.ui.driver import Browser

    web_url = _web_url(testbed_dir)
    browser = Browser(binaries, web_url)
    try:
        browser.open("/")
        browser.element("product-list")
        running = browser.processes()
        commands = {Path(os.readlink(f"/proc/{p.pid}/exe")).name for p in running}
        assert {"chromedriver", "chromium"} <= commands, commands
    finally:
        survivors = browser.quit()
    assert survivors == set()
    assert not any(p.alive() for p in running)
    assert not browser.profile_dir.exists()
    assert not session_processes(None, f"--user-data-dir={browser.profile_dir}")


def _web_url(testbed_dir: Path) -> str:
    from testbed.config import load_config
    from testbed.targets import get_target

    endpoints = get_target(load_config(testbed_dir / "testbed.yaml")).endpoints()
    assert endpoints.web_url
    return endpoints.web_url


def test_selenium_manager_is_never_run(testbed_dir: Path, binaries: BrowserBinaries, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Selenium Manager is the part of selenium that downloads drivers and browsers; a session must never run it.

    Two traps: SE_MANAGER_PATH swaps in a fake binary that leaves a mark if executed, and the
    in-process entry point (SeleniumManager.binary_paths) is replaced by one that records the call.
    Chromium must still come up, on the chromedriver we were given."""
    from testbed.ui.driver import Browser

    mark = tmp_path / "selenium-manager-ran"
    fake = tmp_path / "selenium-manager"
    fake.write_text(f"#!/bin/sh\ntouch {mark}\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SE_MANAGER_PATH", str(fake))
    calls: list[object] = []

    def binary_paths(_self: object, args: list[str]) -> dict[str, str]:
        calls.append(args)
        raise AssertionError("Selenium Manager was asked for binaries")

    monkeypatch.setattr("selenium.webdriver.common.selenium_manager.SeleniumManager.binary_paths", binary_paths)
    with Browser(binaries, _web_url(testbed_dir)) as browser:
        browser.open("/")
        browser.element("product-list")
        assert browser.driver_pid is not None
        assert Path(os.readlink(f"/proc/{browser.driver_pid}/exe")) == binaries.chromedriver.resolve(), "the given chromedriver runs"
    assert not calls, f"Selenium Manager was called with {calls}"
    assert not mark.exists(), "Selenium Manager was run"


def test_reset_logs_the_browser_out(testbed_dir: Path, binaries: BrowserBinaries) -> None:
    """The suite shares one browser per worker; reset() is what keeps one test's login from the next."""
    from testbed.config import load_config
    from testbed.shop.stubs import Stubs
    from testbed.targets import get_target
    from testbed.testing.shopflows import new_account
    from testbed.ui.driver import Browser
    from testbed.ui.shop_pages import log_in_ok

    stubs = Stubs(get_target(load_config(testbed_dir / "testbed.yaml")).endpoints().grpc)
    try:
        account = new_account(stubs)
    finally:
        stubs.close()
    with Browser(binaries, _web_url(testbed_dir)) as browser:
        log_in_ok(browser, account.email, account.password)
        browser.reset()
        browser.open("/cart")
        browser.element("login-form")
        assert not browser.exists("nav-user")
