"""From command-line paths to YAML text: files, directories, and kustomize directories rendered
with the machine's `kubectl kustomize` (the same renderer `kubectl apply -k` uses).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from testbed.errors import ConfigError, MissingTool
from testbed.policy.model import Finding, file_finding
from testbed.policy.rules.inputs import RENDER

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
YAML_SUFFIXES = (".yaml", ".yml", ".json")
RENDER_TIMEOUT_S = 120.0
MAX_RENDER_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    """One unit of input: a YAML file, or a kustomize directory to render."""

    path: Path
    kustomize: bool

    @property
    def label(self) -> str:
        return f"{self.path}" if not self.kustomize else f"{self.path} (kustomize)"


def is_kustomization(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in KUSTOMIZATION_FILES)


def yaml_files(path: Path) -> Iterator[Path]:
    """YAML/JSON files under `path` in a stable order (a file yields itself)."""
    if path.is_file():
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(YAML_SUFFIXES):
                yield Path(root) / name


def collect_sources(paths: list[Path]) -> list[Source]:
    """Sources for PATH arguments; a directory with a kustomization is rendered, not walked."""
    sources: list[Source] = []
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path}: no such file or directory", field="PATH")
        if is_kustomization(path):
            sources.append(Source(path, kustomize=True))
        elif path.is_file():
            sources.append(Source(path, kustomize=False))
        else:
            sources.extend(_walk(path))
    return sources


def _walk(directory: Path) -> Iterator[Source]:
    for root, dirs, files in os.walk(directory):
        here = Path(root)
        if here != directory and is_kustomization(here):
            yield Source(here, kustomize=True)
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(YAML_SUFFIXES) and name not in KUSTOMIZATION_FILES:
                yield Source(here / name, kustomize=False)


def overlay_dir(manifests_root: Path, profile: str, env: str) -> Path:
    """manifests/overlays/<profile>-<env>; one clear error when it is not there."""
    overlay = manifests_root / "overlays" / f"{profile}-{env}"
    if not is_kustomization(overlay):
        known = sorted(p.name for p in (manifests_root / "overlays").glob("*") if is_kustomization(p)) \
            if (manifests_root / "overlays").is_dir() else []
        hint = f"; available: {', '.join(known)}" if known else "; the testbed's manifests are not in this checkout"
        raise ConfigError(f"no kustomize overlay at {overlay} for --profile {profile} --env {env}{hint}",
                          field="profile")
    return overlay


def kustomize_build(directory: Path, *, timeout_s: float = RENDER_TIMEOUT_S) -> tuple[str | None, Finding | None]:
    """Rendered YAML of a kustomize directory, or a TB-RENDER finding with kustomize's message."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise MissingTool("kubectl is needed to render kustomize directories; install kubectl (it bundles kustomize)")
    source = f"{directory} (kustomize)"
    try:
        proc = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return None, file_finding(source, RENDER.id, RENDER.severity, f"kubectl kustomize did not finish in {timeout_s:.0f}s",
                                  fix=RENDER.fix)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        shown = message[-1] if message else f"exit status {proc.returncode}"
        return None, file_finding(source, RENDER.id, RENDER.severity, f"kustomize failed: {shown[:500]}", fix=RENDER.fix)
    if len(proc.stdout) > MAX_RENDER_BYTES:
        return None, file_finding(source, RENDER.id, RENDER.severity, "render is larger than 64 MiB", fix=RENDER.fix)
    return proc.stdout.decode("utf-8", "replace"), None
