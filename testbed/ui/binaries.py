"""Where Chromium and chromedriver live: testbed.yaml `binaries`, else PATH; never a download.

Kept apart from `driver` so the lookup (and its MissingTool message) is usable and testable
without importing selenium. Debian's /usr/bin/chromium is a shell launcher that sources
/etc/chromium.d and appends its own flags (remote extensions, GPU rasterization, ...); we
resolve it to the real binary so Chromium runs with exactly the flags the driver passes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from testbed.errors import MissingTool

DEBIAN_PACKAGES = "chromium chromium-driver"
INSTALL_HINT = f"install the Debian packages {DEBIAN_PACKAGES} (apt-get install {DEBIAN_PACKAGES})"
CHROMEDRIVER_NAMES = ("chromedriver",)
CHROMIUM_NAMES = ("chromium", "chromium-browser")


@dataclass(frozen=True)
class BrowserBinaries:
    chromedriver: Path
    chromium: Path


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def real_browser(path: Path) -> Path:
    """The ELF binary behind Debian's launcher script (/usr/bin/chromium -> /usr/lib/chromium/chromium)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return path
    if not head.startswith(b"#!") or b"LIBDIR=/usr/lib/" not in head:
        return path
    candidate = Path("/usr/lib") / path.name / path.name
    return candidate if _executable(candidate) else path


def _lookup(role: str, names: tuple[str, ...], configured: Mapping[str, Path], search_path: str | None) -> Path:
    if role in configured:
        path = Path(configured[role])
        if not _executable(path):
            raise MissingTool(f"{role} at {path} does not exist or is not executable; {INSTALL_HINT}", source="testbed.yaml", field=f"binaries.{role}")
        return path
    for name in names:
        found = shutil.which(name, path=search_path)
        if found:
            return Path(found)
    raise MissingTool(f"{role} not found on PATH (looked for {', '.join(names)}); {INSTALL_HINT}, or set binaries.{role} in testbed.yaml")


def find_browser_binaries(configured: Mapping[str, Path] | None = None, *, search_path: str | None = None) -> BrowserBinaries:
    """Configured paths win; otherwise PATH. Raises MissingTool naming the Debian packages."""
    conf = dict(configured or {})
    chromedriver = _lookup("chromedriver", CHROMEDRIVER_NAMES, conf, search_path)
    chromium = _lookup("chromium", CHROMIUM_NAMES, conf, search_path)
    return BrowserBinaries(chromedriver=chromedriver, chromium=real_browser(chromium))
