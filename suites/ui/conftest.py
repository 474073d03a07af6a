"""UI suite: the shop's web front end in headless Chromium. Every test here carries the `ui` marker.

One browser per pytest process (per xdist worker), reset between tests (cookies cleared,
blank page): starting Chromium costs about a second, and each test signs in as its own
fresh account, so nothing leaks from one test to the next. On failure the hook below saves a
PNG screenshot and the page source into `artifacts_dir` (the run bundle under conform),
named after the test. A missing Chromium skips the suite locally and fails it when CI=true.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from testbed.config import Config
    from testbed.shop.stubs import Account
    from testbed.ui.binaries import BrowserBinaries
    from testbed.ui.driver import Browser

EVIDENCE = pytest.StashKey[tuple["Browser", Path]]()


@pytest.fixture(scope="session")
def browser_binaries(testbed_config: "Config") -> "BrowserBinaries":
    from testbed.errors import MissingTool
    from testbed.testing.prereqs import unavailable
    from testbed.ui.binaries import find_browser_binaries

    try:
        return find_browser_binaries(testbed_config.binaries)
    except MissingTool as err:
        missing = err.message
    # outside the except block, so the report is one line, not a chained traceback
    unavailable(f"the ui suite needs a browser: {missing}")


@pytest.fixture(scope="session")
def _session_browser(browser_binaries: "BrowserBinaries", web_url: str) -> Iterator["Browser"]:
    from testbed.ui.driver import Browser

    browser = Browser(browser_binaries, web_url)
    yield browser
    leftover = browser.quit()
    assert not leftover, f"browser processes survived quit: {sorted(p.pid for p in leftover)}"


@pytest.fixture
def browser(request: pytest.FixtureRequest, _session_browser: "Browser", artifacts_dir: Path) -> "Browser":
    """A logged-out browser on a blank page; its evidence is saved if the test fails."""
    _session_browser.reset()
    request.node.stash[EVIDENCE] = (_session_browser, artifacts_dir)
    return _session_browser


@pytest.fixture
def shopper(user_factory: Callable[..., "Account"], browser: "Browser") -> "Account":
    """A fresh account (signed up over gRPC, which is faster than the form), logged in in the browser."""
    from testbed.ui.shop_pages import log_in_ok

    account = user_factory("UI Shopper")
    log_in_ok(browser, account.email, account.password)
    return account


def evidence_name(item: pytest.Item) -> str:
    """`test_checkout.py::test_x[a/b]` -> `test_checkout__test_x_a_b_`: unique per test, safe as a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{item.path.stem}__{item.name}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    evidence = item.stash.get(EVIDENCE, None)
    if report.failed and report.when in ("setup", "call") and evidence is not None:
        browser, directory = evidence
        files, problem = browser.save_evidence(directory, evidence_name(item))
        lines = [f"saved {path}" for path in files] + ([f"could not save all evidence: {problem}"] if problem else [])
        report.sections.append(("ui evidence", "\n".join(lines)))
    return report  # type: ignore[return-value]
