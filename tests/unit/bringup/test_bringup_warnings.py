"""`testbed up --target kube --profile full` says in one line that Argo CD will not sync while it points at
the placeholder repository; the line is also in the record (bringup.json), with the testbed CA's path."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from testbed.bringup.bundle import load_bundle
from testbed.bringup.record import Recorder
from testbed.bringup.session import BringUp, ClusterSpec
from testbed.bringup.standin import write_stand_in_bundle
from testbed.manifests_gen.gitops import placeholder_warning
from testbed.testing.prereqs import unavailable

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]


def _up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **spec: Any) -> Recorder:
    if shutil.which("kubectl") is None:
        unavailable("kubectl is not on PATH: install kubectl (it bundles kustomize) to render the manifests")
    import testbed.bringup.runner as runner

    write_stand_in_bundle(tmp_path / "bundle")

    def fake_run(_playbook: str, **_kw: Any) -> Recorder:
        record = Recorder()
        record.finish("successful", 0, tmp_path)
        return record

    monkeypatch.setattr(runner, "run_playbook", fake_run)
    monkeypatch.setattr(BringUp, "preflight", lambda self: None)
    monkeypatch.setattr(BringUp, "bundle", lambda self, workdir: load_bundle(tmp_path / "bundle"))  # a real cluster's stands in
    session = BringUp(ClusterSpec(kubeconfig=tmp_path / "kubeconfig", context=None, sim=False, profile="full", env="dev",
                                  bundle=None, manifests_root=REPO / "manifests", reports_dir=tmp_path / "reports",
                                  state_dir=tmp_path / "state", **spec))
    return session.up()


def test_placeholder_repository_is_one_warning_line_and_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="testbed.bringup"):
        record = _up(tmp_path, monkeypatch)
    assert [r.getMessage() for r in caplog.records] == [placeholder_warning("dev")]
    assert record.warnings == [placeholder_warning("dev")]
    assert record.ca_cert == str(tmp_path / "state" / "ca" / "ca.crt")
    written = json.loads(record.write(tmp_path / "bringup.json").read_text())
    assert written["warnings"] == [placeholder_warning("dev")] and written["ca_cert"] == record.ca_cert


def test_no_warning_once_the_repository_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="testbed.bringup"):
        record = _up(tmp_path, monkeypatch, gitops_repo="https://github.com/example/testbed.git")
    assert not caplog.records and record.warnings == []

