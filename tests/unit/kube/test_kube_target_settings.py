"""The kube target hands every `kube.*` setting the bring-up needs to its session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testbed.config import load_config
from testbed.targets.kube import KubeTarget

pytestmark = pytest.mark.unit


def test_gitops_and_harbor_settings_reach_the_bring_up() -> None:
    kube = {"profile": "full", "env": "stg", "harbor_url": "https://harbor.example.test",
            "gitops_repo": "https://git.example.test/me/testbed.git", "gitops_revision": "release-1"}
    config = load_config(Path(os.devnull), flags={"target": "kube", "kube": kube}, environ={})
    spec = KubeTarget(config).session().spec
    assert (spec.profile, spec.env, spec.harbor_url) == ("full", "stg", "https://harbor.example.test")
    assert (spec.gitops_repo, spec.gitops_revision) == ("https://git.example.test/me/testbed.git", "release-1")
