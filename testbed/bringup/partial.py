"""Write-then-rename with temporary names that say which process made them.

Cache files and bundle directories are written under a temporary sibling name and renamed into
place, so a reader sees the old version or the new one, never half of either. The temporary name
carries the writer's pid (`<name>.partial-<pid>-<random>`), so a later run removes what a killed
run left behind and leaves alone what a concurrent run is still writing. Standard library only:
ci/fetch-upstream.sh runs testbed.bringup.gomod with the system python3 before any virtualenv exists.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

MARK = ".partial-"
LEGACY_STALE_S = 24 * 3600.0
"""A `.partial-*` name without a pid (older testbed versions) counts as stale after this long."""


def prefix(name: str = "") -> str:
    """The temporary-name prefix for `name` in this process: `<name>.partial-<pid>-`."""
    return f"{name}{MARK}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def clean_stale(directory: Path, name: str = "") -> list[Path]:
    """Remove the `<name>.partial-*` entries of `directory` whose writer is gone; returns what was removed."""
    with_pid = re.compile(re.escape(name + MARK) + r"(\d+)-")
    try:
        entries = list(directory.iterdir())
    except OSError:
        return []
    removed = []
    for path in entries:
        if not path.name.startswith(name + MARK):
            continue
        if m := with_pid.match(path.name):
            if _alive(int(m[1])):
                continue
        else:
            try:
                if time.time() - path.lstat().st_mtime < LEGACY_STALE_S:
                    continue
            except OSError:
                continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def write_file(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """`path` holds `data` (mode `mode`, not mkstemp's 0600), or is untouched if writing fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix(), dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            os.fchmod(out.fileno(), mode)
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def make_dir(target: Path) -> Path:
    """A new empty sibling directory of `target` to build it in (`<target>.partial-<pid>-XXXX`, mode 0755)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target.parent, target.name)
    tmp = Path(tempfile.mkdtemp(prefix=prefix(target.name), dir=target.parent))
    tmp.chmod(0o755)
    return tmp


def swap_dir(built: Path, target: Path) -> None:
    """Put the directory `built` in place of `target` by renames; the old `target` (if any) is removed after."""
    old = None
    if target.exists() or target.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=prefix(target.name), dir=target.parent))
        old.rmdir()
        target.rename(old)
    try:
        built.rename(target)
    except OSError:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
