"""testbed's pytest plugin (entry point `pytest11`): suite markers and the fixtures suites use.

Registered for every pytest run in an environment where testbed is installed, so it must
stay cheap to import: anything heavy is imported inside the fixtures that need it.

Fixtures: `testbed_config`, `testbed_target`, `testbed_endpoints`, `shop` (ready gRPC
stubs per service), `user_factory` (new signed-up, authenticated accounts), `web_url`,
`run_id`, `artifacts_dir`. Suites run the same under `testbed conform` and plain
`pytest suites/`; with nothing up (or a port-forward that cannot open) the session ends with
exit code 3 and one `testbed: ...` line, bad config with exit code 2, with or without xdist.
Endpoints come from the target's `access()`, so on kube every pytest process reaches the shop
through its own port-forwards.

Under xdist, `pytest.exit()` in a worker's fixture crashes the controller (INTERNALERROR), so a
worker instead errors the test with the one line (`pytest.fail(pytrace=False)`), stops, and
hands the code and line to the controller in `workeroutput`; the controller sets the session's
exit code from it and prints the line on stderr (as `pytest.exit` would).
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from testbed.config import Config
    from testbed.shop.stubs import Account, Stubs
    from testbed.targets.base import Endpoints, Target

SUITE_MARKERS = {
    "e2e": "conformance suite: gRPC API flows",
    "ui": "conformance suite: Selenium UI in headless Chromium",
    "load": "conformance suite: locust load with thresholds",
    "chaos": "conformance suite: fault injection with steady-state checks",
    "policy": "conformance suite: manifest policy",
    "cluster": "conformance suite: cluster component readiness",
}
NEEDS_RUNNING_CODE = ("e2e", "ui", "load", "chaos")  # not applicable where no pod runs real code (sim)
WORKER_OUTPUT_KEY = "testbed_stop"  # xdist workeroutput: [exit code, "testbed: ..." line]
_controller_stop = pytest.StashKey[tuple[int, str]]()


def pytest_configure(config: pytest.Config) -> None:
    for name, help_text in SUITE_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {help_text}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under suites/<name>/ with the suite's marker, whichever suites are collected together."""
    for item in items:
        parts = Path(item.path).parts
        for i, part in enumerate(parts[:-1]):
            if part == "suites" and parts[i + 1] in SUITE_MARKERS:
                item.add_marker(parts[i + 1])
                break


def stop_session(request: pytest.FixtureRequest, line: str, returncode: int) -> NoReturn:
    """End the run with `returncode` and one line: pytest.exit() alone, or the xdist-safe path in a worker."""
    config = request.config
    if not hasattr(config, "workerinput"):
        pytest.exit(line, returncode=returncode)
    config.workeroutput.setdefault(WORKER_OUTPUT_KEY, [returncode, line])  # type: ignore[attr-defined]
    request.session.shouldstop = line  # this worker runs nothing more; the controller stops the others
    pytest.fail(line, pytrace=False)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: keep the first code and line a worker stopped with."""
    stop = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    if stop and _controller_stop not in node.config.stash:
        node.config.stash[_controller_stop] = (int(stop[0]), str(stop[1]))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """xdist controller: the exit code and line a worker stopped with, instead of xdist's "interrupted" (2)."""
    stop = session.config.stash.get(_controller_stop, None)
    if stop is not None:
        session.exitstatus = stop[0]
        sys.stderr.write(f"{stop[1]}\n")


@pytest.fixture(scope="session")
def testbed_config(request: pytest.FixtureRequest) -> "Config":
    from testbed.config import load_config
    from testbed.errors import ConfigError

    try:
        return load_config()
    except ConfigError as err:
        why = err.message
    stop_session(request, f"testbed: {why}", 2)  # outside `except`: no "during handling" chain in the report


@pytest.fixture(scope="session")
def testbed_target(testbed_config: "Config") -> "Target":
    from testbed.targets import get_target

    return get_target(testbed_config)


@pytest.fixture(scope="session")
def testbed_endpoints(request: pytest.FixtureRequest, testbed_target: "Target") -> Iterator["Endpoints"]:
    """Endpoints reachable from this pytest process, for the whole session (each xdist worker opens its own;
    on kube these are port-forwards, closed when the session ends)."""
    from testbed.errors import TargetUnreachable

    with ExitStack() as opened:
        try:
            endpoints = opened.enter_context(testbed_target.access())
        except TargetUnreachable as err:
            why = err.message
        else:
            yield endpoints
            return
    stop_session(request, f"testbed: {why}", 3)


@pytest.fixture(autouse=True)
def _not_applicable_where_no_code_runs(request: pytest.FixtureRequest) -> None:
    """On sim, suites that need running services report 'not applicable' (a visible skip)."""
    if not any(request.node.get_closest_marker(m) for m in NEEDS_RUNNING_CODE):
        return
    endpoints: Endpoints = request.getfixturevalue("testbed_endpoints")
    if endpoints.simulated:
        pytest.skip("not applicable on sim: no pod runs real code")


@pytest.fixture(scope="session")
def shop(testbed_endpoints: "Endpoints") -> Iterator["Stubs"]:
    from testbed.shop.stubs import Stubs

    stubs = Stubs(testbed_endpoints.grpc)
    yield stubs
    stubs.close()


@pytest.fixture
def user_factory(shop: "Stubs") -> Callable[..., "Account"]:
    """Call it to get a new account, signed up and authenticated: `buyer = user_factory()`."""
    from testbed.shop.stubs import sign_up

    def make(display_name: str = "Conformance User") -> "Account":
        email = f"conf-{int(time.time())}-{secrets.token_hex(4)}@example.com"
        return sign_up(shop, email, f"pw-{secrets.token_urlsafe(12)}", display_name)

    return make


@pytest.fixture(scope="session")
def web_url(testbed_endpoints: "Endpoints") -> str:
    if not testbed_endpoints.web_url:
        pytest.fail("this target exposes no web front end")
    return testbed_endpoints.web_url


@pytest.fixture(scope="session")
def run_id() -> str:
    return os.environ.get("TESTBED_RUN_ID") or time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-adhoc"


@pytest.fixture(scope="session")
def artifacts_dir(run_id: str) -> Path:
    """Where a suite writes screenshots and other evidence (inside the run bundle under conform)."""
    root = os.environ.get("TESTBED_ARTIFACTS_DIR")
    path = Path(root) if root else Path("reports") / run_id / "artifacts" / os.environ.get("TESTBED_SUITE", "adhoc")
    path.mkdir(parents=True, exist_ok=True)
    return path


