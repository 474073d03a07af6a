"""Shared by the manifests tests: where the tree is, which combinations exist, the kubectl check."""

from __future__ import annotations

import shutil
from pathlib import Path

from testbed.manifests_gen.spec import ENVS, PROFILES
from testbed.testing.prereqs import unavailable

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "manifests"
COMBOS = [(profile, env) for profile in PROFILES for env in ENVS]


def need_kubectl() -> None:
    if shutil.which("kubectl") is None:
        message = "kubectl is not on PATH: install kubectl (it bundles kustomize) to render the manifests"
        unavailable(message)
