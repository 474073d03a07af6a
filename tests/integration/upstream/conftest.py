"""The real upstream CRDs, fetched once per module through `testbed bundle --crds-only` (a real subprocess).

Files come from the upstream cache when it is warm (ci/fetch-upstream.sh warms it), else from
their URLs or the Go module proxy. No network: skipped locally, failed when CI=true.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from upstream_bundle import fetch_real_crds


@pytest.fixture(scope="module")
def real_crds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CRDs-only bundle of upstream_bundle.REAL."""
    return fetch_real_crds(tmp_path_factory.mktemp("real-crds") / "bundle")
