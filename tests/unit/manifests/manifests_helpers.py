"""Shared by the manifests tests: where the tree is, which combinations exist, the kubectl check."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from testbed.manifests_gen.spec import ENVS, PROFILES

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "manifests"
COMBOS = [(profile, env) for profile in PROFILES for env in ENVS]


def need_kubectl() -> None:
    if shutil.which("kubectl") is None:
        message = "kubectl is not on PATH: install kubectl (it bundles kustomize) to render the manifests"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
