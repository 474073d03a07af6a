"""`testbed bundle DIR`: fetch every pinned upstream artifact of manifests/upstream/versions.yaml.

Release manifests come through testbed.bringup.fetch (URL, then the Go module proxy mirror;
checked against their sha256; an "unverified" pin is refused unless `record_checksums`,
which records what was fetched: trust on first use), are split into CRDs and install
documents, and written in the bundle layout with where each file came from. Helm charts are
fetched with the helm binary and rendered with the testbed's values (per env when the values
name {env}). Every container image goes into images.txt for mirroring. Components that cannot
be fetched are all named in one error, and no bundle.yaml is written then: a bundle is whole
or absent. `crds_only` writes just the CRDs (from the release files, or the repository's CRD
files where the release file is not obtainable): the real schemas for policy and dry runs.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from testbed.bringup import gomod
from testbed.bringup.bundle import BundleEntry, write_manifest
from testbed.bringup.fetch import UNVERIFIED, ChecksumMismatch, Fetched, Fetcher, FetchFailed, Pin, module_hashes, upstream_cache
from testbed.errors import ConfigError, MissingTool, TestbedError

HELM_TIMEOUT_S = 120.0
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # release files run to megabytes of CRDs
_Dumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
VERSIONS = "manifests/upstream/versions.yaml"

__all__ = ["UNVERIFIED", "ChecksumMismatch", "FetchFailed", "download_bundle", "load_versions", "make_fetcher", "pins_of"]


def load_versions(manifests_root: Path) -> dict[str, Any]:
    path = manifests_root / "upstream" / "versions.yaml"
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read: {err}", source=str(path)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("components"), list):
        raise ConfigError("no components list", source=str(path), field="components")
    return doc


def pins_of(comp: dict[str, Any], *, crds: bool = False) -> list[Pin]:
    """The files of a `manifests` component; with `crds`, its CRD source files when it lists them separately."""
    key = "crds" if crds and comp.get("crds") else "manifests"
    return [Pin.parse(raw, f"{comp['name']}.{key}[{i}]") for i, raw in enumerate(comp.get(key) or [])]


def make_fetcher(manifests_root: Path, *, record: bool = False, cache: Path | None = None) -> Fetcher:
    return Fetcher(cache=cache or upstream_cache(), proxy=gomod.proxy_base(),
                   modules=module_hashes(load_versions(manifests_root)), record=record)


def _images(docs: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "image" and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for doc in docs:
        walk(doc)
    return found


def _helm_render(comp: dict[str, Any], manifests_root: Path, env: str, workdir: Path) -> str:
    helm = shutil.which("helm")
    h = comp["helm"]
    why = f" (pin: {' '.join(str(h['unverified']).split())})" if h.get("unverified") else ""
    if helm is None:
        raise MissingTool(f"{comp['name']}: helm is needed to bundle Helm charts; build it from its Go module ({VERSIONS} "
                          f"tools: helm) into ~/.cache/testbed or put it on PATH{why}")
    values = [str(manifests_root.parent / v.replace("{env}", env)) for v in h.get("values") or []]
    cmd = [helm, "template", h["release"], h["chart"], "--repo", h["repo"], "--version", str(h["version"]),
           "--namespace", comp["namespace"].replace("{env}", env), "--include-crds"]
    for v in values:
        cmd += ["-f", v]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=HELM_TIMEOUT_S, check=False, cwd=workdir)
    except subprocess.TimeoutExpired:
        raise FetchFailed(f"{comp['name']}: helm template {h['chart']} {h['version']} from {h['repo']} did not finish in "
                          f"{HELM_TIMEOUT_S:.0f}s{why}") from None
    except OSError as err:
        raise FetchFailed(f"{comp['name']}: cannot run {helm}: {err.strerror or err}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise FetchFailed(f"{comp['name']}: helm template {h['chart']} {h['version']} from {h['repo']} failed: {last}{why}")
    return proc.stdout


@dataclass(frozen=True)
class _Component:
    text: str
    sources: tuple[dict[str, str], ...]


def _source(fetched: Fetched, pin: Pin) -> dict[str, str]:
    return {"file": pin.name, "url": pin.url, "sha256": fetched.sha256, "from": fetched.source, "origin": fetched.origin}


def _fetch_component(comp: dict[str, Any], fetcher: Fetcher, manifests_root: Path, env: str, sub: Path,
                     crds_only: bool) -> _Component:
    if comp.get("install") == "helm":
        h = comp["helm"]
        text = _helm_render(comp, manifests_root, env, sub)
        return _Component(text, ({"file": f"{h['chart']}-{h['version']}.tgz", "url": h["repo"], "sha256": str(h.get("sha256")),
                                  "from": "helm", "origin": h["repo"]},))
    parts, sources = [], []
    for pin in pins_of(comp, crds=crds_only):
        fetched = fetcher.fetch(comp["name"], pin)
        parts.append(fetched.data.decode())
        sources.append(_source(fetched, pin))
    return _Component("\n---\n".join(parts), tuple(sources))


def _select(components: list[dict[str, Any]], only: Iterable[str] | None) -> list[dict[str, Any]]:
    if not only:
        return components
    wanted = list(only)
    known = [c["name"] for c in components]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ConfigError(f"unknown component {', '.join(unknown)}; choose from {', '.join(known)}", field="only")
    return [c for c in components if c["name"] in wanted]


def download_bundle(directory: Path, manifests_root: Path, *, component_of: dict[str, str], profiles_of: dict[str, tuple[str, ...]],
                    env: str = "dev", record_checksums: bool = False, only: Iterable[str] | None = None,
                    crds_only: bool = False, fetcher: Fetcher | None = None,
                    progress: Callable[[str], None] | None = None) -> list[BundleEntry]:
    """Write the real bundle into `directory`; every selected component or none (FetchFailed names them all)."""
    versions = load_versions(manifests_root)
    fetcher = fetcher or make_fetcher(manifests_root, record=record_checksums)
    selected = [c for c in _select(versions["components"], only) if c["name"] in component_of]
    if crds_only:
        selected = [c for c in selected if c.get("install") != "helm"]  # the charts' CRDs cannot be fetched here
    directory.mkdir(parents=True, exist_ok=True)
    fetched: dict[str, _Component] = {}
    failures: list[str] = []
    for comp in selected:
        sub = directory / comp["name"]
        sub.mkdir(exist_ok=True)
        try:
            fetched[comp["name"]] = _fetch_component(comp, fetcher, manifests_root, env, sub, crds_only)
        except ChecksumMismatch:
            raise
        except TestbedError as err:  # FetchFailed, MissingTool, unverified pins: try the rest, then name them all
            failures.append(err.message)
            continue
        if progress:
            froms = sorted({s["from"] for s in fetched[comp["name"]].sources})
            progress(f"{comp['name']}: {len(fetched[comp['name']].sources)} file(s) from {', '.join(froms)}")
    if failures:
        ok = ", ".join(fetched) or "none"
        raise FetchFailed(f"no bundle written: {len(failures)} of {len(selected)} components could not be fetched "
                          f"(fetched: {ok}): {' | '.join(failures)}. `--only` bundles a subset; for a dry run on sim use "
                          "`testbed bundle --stand-in DIR`")
    entries, recorded = [], []
    for comp in selected:
        name = comp["name"]
        got = fetched[name]
        recorded.extend(f"{s['sha256']}  {s['url']}" for s in got.sources if s["from"] != "helm")
        docs = [d for d in yaml.load_all(got.text, Loader=_Loader) if isinstance(d, dict)]
        crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
        rest = [] if crds_only else [d for d in docs if d.get("kind") != "CustomResourceDefinition"]
        sub = directory / name
        crd_file = None
        if crds:
            (sub / "crds.yaml").write_text(yaml.dump_all(crds, Dumper=_Dumper, sort_keys=False))
            crd_file = f"{name}/crds.yaml"
        install = ""
        if not crds_only:
            (sub / "install.yaml").write_text(yaml.dump_all(rest, Dumper=_Dumper, sort_keys=False))
            install = f"{name}/install.yaml"
        images = sorted(_images(rest) | set(comp.get("images") or []))
        entries.append(BundleEntry(name, component_of[name], comp["namespace"], profiles_of.get(name, ("full",)),
                                   crd_file, install, tuple(images), got.sources, "upstream" if crds else None))
    write_manifest(directory, entries, stand_in=False, crds_only=crds_only)
    if recorded:
        (directory / "sha256sums.txt").write_text("\n".join(recorded) + "\n")
    if not crds_only:
        extra = sorted(set(versions.get("ci_images") or []))
        with (directory / "images.txt").open("a") as out:
            out.writelines(f"{i}\n" for i in extra)
    return entries
