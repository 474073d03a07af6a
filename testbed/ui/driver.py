"""The selenium adapter: headless Chromium through the Debian chromedriver, and a small facade over it.

This is the only module in testbed that imports selenium. Suites and fixtures use `Browser`,
which addresses elements by the stable ids of testbed/shop/web/ELEMENTS.md and waits with
explicit deadlines (a timeout names what it waited for and what it last saw), never sleeps.

Nothing is downloaded: chromedriver is given to `Service(executable_path=...)`, which makes
selenium skip Selenium Manager (the only part of selenium that downloads) entirely, so no
environment variable is needed to keep it offline; tests/integration/ui proves it never runs.
Every session gets a fresh --user-data-dir that is removed on `quit()`, and `quit()` ends any
process of the session that chromedriver left behind.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from testbed.errors import ProvisioningFailed, WaitTimeout
from testbed.ui.binaries import BrowserBinaries
from testbed.ui.processes import ProcessId, end_processes, session_processes

T = TypeVar("T")

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Resolve nothing but loopback: Chromium otherwise looks up Google hosts at start, and
    # tests must send traffic only to 127.0.0.0/8.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
WINDOW_SIZE = (1280, 1024)
DEFAULT_WAIT_S = 10.0
PAGE_LOAD_S = 30.0


def chromium_options(binaries: BrowserBinaries, profile_dir: Path, window: tuple[int, int] = WINDOW_SIZE) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = str(binaries.chromium)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    return options


class Browser:
    """One headless Chromium session pointed at the shop's web front end (`base_url`)."""

    def __init__(self, binaries: BrowserBinaries, base_url: str, *, window: tuple[int, int] = WINDOW_SIZE, wait_s: float = DEFAULT_WAIT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.wait_s = wait_s
        self.profile_dir = Path(tempfile.mkdtemp(prefix="testbed-chromium-"))
        self.driver_pid: int | None = None
        # An explicit executable_path is what keeps Selenium Manager from ever being run.
        self._service = Service(executable_path=str(binaries.chromedriver))
        try:
            self.driver = webdriver.Chrome(service=self._service, options=chromium_options(binaries, self.profile_dir, window))
        except WebDriverException as err:
            self._cleanup()
            raise ProvisioningFailed("chromium", f"could not start a headless Chromium session with {binaries.chromedriver}: {err.msg or err}") from None
        self.driver.set_page_load_timeout(PAGE_LOAD_S)
        self.driver_pid = self._service.process.pid if self._service.process else None

    # -- lifecycle ----------------------------------------------------------------------------------------

    def processes(self) -> set[ProcessId]:
        """chromedriver, Chromium and every helper process of this session that is still running."""
        return session_processes(self.driver_pid, f"--user-data-dir={self.profile_dir}")

    def quit(self) -> set[ProcessId]:
        """End the session; returns processes that survived even SIGKILL (normally none)."""
        started = self.processes()
        try:
            self.driver.quit()
        except WebDriverException:
            pass  # the session is already broken; the processes are ended below either way
        return self._cleanup(started)

    def _cleanup(self, started: set[ProcessId] | None = None) -> set[ProcessId]:
        leftover = end_processes((started or set()) | self.processes())
        shutil.rmtree(self.profile_dir, ignore_errors=True)
        return leftover

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()

    def reset(self) -> None:
        """Forget the shop session so the next test starts logged out on a blank page.

        Clears every cookie of the browser (over CDP, whatever page is showing) and the
        shop origin's storage; the profile itself lives until `quit()`.
        """
        self.driver.get("about:blank")
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        self.driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": self.base_url, "storageTypes": "all"})

    # -- navigation -----------------------------------------------------------------------------------------

    def open(self, path: str = "/") -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        """The current URL's path (and query), e.g. '/orders/abc'."""
        parts = urlsplit(self.driver.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def click_and_wait_for_page(self, element_id: str) -> None:
        """Click something that submits a form or follows a link, and wait for the next page to load."""
        old_page = self.driver.find_element(By.TAG_NAME, "html")
        self.element(element_id).click()
        self._wait(expected_conditions.staleness_of(old_page), f"a new page after clicking #{element_id}", lambda: self.path)
        self._wait(lambda d: d.execute_script("return document.readyState") == "complete", "the page to finish loading", lambda: self.path)

    def submit_form_and_wait(self, form_id: str) -> None:
        """Submit a form by script, bypassing a disabled button, as a user with devtools could."""
        old_page = self.driver.find_element(By.TAG_NAME, "html")
        self.driver.execute_script("HTMLFormElement.prototype.submit.call(arguments[0])", self.element(form_id))
        self._wait(expected_conditions.staleness_of(old_page), f"a new page after submitting #{form_id}", lambda: self.path)

    # -- elements -------------------------------------------------------------------------------------------

    def element(self, element_id: str, timeout_s: float | None = None) -> WebElement:
        """The element with this id, once it is present and visible."""
        return self._wait(expected_conditions.visibility_of_element_located((By.ID, element_id)), f"#{element_id} to be visible",
                          self._page_summary, timeout_s)

    def exists(self, element_id: str) -> bool:
        return bool(self.driver.find_elements(By.ID, element_id))

    def fill(self, element_id: str, text: str) -> None:
        field = self.element(element_id)
        field.clear()
        field.send_keys(text)

    def fill_form(self, values: dict[str, str]) -> None:
        for element_id, text in values.items():
            self.fill(element_id, text)

    def text(self, element_id: str, timeout_s: float | None = None) -> str:
        return self.element(element_id, timeout_s).text

    def attribute(self, element_id: str, name: str) -> str | None:
        return self.element(element_id).get_attribute(name)

    def enabled(self, element_id: str) -> bool:
        return self.element(element_id).is_enabled()

    def image_loaded(self, element_id: str) -> bool:
        """The <img> finished loading and decoded to a real picture (not a broken-image icon)."""
        return bool(self.driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", self.element(element_id)))

    def by_testid(self, testid: str) -> list[dict[str, str]]:
        """Every element with this data-testid, as its id, text and data-* attributes (a snapshot, not live)."""
        script = (
            "return Array.from(document.querySelectorAll('[data-testid=\"' + arguments[0] + '\"]')).map(e => {"
            " const out = {id: e.id, text: e.innerText}; for (const [k, v] of Object.entries(e.dataset)) out[k] = v; return out; });"
        )
        rows: list[dict[str, str]] = self.driver.execute_script(script, testid)
        return rows

    def wait_until(self, condition: Callable[["Browser"], T], what: str, timeout_s: float | None = None, last_state: Callable[[], str] | None = None) -> T:
        """Wait for `condition(browser)` to return something truthy; WaitTimeout names `what` and the last state."""
        return self._wait(lambda _driver: condition(self), what, last_state or self._page_summary, timeout_s)

    def poll_page(self, path: str, condition: Callable[["Browser"], T], what: str, timeout_s: float, interval_s: float = 0.5) -> T:
        """Reload `path` until `condition` holds: for state the server changes asynchronously (points, deliveries)."""
        def reload_and_check(_driver: object) -> T:
            self.open(path)
            return condition(self)

        return self._wait(reload_and_check, what, self._page_summary, timeout_s, poll_s=interval_s)

    # -- evidence -------------------------------------------------------------------------------------------

    def save_evidence(self, directory: Path, name: str) -> tuple[list[Path], str]:
        """A PNG screenshot and the page source named `name`: (files written, what went wrong or "")."""
        directory.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        try:
            png = directory / f"{name}.png"
            if self.driver.save_screenshot(str(png)):
                written.append(png)
            html = directory / f"{name}.html"
            html.write_text(f"<!-- {self.driver.current_url} -->\n{self.driver.page_source}", encoding="utf-8")
            written.append(html)
        except (WebDriverException, OSError) as err:  # a crashed browser must not hide the test's own failure
            return written, getattr(err, "msg", None) or str(err)
        return written, ""

    # -- waiting ----------------------------------------------------------------------------------------------

    def _page_summary(self) -> str:
        try:
            errors = [r["text"] for r in self.by_testid("flash-error")]
            title = self.driver.title
        except WebDriverException as err:
            return f"browser error: {err.msg}"
        return f"page {self.path!r} titled {title!r}" + (f", errors {errors}" if errors else "")

    def _wait(self, condition: Callable[[webdriver.Chrome], T], what: str, last_state: Callable[[], str], timeout_s: float | None = None, poll_s: float = 0.1) -> T:
        timeout = self.wait_s if timeout_s is None else timeout_s
        wait = WebDriverWait(self.driver, timeout, poll_frequency=poll_s, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))
        started = time.monotonic()
        try:
            return wait.until(condition)
        except TimeoutException:
            raise WaitTimeout(what, time.monotonic() - started, last_state()) from None
