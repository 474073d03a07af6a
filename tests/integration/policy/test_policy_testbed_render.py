"""The testbed's own render passes the policy: `testbed policy --profile P --env E` exits 0 for every overlay."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.testing.prereqs import unavailable

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
OVERLAYS = sorted(p.name for p in (REPO / "manifests" / "overlays").glob("*-*") if (p / "kustomization.yaml").is_file())


@pytest.mark.skipif(not OVERLAYS, reason="the testbed's manifests (manifests/overlays) are not in this checkout")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_testbed_overlay_passes(overlay: str) -> None:
    if shutil.which("kubectl") is None:
        unavailable("kubectl (with kustomize) is required and not on PATH")
    profile, env = overlay.split("-", 1)
    proc = subprocess.run([sys.executable, "-m", "testbed.cli.main", "policy", "--profile", profile, "--env", env,
                           "--format", "json"], capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    report = json.loads(proc.stdout)
    failing = [f"{f['rule']} {f['kind']}/{f['name']} {f['path']}: {f['message']}"
               for f in report["findings"] if not f["waived"] and f["severity"] == "error"]
    assert proc.returncode == 0, "\n".join(failing) or proc.stderr
    assert report["documents"] > 0
    assert all(f["waiver"]["reason"].strip() for f in report["findings"] if f["waived"])
