"""Locating the Go-built reference tools (conftest, kubeconform) for comparison tests.

They are built by ci/build-go-tools.sh into $TESTBED_CACHE/tools/bin (default ~/.cache/testbed).
When CI=true a missing tool fails the test; locally it skips with the build command.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from testbed.testing.prereqs import unavailable


def tools_bin() -> Path:
    root = Path(os.environ.get("TESTBED_CACHE", Path.home() / ".cache" / "testbed"))
    return root / "tools" / "bin"


def require_tool(name: str) -> str:
    found = shutil.which(name)
    candidate = tools_bin() / name
    if found is None and candidate.is_file() and os.access(candidate, os.X_OK):
        found = str(candidate)
    if found is None:
        message = f"{name} not found on PATH or in {tools_bin()}; build it with ci/build-go-tools.sh"
        unavailable(message)
    return found
