"""Point reports/latest at the newest run, atomically: a reader sees the old or the new link, never none."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from testbed.errors import TestbedError

LATEST = "latest"


def point_latest(reports_dir: Path, run_id: str) -> Path:
    """Create a temporary symlink to `run_id` (relative, so the tree can move) and rename it over `latest`."""
    link = reports_dir / LATEST
    if link.exists() and not link.is_symlink():
        raise TestbedError(f"{link} exists and is not a symlink; remove it so it can point at the newest run")
    tmp = reports_dir / f".{LATEST}-{secrets.token_hex(4)}.tmp"
    os.symlink(run_id, tmp, target_is_directory=True)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return link
