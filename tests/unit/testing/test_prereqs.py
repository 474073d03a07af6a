"""The one rule for missing prerequisites: fail under CI, skip elsewhere."""

from __future__ import annotations

import pytest

from testbed.testing.prereqs import in_ci, require

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("TRUE", True), ("1", True), ("yes", True),
                                                 ("", False), ("false", False), ("0", False)])
def test_in_ci_reads_the_ci_variable(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_a_missing_prerequisite_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="get kubectl"):
        require(False, "get kubectl")


def test_a_missing_prerequisite_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="get kubectl"):
        require(False, "get kubectl")


def test_a_present_prerequisite_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    require(True, "unused")
