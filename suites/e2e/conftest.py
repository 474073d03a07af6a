"""E2E suite: API conformance of the shop over gRPC. Every test here carries the `e2e` marker."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.e2e)
