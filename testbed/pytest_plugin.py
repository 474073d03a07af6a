"""testbed's pytest plugin (entry point `pytest11`): suite markers and fixtures for suites.

Registered for every pytest run in an environment where testbed is installed, so it must
stay cheap to import: anything heavy is imported inside the fixtures that need it.
"""

from __future__ import annotations

import pytest

SUITE_MARKERS = {
    "e2e": "conformance suite: gRPC API flows",
    "ui": "conformance suite: Selenium UI in headless Chromium",
    "load": "conformance suite: locust load with thresholds",
    "chaos": "conformance suite: fault injection with steady-state checks",
    "policy": "conformance suite: manifest policy",
    "cluster": "conformance suite: cluster component readiness",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, help_text in SUITE_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {help_text}")
