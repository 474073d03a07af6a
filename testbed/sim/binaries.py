"""Finding the sim target's binaries, and saying exactly which are missing and how to get them.

Search order for each binary: the directory given by `--bin-dir` or $TESTBED_SIM_BIN_DIR,
then the build cache (`testbed sim build` output), then $PATH.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from testbed.errors import MissingTool
from testbed.sim.versions import PINNED, SimVersions, default_bin_dir

BIN_DIR_ENV = "TESTBED_SIM_BIN_DIR"
BUILD_HINT = "build them with `testbed sim build` (or `bash ci/build-sim.sh`)"

# kwokctl runs these; kubectl is what kwokctl and users talk to the cluster with.
REQUIRED: tuple[str, ...] = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kwokctl",
    "kubectl",
)


@dataclass(frozen=True)
class SimBinaries:
    """Absolute paths of every required binary, by name."""

    paths: Mapping[str, Path]

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]


def search_dirs(bin_dir: Path | None = None, versions: SimVersions = PINNED) -> list[Path]:
    """The directories searched before $PATH, most specific first."""
    dirs = []
    explicit = bin_dir or (Path(os.environ[BIN_DIR_ENV]) if os.environ.get(BIN_DIR_ENV) else None)
    if explicit is not None:
        dirs.append(explicit.expanduser())
    dirs.append(default_bin_dir(versions))
    return dirs


def missing_binaries(bin_dir: Path | None = None, versions: SimVersions = PINNED) -> list[str]:
    """Names of the required binaries that cannot be found anywhere."""
    return [name for name in REQUIRED if _find(name, search_dirs(bin_dir, versions)) is None]


def locate(bin_dir: Path | None = None, versions: SimVersions = PINNED) -> SimBinaries:
    """All required binaries, or one MissingTool listing every missing one and how to build them."""
    dirs = search_dirs(bin_dir, versions)
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in REQUIRED:
        path = _find(name, dirs)
        if path is None:
            missing.append(name)
        else:
            found[name] = path
    if missing:
        looked = ", ".join(str(d) for d in dirs)
        raise MissingTool(f"sim binaries missing: {', '.join(missing)} (looked in {looked} and on PATH); {BUILD_HINT}")
    return SimBinaries(found)


def _find(name: str, dirs: list[Path]) -> Path | None:
    for directory in dirs:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    on_path = shutil.which(name)
    return Path(on_path).resolve() if on_path else None
