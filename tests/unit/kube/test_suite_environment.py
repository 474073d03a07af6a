"""Suite processes load their own config: the cluster settings conform checked must reach them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testbed.conform.session import kube_environment
from testbed.config import load_config

pytestmark = pytest.mark.unit


def test_kube_settings_round_trip_through_the_suite_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    flags = {"target": "kube", "kube": {"kubeconfig": "k/config", "context": "lab", "env": "stg", "profile": "full"}}
    config = load_config(Path(os.devnull), flags=flags, environ={})
    env = kube_environment(config)
    assert env["TESTBED_KUBE__KUBECONFIG"] == str(tmp_path / "k" / "config")
    suite = load_config(Path(os.devnull), environ={"TESTBED_TARGET": "kube", **env})
    assert suite.kube.model_dump() == {**config.kube.model_dump(), "kubeconfig": tmp_path / "k" / "config"}


def test_local_target_adds_nothing() -> None:
    assert kube_environment(load_config(Path(os.devnull), environ={})) == {}
