"""A bundle directory: the upstream components' manifests for bring-up, read and written here.

`bundle.yaml` lists, per upstream component, its CRD file and its install file (release
manifest, or a chart rendered for the testbed), its namespace, the images it pulls, where each
artifact came from (`sources`: URL, Go module proxy or cache, with its sha256) and whether
its CRDs are the real upstream ones (`crdsFrom: upstream|stand-in`). Both `testbed bundle DIR`
(downloaded, pinned, checksummed) and `testbed bundle --stand-in DIR` (stand-ins for dry runs
on sim) write this layout; `testbed up --bundle DIR` reads it. `testbed bundle --crds-only`
writes the CRDs alone (`crdsOnly: true`): for schema checks and dry runs, never for bring-up.

A bundle is whole or absent: it is built in a sibling directory (`DIR.partial-<pid>-XXXX`) and
renamed into place (`staged`), so a failed or killed run leaves the previous bundle as it was.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from testbed.bringup import partial
from testbed.errors import ConfigError

BUNDLE_FILE = "bundle.yaml"
BUNDLE_KIND = "TestbedBundle"
BUNDLE_API = "testbed.io/v1"


@dataclass(frozen=True)
class BundleEntry:
    name: str
    component: str
    namespace: str
    profiles: tuple[str, ...]
    crds: str | None
    install: str
    images: tuple[str, ...] = ()
    sources: tuple[dict[str, str], ...] = ()
    """Per artifact: file, url, sha256, from (url|gomod|cache|helm), origin."""
    crds_from: str | None = None
    """upstream: the real CRDs of the pinned release; stand-in: open-schema stand-ins."""


@dataclass(frozen=True)
class Bundle:
    root: Path
    stand_in: bool
    entries: tuple[BundleEntry, ...]
    sim_stages: Path | None

    def for_profile(self, profile: str) -> list[BundleEntry]:
        return [e for e in self.entries if profile in e.profiles]


def _entry_doc(entry: BundleEntry) -> dict[str, Any]:
    doc = {**asdict(entry), "profiles": list(entry.profiles), "images": list(entry.images),
           "sources": [dict(s) for s in entry.sources], "crdsFrom": entry.crds_from}
    del doc["crds_from"]
    if not entry.sources:
        del doc["sources"]
    if entry.crds_from is None:
        del doc["crdsFrom"]
    return doc


def check_replaceable(directory: Path) -> None:
    """`directory` may become a bundle: it is absent, empty, or a bundle already (replaced whole); else ConfigError."""
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise ConfigError("exists and is not a directory; choose a new or empty directory", source=str(directory))
    if directory.is_dir() and not (directory / BUNDLE_FILE).is_file() and any(directory.iterdir()):
        raise ConfigError(f"is not empty and holds no {BUNDLE_FILE}; a bundle replaces its directory whole, so choose a "
                          "new or empty directory", source=str(directory))


@contextmanager
def staged(directory: Path) -> Iterator[Path]:
    """A new directory to build a bundle in; on success it replaces `directory` whole (renames), on failure it goes."""
    check_replaceable(directory)
    build = partial.make_dir(directory)
    try:
        yield build
        partial.swap_dir(build, directory)
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)


def write_manifest(directory: Path, entries: list[BundleEntry], *, stand_in: bool, sim_stages: str | None = None,
                   crds_only: bool = False, extra_images: Iterable[str] = ()) -> Path:
    doc: dict[str, Any] = {"apiVersion": BUNDLE_API, "kind": BUNDLE_KIND, "standIn": stand_in,
                           "upstream": [_entry_doc(e) for e in entries]}
    if crds_only:
        doc["crdsOnly"] = True
    if sim_stages:
        doc["simStages"] = sim_stages
    path = directory / BUNDLE_FILE
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    images = sorted({i for e in entries for i in e.images} | set(extra_images))
    (directory / "images.txt").write_text("".join(f"{i}\n" for i in images))
    return path


def load_bundle(directory: Path) -> Bundle:
    """Read and check a bundle; errors name the file and the field."""
    path = directory / BUNDLE_FILE
    if not path.is_file():
        raise ConfigError(f"not a testbed bundle (no {BUNDLE_FILE}); write one with `testbed bundle DIR` "
                          "or `testbed bundle --stand-in DIR`", source=str(directory))
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"not valid YAML: {err}", source=str(path)) from None
    if not isinstance(doc, dict) or doc.get("kind") != BUNDLE_KIND:
        raise ConfigError(f"kind must be {BUNDLE_KIND}", source=str(path), field="kind")
    if doc.get("crdsOnly"):
        raise ConfigError("a CRDs-only bundle (`testbed bundle --crds-only`) is for schema checks and dry runs, not for "
                          "bring-up; write a full one with `testbed bundle DIR`", source=str(path), field="crdsOnly")
    entries = []
    for i, raw in enumerate(doc.get("upstream") or []):
        try:
            entry = BundleEntry(raw["name"], raw["component"], raw["namespace"], tuple(raw["profiles"]),
                                raw.get("crds"), raw["install"], tuple(raw.get("images") or ()),
                                tuple(dict(s) for s in raw.get("sources") or ()), raw.get("crdsFrom"))
        except (KeyError, TypeError) as err:
            raise ConfigError(f"missing or bad field {err}", source=str(path), field=f"upstream[{i}]") from None
        for rel in (entry.crds, entry.install):
            if rel and not (directory / rel).is_file():
                raise ConfigError(f"file {rel} is missing from the bundle", source=str(path), field=f"upstream[{i}]")
        entries.append(entry)
    stages = doc.get("simStages")
    return Bundle(directory, bool(doc.get("standIn")), tuple(entries), directory / stages if stages else None)
