"""ci/build-sim.sh leaves no scratch module dir behind when a build fails (a fake `go` that always fails)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from testbed.sim.binaries import REQUIRED
from testbed.sim.build import build_script
from testbed.sim.versions import default_bin_dir

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("missing", ["etcd", "kube-apiserver"])
def test_a_failed_build_removes_its_work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))
    bin_dir = default_bin_dir()
    bin_dir.mkdir(parents=True)
    for name in REQUIRED:
        if name != missing:
            (bin_dir / name).write_text("")
            (bin_dir / name).chmod(0o755)
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "go").write_text("#!/bin/sh\necho 'go: build failed' >&2\nexit 1\n")
    (fake / "go").chmod(0o755)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PATH": f"{fake}:/usr/bin:/bin", "TMPDIR": str(scratch), "TESTBED_CACHE": str(tmp_path / "cache")}

    proc = subprocess.run(["bash", str(build_script())], env=env, capture_output=True, text=True, timeout=60)

    assert proc.returncode != 0
    assert list(scratch.iterdir()) == []
    assert not list(bin_dir.glob("*.tmp"))
