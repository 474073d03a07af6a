"""`testbed bundle DIR`: fetch every pinned upstream artifact of manifests/upstream/versions.yaml.

Release manifests are downloaded, checked against their sha256 (an "unverified" pin is
refused unless `record_checksums`, which records what was fetched: trust on first use),
split into CRDs and install documents, and written in the bundle layout. Helm charts are
fetched with the helm binary and rendered with the testbed's values (per env when the
values name {env}). Every container image goes into images.txt for mirroring.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from testbed.bringup.bundle import BundleEntry, write_manifest
from testbed.errors import ConfigError, MissingTool, TestbedError

DOWNLOAD_TIMEOUT_S = 30.0
UNVERIFIED = "unverified"


def load_versions(manifests_root: Path) -> dict[str, Any]:
    path = manifests_root / "upstream" / "versions.yaml"
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read: {err}", source=str(path)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("components"), list):
        raise ConfigError("no components list", source=str(path), field="components")
    return doc


def fetch(url: str, sha256: str, *, record: bool) -> tuple[bytes, str]:
    """Download `url`; verify its sha256 (or record it); one clear error when the network fails."""
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:  # noqa: S310 (pinned https URLs)
            data = resp.read()
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise TestbedError(f"cannot download {url}: {reason}. `testbed bundle` needs network access to the upstream "
                           "release sites; for a dry run on sim use `testbed bundle --stand-in DIR`") from None
    digest = hashlib.sha256(data).hexdigest()
    if sha256 == UNVERIFIED and not record:
        raise ConfigError(f"{url} has no pinned checksum (sha256: unverified); rerun with --record-checksums to trust "
                          f"what was fetched (sha256 {digest}) and commit it to manifests/upstream/versions.yaml")
    if sha256 not in (UNVERIFIED, digest):
        raise TestbedError(f"checksum mismatch for {url}: pinned {sha256}, fetched {digest}; refusing to bundle it")
    return data, digest


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
    if helm is None:
        raise MissingTool("helm is needed to bundle Helm charts; build it from its Go module (manifests/upstream/"
                          "versions.yaml tools: helm) into ~/.cache/testbed or put it on PATH")
    h = comp["helm"]
    values = [str(manifests_root.parent / v.replace("{env}", env)) for v in h.get("values") or []]
    cmd = [helm, "template", h["release"], h["chart"], "--repo", h["repo"], "--version", str(h["version"]),
           "--namespace", comp["namespace"].replace("{env}", env), "--include-crds"]
    for v in values:
        cmd += ["-f", v]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, cwd=workdir)
    if proc.returncode != 0:
        raise TestbedError(f"helm template {h['chart']} failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}. "
                           "For a dry run on sim use `testbed bundle --stand-in DIR`")
    return proc.stdout


def download_bundle(directory: Path, manifests_root: Path, *, component_of: dict[str, str], profiles_of: dict[str, tuple[str, ...]],
                    env: str = "dev", record_checksums: bool = False) -> list[BundleEntry]:
    """Write the real bundle into `directory`."""
    versions = load_versions(manifests_root)
    directory.mkdir(parents=True, exist_ok=True)
    entries, recorded = [], []
    for comp in versions["components"]:
        name = comp["name"]
        if name not in component_of:
            continue  # a tool, not an installed component
        sub = directory / name
        sub.mkdir(exist_ok=True)
        if comp.get("install") == "helm":
            text = _helm_render(comp, manifests_root, env, sub)
        else:
            parts = []
            for item in comp.get("manifests") or []:
                data, digest = fetch(item["url"], str(item.get("sha256", UNVERIFIED)), record=record_checksums)
                recorded.append(f"{digest}  {item['url']}")
                parts.append(data.decode())
            text = "\n---\n".join(parts)
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
        crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
        rest = [d for d in docs if d.get("kind") != "CustomResourceDefinition"]
        crd_file = None
        if crds:
            (sub / "crds.yaml").write_text(yaml.safe_dump_all(crds, sort_keys=False))
            crd_file = f"{name}/crds.yaml"
        (sub / "install.yaml").write_text(yaml.safe_dump_all(rest, sort_keys=False))
        images = sorted(_images(rest) | set(comp.get("images") or []))
        entries.append(BundleEntry(name, component_of[name], comp["namespace"], profiles_of.get(name, ("full",)),
                                   crd_file, f"{name}/install.yaml", tuple(images)))
    write_manifest(directory, entries, stand_in=False)
    if recorded:
        (directory / "sha256sums.txt").write_text("\n".join(recorded) + "\n")
    extra = sorted(set(versions.get("ci_images") or []))
    with (directory / "images.txt").open("a") as out:
        out.writelines(f"{i}\n" for i in extra)
    return entries
