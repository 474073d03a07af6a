"""`testbed bundle DIR`: fetch every pinned upstream artifact of manifests/upstream/versions.yaml.

Release manifests come through testbed.bringup.fetch (cache, URL, then the Go module proxy
mirror; checked against their sha256; an "unverified" pin is refused unless `record_checksums`,
which records what was fetched: trust on first use). Helm charts are pulled with the helm
binary (`helm pull --version`), their archive held to the same sha256 pin rules, and the local
archive rendered with the testbed's values (per env when the values name {env}). Everything is
split into CRDs and install documents and written in the bundle layout with where each file
came from; every container image goes into images.txt for mirroring. Components that cannot be
fetched are all named in one error, and then nothing is written: a bundle is whole or absent
(built beside DIR and renamed into place, testbed.bringup.bundle.staged). `crds_only` writes just
the CRDs (from the release files, or the repository's CRD files where the release file is not
obtainable): the real schemas for policy and dry runs.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from testbed.bringup import gomod
from testbed.bringup.bundle import BundleEntry, check_replaceable, staged, write_manifest
from testbed.bringup.fetch import UNVERIFIED, Fetched, Fetcher, Pin, check_sha256, module_hashes, upstream_cache
from testbed.errors import ChecksumMismatch, ConfigError, FetchFailed, MissingTool, TestbedError

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


def _helm(comp: dict[str, Any], args: list[str], what: str, workdir: Path) -> str:
    """Run helm with `args`; its stdout, or FetchFailed (one line) / MissingTool."""
    h = comp["helm"]
    why = f" (pin: {' '.join(str(h['unverified']).split())})" if h.get("unverified") else ""
    helm = shutil.which("helm")
    if helm is None:
        raise MissingTool(f"{comp['name']}: helm is needed to bundle Helm charts; build it from its Go module ({VERSIONS} "
                          f"tools: helm) into ~/.cache/testbed or put it on PATH{why}")
    try:
        proc = subprocess.run([helm, *args], capture_output=True, text=True, timeout=HELM_TIMEOUT_S, check=False, cwd=workdir)
    except subprocess.TimeoutExpired:
        raise FetchFailed(f"{comp['name']}: {what} did not finish in {HELM_TIMEOUT_S:.0f}s{why}") from None
    except OSError as err:
        raise FetchFailed(f"{comp['name']}: cannot run {helm}: {err.strerror or err}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise FetchFailed(f"{comp['name']}: {what} failed: {last}{why}")
    return proc.stdout


def _helm_chart(comp: dict[str, Any], fetcher: Fetcher, workdir: Path) -> tuple[Path, dict[str, str]]:
    """The chart archive, pulled (`helm pull --version`) or from the cache, held to its sha256 pin."""
    h = comp["helm"]
    name = comp["name"]
    archive = f"{h['chart']}-{h['version']}.tgz"
    pinned = check_sha256(h.get("sha256", UNVERIFIED), field=f"{name}.helm.sha256")
    pin = Pin(f"{h['repo'].rstrip('/')}/{archive}", pinned, None, h.get("unverified"))
    source = "cache"
    hit = fetcher.cached(pin)
    if hit is not None:
        data, digest, origin = hit.data, hit.sha256, hit.origin
    else:
        pulled = workdir / "pull"
        pulled.mkdir()
        _helm(comp, ["pull", h["chart"], "--repo", h["repo"], "--version", str(h["version"]), "--destination", str(pulled)],
              f"helm pull {h['chart']} {h['version']} from {h['repo']}", workdir)
        archives = sorted(pulled.glob("*.tgz"))
        if len(archives) != 1:
            raise FetchFailed(f"{name}: helm pull {h['chart']} {h['version']} left {len(archives)} chart archives, not one")
        data = archives[0].read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        origin = f"{gomod.redact(h['repo'])} (helm pull {h['chart']} --version {h['version']})"
        if pinned not in (UNVERIFIED, digest):
            raise ChecksumMismatch(name, f"checksum mismatch for {archive}: pinned {pinned}, but {origin} gave sha256 "
                                         f"{digest}; refusing to bundle it")
        if pinned == UNVERIFIED and not fetcher.record:
            raise ConfigError(f"{name}: chart {archive} has no pinned checksum ({name}.helm.sha256: unverified); rerun with "
                              f"--record-checksums to trust what was fetched (sha256 {digest}) and commit it to {VERSIONS}")
        fetcher.store(data, digest, origin)
        source = "helm"
    local = workdir / archive
    local.write_bytes(data)
    return local, {"file": archive, "url": h["repo"], "sha256": digest, "from": source, "origin": origin}


def _helm_render(comp: dict[str, Any], fetcher: Fetcher, manifests_root: Path, env: str, workdir: Path) -> tuple[str, dict[str, str]]:
    """`helm template` of the checked local chart archive with the testbed's values."""
    h = comp["helm"]
    chart, source = _helm_chart(comp, fetcher, workdir)
    args = ["template", h["release"], str(chart), "--namespace", comp["namespace"].replace("{env}", env), "--include-crds"]
    for v in h.get("values") or []:
        args += ["-f", str(manifests_root.parent / v.replace("{env}", env))]
    return _helm(comp, args, f"helm template {h['chart']} {h['version']} from {h['repo']}", workdir), source


@dataclass(frozen=True)
class _Component:
    docs: tuple[dict[str, Any], ...]
    sources: tuple[dict[str, str], ...]


def _source(fetched: Fetched, pin: Pin) -> dict[str, str]:
    return {"file": pin.name, "url": pin.url, "sha256": fetched.sha256, "from": fetched.source, "origin": fetched.origin}


