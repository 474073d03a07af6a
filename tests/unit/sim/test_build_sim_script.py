"""ci/build-sim.sh leaves no scratch module dir or half-written binary of its own behind when a build fails
(a fake `go` that fails), and leaves a concurrent build's work in the same cache alone."""

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
    assert not list(bin_dir.glob(".staging.*"))


def test_a_failed_build_removes_only_its_own_half_written_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A concurrent run of the script on the same cache is mid-build (its staging dir, an old-style
    `.tmp`): ours fails after writing part of etcd, and removes exactly what it wrote."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TESTBED_CACHE", str(cache))
    env = {**os.environ, "TESTBED_CACHE": str(cache)}
    bin_dir = default_bin_dir()
    bin_dir.mkdir(parents=True)
    for name in REQUIRED:
        if name != "etcd":
            (bin_dir / name).write_text("")
            (bin_dir / name).chmod(0o755)
    others = [bin_dir / ".staging.other" / "etcd", bin_dir / "kube-apiserver.tmp"]
    for path in others:
        path.parent.mkdir(exist_ok=True)
        path.write_text("another run's half-written binary")
    fake = tmp_path / "fakebin"
    fake.mkdir()
    written = tmp_path / "written"
    (fake / "go").write_text(
        "#!/bin/sh\n"
        '[ "$1" = build ] || exit 0\n'
        'while [ $# -gt 0 ]; do if [ "$1" = -o ]; then echo partial > "$2"; echo "$2" >> ' f"{written}" '; fi; shift; done\n'
        "echo 'go: build failed' >&2\nexit 1\n"
    )
    (fake / "go").chmod(0o755)
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    proc = subprocess.run(["bash", str(build_script())], env={**env, "PATH": f"{fake}:/usr/bin:/bin", "TMPDIR": str(scratch)},
                          capture_output=True, text=True, timeout=60)

    assert proc.returncode != 0, proc.stderr
    ours = Path(written.read_text().strip())
    assert ours.parent.parent == bin_dir and ours.parent.name.startswith(".staging."), "built into a staging dir of this run"
    assert not ours.parent.exists(), "our half-written binary and staging dir are removed"
    assert all(path.read_text() == "another run's half-written binary" for path in others), "the other run's work is untouched"
    assert sorted(p.name for p in bin_dir.iterdir()) == sorted([*(n for n in REQUIRED if n != "etcd"), ".staging.other", "kube-apiserver.tmp"])
