"""Policy suite: the testbed's own manifests pass the manifest policy. Every test carries the `policy` marker.

Runs offline (no target needed). Where the manifests live: $TESTBED_MANIFESTS (default ./manifests);
each kustomize overlay under overlays/ (<profile>-<env>) is rendered and checked. Optional inputs next
to the manifests: policy-waivers.yaml (waivers file) and policy/ (Rego, conftest-compatible).
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees every item of the session, so mark only this directory's tests.
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.policy)
