"""Fixtures of the upstream-fetch tests: the fake network."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from upstream_fakes import FakeNet


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Any]], FakeNet]:
    """Install a FakeNet with these routes as urllib's urlopen; returns it."""
    def install(routes: dict[str, Any]) -> FakeNet:
        fake = FakeNet(routes)
        monkeypatch.setattr(urllib.request, "urlopen", fake)
        return fake
    return install
