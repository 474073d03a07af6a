"""Suite selection, -n, and the reachability and access checks: every bad input fails before anything runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from testbed.conform import session
from testbed.conform.reachability import check_access, check_reachable
from testbed.conform.suites import parse_suite_flag, parse_workers, resolve_suites
from testbed.config import Config
from testbed.errors import ConfigError, TargetUnreachable
from testbed.targets.base import Endpoints, ServiceState, TargetStatus

pytestmark = pytest.mark.unit


def test_suite_flag_splits_dedupes_and_rejects_unknown_names() -> None:
    assert parse_suite_flag(None) is None
    assert parse_suite_flag(" e2e, ui ,e2e") == ("e2e", "ui")
    with pytest.raises(ConfigError, match=r"^--suite: unknown suite 'nope'; expected some of e2e, ui"):
        parse_suite_flag("e2e,nope")
    with pytest.raises(ConfigError, match="no suite named"):
        parse_suite_flag(" , ")


def test_resolve_suites_needs_a_directory_per_suite(tmp_path: Path) -> None:
    (tmp_path / "e2e").mkdir()
    assert resolve_suites(("e2e",), tmp_path) == {"e2e": tmp_path / "e2e"}
    with pytest.raises(ConfigError, match=r"suite 'ui' not found: no directory"):
        resolve_suites(("e2e", "ui"), tmp_path)
    with pytest.raises(ConfigError, match="no suites selected"):
        resolve_suites((), tmp_path)


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("auto", "auto"), ("2", "2")])
def test_workers_accepts_auto_and_positive_numbers(value: str | None, expected: str | None) -> None:
    assert parse_workers(value) == expected


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", ""])
def test_workers_rejects_anything_else(value: str) -> None:
    with pytest.raises(ConfigError, match="^-n: expected 'auto' or a positive number"):
        parse_workers(value)


class FakeTarget:
    """A target double: answers from fixed data, optionally slowly or by raising."""

    name = "fake"

    def __init__(self, services: tuple[ServiceState, ...] = (), *, delay_s: float = 0.0, raises: BaseException | None = None) -> None:
        self.services, self.delay_s, self.raises = services, delay_s, raises

    def endpoints(self) -> Endpoints:
        time.sleep(self.delay_s)
        if self.raises is not None:
            raise self.raises
        return Endpoints(grpc={s.name: s.address or "" for s in self.services}, logs={"user": "/nonexistent"})

    def status(self) -> TargetStatus:
        return TargetStatus("fake", self.services)


UP = ServiceState("user", True, "SERVING", pid=1, address="127.0.0.1:1")
DOWN = ServiceState("cart", False, "not running")


def test_healthy_target_gives_its_endpoints() -> None:
    assert check_reachable(FakeTarget((UP,)), 1.0).logs == {"user": "/nonexistent"}  # type: ignore[arg-type]


@pytest.mark.parametrize(("target", "message"), [
    (FakeTarget(raises=TargetUnreachable("the local testbed is not up: run `testbed up`")), "not up: run `testbed up`"),
    (FakeTarget(()), "nothing is up on target 'fake'"),
    (FakeTarget((UP, DOWN)), r"not healthy: cart \(not running\)"),
    (FakeTarget(raises=ConnectionRefusedError("refused")), "could not be queried: ConnectionRefusedError: refused"),
])
def test_unreachable_or_unhealthy_targets_raise_target_unreachable(target: FakeTarget, message: str) -> None:
    with pytest.raises(TargetUnreachable, match=message):
        check_reachable(target, 1.0)  # type: ignore[arg-type]


def test_a_hung_target_is_abandoned_at_the_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(TargetUnreachable, match=r"did not answer within 0.3s"):
        check_reachable(FakeTarget((UP,), delay_s=5.0), 0.3)  # type: ignore[arg-type]
    assert time.monotonic() - started < 2.0


class AccessTarget(FakeTarget):
    """A healthy target whose access() records the thread it was opened on, or raises like kube's port-forwards."""

    def __init__(self, raises: BaseException | None = None) -> None:
        super().__init__((UP,))
        self.access_raises = raises
        self.opened_on: list[threading.Thread] = []
        self.closed = False

    @contextmanager
    def access(self) -> Iterator[Endpoints]:
        self.opened_on.append(threading.current_thread())
        if self.access_raises is not None:
            raise self.access_raises
        try:
            yield self.endpoints()
        finally:
            self.closed = True


def test_access_is_opened_and_closed_once_on_the_calling_thread() -> None:
    target = AccessTarget()
    check_access(target)  # type: ignore[arg-type]
    assert target.opened_on == [threading.current_thread()] and target.closed


def test_access_that_cannot_open_is_unreachable_with_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    line = "cannot forward svc/rate:50051 in namespace testbed-dev-shop: error: unable to forward port"
    target = AccessTarget(TargetUnreachable(line))
    monkeypatch.setattr(session, "get_target", lambda config: target)
    with pytest.raises(TargetUnreachable) as caught:
        session.reach_target(Config())
    assert caught.value.message == line and target.opened_on == [threading.current_thread()]
