"""Where each file of a run bundle lives, and the run id that names the bundle."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from testbed.errors import ConfigError

RUN_ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


def new_run_id(now: datetime | None = None, suffix: str | None = None) -> str:
    """UTC timestamp plus a short random suffix, e.g. 20261122-193000-a1b2c3: sortable and unique."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment:%Y%m%d-%H%M%S}-{suffix or secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunBundle:
    """Paths of one run's bundle; `create` makes the directories."""

    reports_dir: Path
    run_id: str

    @property
    def root(self) -> Path:
        return self.reports_dir / self.run_id

    @property
    def junit(self) -> Path:
        return self.root / "junit.xml"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def pytest_dir(self) -> Path:
        return self.root / "pytest"

    def service_log(self, service: str) -> Path:
        return self.logs_dir / f"{service}.log"

    def suite_output(self, suite: str) -> Path:
        """Everything pytest printed for the suite."""
        return self.pytest_dir / f"{suite}.log"

    def suite_junit(self, suite: str) -> Path:
        """pytest's own JUnit XML for the suite, before merging."""
        return self.pytest_dir / f"{suite}.junit.xml"

    def artifacts(self, suite: str) -> Path:
        """Where a suite may write screenshots and other evidence (TESTBED_ARTIFACTS_DIR)."""
        return self.root / "artifacts" / suite

    def create(self, suites: tuple[str, ...] = ()) -> RunBundle:
        """Make the bundle's directories; an unusable reports dir is a ConfigError naming it."""
        latest = self.root.parent / "latest"
        if latest.exists() and not latest.is_symlink():
            raise ConfigError(f"{latest} exists and is not a symlink; move it away so runs can point it at the newest bundle", field="reports_dir")
        try:
            for path in (self.logs_dir, self.pytest_dir, *(self.artifacts(s) for s in suites)):
                path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create the run bundle in {self.root.parent}: {err.strerror}", field="reports_dir") from None
        return self

    def relative(self, path: Path) -> str:
        """A link from report.html (in the bundle root) to `path`."""
        return path.relative_to(self.root).as_posix()