def _documents(name: str, file: str, data: bytes | str) -> list[dict[str, Any]]:
    """The YAML documents of one fetched file; FetchFailed (one line) when it is not UTF-8 YAML."""
    try:
        text = data.decode() if isinstance(data, bytes) else data
        return [d for d in yaml.load_all(text, Loader=_Loader) if isinstance(d, dict)]
    except UnicodeDecodeError as err:
        raise FetchFailed(f"{name}: {file} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    except yaml.YAMLError as err:
        where = f" at line {err.problem_mark.line + 1}" if getattr(err, "problem_mark", None) else ""
        raise FetchFailed(f"{name}: {file} is not valid YAML{where}: {getattr(err, 'problem', None) or err}") from None


def _fetch_component(comp: dict[str, Any], fetcher: Fetcher, manifests_root: Path, env: str, workdir: Path,
                     crds_only: bool) -> _Component:
    if comp.get("install") == "helm":
        text, source = _helm_render(comp, fetcher, manifests_root, env, workdir)
        return _Component(tuple(_documents(comp["name"], f"the rendered chart {source['file']}", text)), (source,))
    docs, sources = [], []
    for pin in pins_of(comp, crds=crds_only):
        fetched = fetcher.fetch(comp["name"], pin)
        docs.extend(_documents(comp["name"], pin.name, fetched.data))
        sources.append(_source(fetched, pin))
    return _Component(tuple(docs), tuple(sources))


def _select(components: list[dict[str, Any]], only: Iterable[str] | None, crds_only: bool) -> list[dict[str, Any]]:
    wanted = list(only or [])
    known = [c["name"] for c in components]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ConfigError(f"unknown component {', '.join(unknown)}; choose from {', '.join(known)}", field="only")
    chosen = [c for c in components if c["name"] in wanted] if wanted else components
    if crds_only:
        charts = [c["name"] for c in chosen if c.get("install") == "helm"]
        if wanted and charts:
            raise ConfigError(f"{', '.join(charts)}: no CRDs pinned ({'a Helm chart' if len(charts) == 1 else 'Helm charts'}, "
                              f"whose CRDs --crds-only cannot fetch); leave {'it' if len(charts) == 1 else 'them'} out of --only",
                              field="only")
        chosen = [c for c in chosen if c.get("install") != "helm"]
    return chosen


def _sums_line(source: dict[str, str]) -> str:
    """`<sha256>  <url>` for sha256sums.txt; a chart archive is `<repo>#<chart>-<version>.tgz`."""
    url = source["url"]
    return f"{source['sha256']}  {url if url.rsplit('/', 1)[-1] == source['file'] else url + '#' + source['file']}"


def _failed(failures: list[TestbedError], fetched: Iterable[str], selected: int) -> TestbedError:
    """One error naming every failed component: a usage error (exit 2) when each is one (unverified pin, no helm)."""
    message = (f"no bundle written: {len(failures)} of {selected} components could not be fetched "
               f"(fetched: {', '.join(fetched) or 'none'}): {' | '.join(e.message for e in failures)}. `--only` bundles a "
               "subset; for a dry run on sim use `testbed bundle --stand-in DIR`")
    if all(isinstance(e, ConfigError) for e in failures):
        return ConfigError(message)
    return FetchFailed(message)


def download_bundle(directory: Path, manifests_root: Path, *, component_of: dict[str, str], profiles_of: dict[str, tuple[str, ...]],
                    env: str = "dev", record_checksums: bool = False, only: Iterable[str] | None = None,
                    crds_only: bool = False, fetcher: Fetcher | None = None,
                    progress: Callable[[str], None] | None = None) -> list[BundleEntry]:
    """Write the real bundle into `directory`, replacing it whole; every selected component or none (one error names them all)."""
    versions = load_versions(manifests_root)
    fetcher = fetcher or make_fetcher(manifests_root, record=record_checksums)
    selected = [c for c in _select(versions["components"], only, crds_only) if c["name"] in component_of]
    if not selected:
        raise ConfigError("nothing to bundle: no selected upstream component is installed by a testbed component", field="only")
    check_replaceable(directory)
    fetched: dict[str, _Component] = {}
    failures: list[TestbedError] = []
    with tempfile.TemporaryDirectory(prefix="testbed-bundle-") as work:
        for comp in selected:
            workdir = Path(work) / comp["name"]
            workdir.mkdir()
            try:
                fetched[comp["name"]] = _fetch_component(comp, fetcher, manifests_root, env, workdir, crds_only)
            except ChecksumMismatch:
                raise
            except TestbedError as err:  # FetchFailed, MissingTool, unverified pins: try the rest, then name them all
                failures.append(err)
                continue
            if progress:
                froms = sorted({s["from"] for s in fetched[comp["name"]].sources})
                progress(f"{comp['name']}: {len(fetched[comp['name']].sources)} file(s) from {', '.join(froms)}")
    if failures:
        raise _failed(failures, fetched, len(selected))
    entries, recorded = [], []
    with staged(directory) as build:
        for comp in selected:
            name = comp["name"]
            got = fetched[name]
            recorded.extend(_sums_line(s) for s in got.sources)
            crds = [d for d in got.docs if d.get("kind") == "CustomResourceDefinition"]
            rest = [] if crds_only else [d for d in got.docs if d.get("kind") != "CustomResourceDefinition"]
            sub = build / name
            sub.mkdir()
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
        write_manifest(build, entries, stand_in=False, crds_only=crds_only,
                       extra_images=() if crds_only else versions.get("ci_images") or [])
        (build / "sha256sums.txt").write_text("\n".join(recorded) + "\n")
    return entries
