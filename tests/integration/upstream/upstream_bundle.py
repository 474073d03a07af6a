"""What the upstream tests fetch: the components whose real CRDs are obtainable here, and how."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from testbed.testing.prereqs import require, unavailable

REPO = Path(__file__).resolve().parents[3]
# Every upstream component whose CRDs can be fetched here (the Helm-chart ones cannot: see versions.yaml).
REAL = ("rook-ceph", "contour", "argocd", "cloudnative-pg", "tekton-pipelines", "tekton-triggers")
FETCH_TIMEOUT_S = 300


def fetch_real_crds(directory: Path) -> Path:
    """`testbed bundle DIR --crds-only --only REAL` as a real subprocess; DIR/<component>/crds.yaml + bundle.yaml."""
    try:
        proc = subprocess.run([sys.executable, "-m", "testbed.cli.main", "bundle", str(directory), "--crds-only",
                               "--only", ",".join(REAL)], capture_output=True, text=True, timeout=FETCH_TIMEOUT_S, cwd=REPO)
    except subprocess.TimeoutExpired as err:
        tail = (err.stderr.decode(errors="replace") if isinstance(err.stderr, bytes) else err.stderr or "").strip()[-600:]
        unavailable(f"cannot fetch the upstream CRDs: `testbed bundle --crds-only` did not finish in {FETCH_TIMEOUT_S}s "
                    f"(is $GOPROXY reachable? `bash ci/fetch-upstream.sh` warms the cache): {tail}")
    require(proc.returncode == 0, f"cannot fetch the upstream CRDs (is $GOPROXY reachable? `bash ci/fetch-upstream.sh` "
                                  f"warms the cache): {proc.stderr.strip()[-600:]}")
    index = yaml.safe_load((directory / "bundle.yaml").read_text())
    assert index["crdsOnly"] is True
    assert sorted(e["name"] for e in index["upstream"]) == sorted(REAL)
    assert all(e["crdsFrom"] == "upstream" and e["sources"] for e in index["upstream"])
    return directory
