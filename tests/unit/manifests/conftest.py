"""Renders of every profile x env, once per session; kubectl is required (fails under CI=true)."""

from __future__ import annotations

from typing import Any

import pytest
from manifests_helpers import COMBOS, MANIFESTS, need_kubectl

from testbed.render import documents, render


@pytest.fixture(scope="session")
def renders() -> dict[tuple[str, str], list[dict[str, Any]]]:
    need_kubectl()
    return {(profile, env): documents(render(profile, env, root=MANIFESTS)) for profile, env in COMBOS}
