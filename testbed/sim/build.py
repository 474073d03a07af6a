"""Building the sim binaries from their Go modules, by running ci/build-sim.sh.

The script does the work (it is also what .ci/run calls); this wrapper passes the pinned
versions, checks Go is there, and records how long a build took and its peak memory in
<cache>/sim/<versions>/build.json, which the benchmark reports as the cold build figure.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from testbed.errors import ConfigError, MissingTool, ProvisioningFailed
from testbed.sim.binaries import REQUIRED
from testbed.sim.versions import PINNED, SimVersions, cache_root, default_bin_dir

BUILD_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class BuildRecord:
    bin_dir: Path
    built: list[str]
    wall_s: float
    peak_rss_kib: int
    cold_go_cache: bool = False  # True when Go's build cache was empty: a truly cold build

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_kib / 1024


def build_script() -> Path:
    """ci/build-sim.sh of this source checkout."""
    script = Path(__file__).resolve().parents[2] / "ci" / "build-sim.sh"
    if not script.is_file():
        raise ConfigError(f"{script} not found: `testbed sim build` runs from a source checkout of testbed")
    return script


def record_path(versions: SimVersions = PINNED, root: Path | None = None) -> Path:
    return default_bin_dir(versions, root).parent / "build.json"


def load_record(versions: SimVersions = PINNED, root: Path | None = None) -> BuildRecord | None:
    """The figures of the last build that actually built something, if any."""
    try:
        data = json.loads(record_path(versions, root).read_text())
        return BuildRecord(
            Path(data["bin_dir"]),
            list(data["built"]),
            float(data["wall_s"]),
            int(data["peak_rss_kib"]),
            bool(data.get("cold_go_cache", False)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_binaries(versions: SimVersions = PINNED, root: Path | None = None) -> BuildRecord:
    """Build whatever is missing (the script skips what exists); returns what was built and its cost."""
    bin_dir = default_bin_dir(versions, root)
    missing = [name for name in REQUIRED if not (bin_dir / name).is_file()]
    if not missing:
        return BuildRecord(bin_dir, [], 0.0, 0)
    if shutil.which("go") is None:
        raise MissingTool("go is not on PATH; the sim binaries are built from Go modules (Go 1.24 or newer)")
    root = root or cache_root()
    cold = _go_cache_is_empty()
    env = {**os.environ, **versions.build_env()}
    start = time.monotonic()
    try:
        done = subprocess.run(
            ["bash", str(build_script()), str(root)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as err:
        raise ProvisioningFailed("sim build", f"ci/build-sim.sh did not finish within {BUILD_TIMEOUT_S:.0f}s") from err
    wall_s = time.monotonic() - start
    if done.returncode != 0:
        raise ProvisioningFailed("sim build", f"ci/build-sim.sh failed with exit {done.returncode} (its output is above)")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    record = BuildRecord(bin_dir, missing, wall_s, peak_kib, cold)
    record_path(versions, root).write_text(json.dumps({**asdict(record), "bin_dir": str(bin_dir)}, indent=2))
    return record


def _go_cache_is_empty() -> bool:
    try:
        gocache = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return False
    return not gocache or next(Path(gocache).glob("??/*"), None) is None
