"""Where the suites live and which of them a run selects; bad names fail before anything runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import testbed
from testbed.config import KNOWN_SUITES
from testbed.errors import ConfigError

SUITES_DIRNAME = "suites"


def default_suites_dir(cwd: Path | None = None) -> Path:
    """suites/ next to the testbed package (a source checkout), else suites/ in the current directory."""
    beside_package = Path(testbed.__file__).resolve().parents[1] / SUITES_DIRNAME
    if beside_package.is_dir():
        return beside_package
    return (cwd or Path.cwd()).resolve() / SUITES_DIRNAME


def parse_suite_flag(value: str | None) -> tuple[str, ...] | None:
    """`--suite e2e,ui` -> ("e2e", "ui"); unknown names are a usage error naming the flag."""
    if value is None:
        return None
    names = tuple(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))
    if not names:
        raise ConfigError("no suite named", field="--suite")
    for name in names:
        if name not in KNOWN_SUITES:
            raise ConfigError(f"unknown suite {name!r}; expected some of {', '.join(KNOWN_SUITES)}", field="--suite")
    return names


def resolve_suites(names: Sequence[str], suites_dir: Path) -> dict[str, Path]:
    """Map each selected suite to its directory; a suite with no directory is a usage error."""
    if not names:
        raise ConfigError("no suites selected", field="suites")
    found: dict[str, Path] = {}
    for name in names:
        path = suites_dir / name
        if not path.is_dir():
            raise ConfigError(f"suite {name!r} not found: no directory {path}", field="suites")
        found[name] = path
    return found


def parse_workers(value: str | None) -> str | None:
    """`-n auto` or `-n N` (N >= 1) for pytest-xdist; None runs without xdist."""
    if value is None:
        return None
    if value == "auto" or (value.isdigit() and int(value) >= 1):
        return value
    raise ConfigError(f"expected 'auto' or a positive number, got {value!r}", field="-n")
