"""The testbed's manifests for one profile and env, rendered by `kubectl kustomize`.

One function for everything that needs the rendered documents: `testbed render` (review),
the bring-up (applies them per component, split by the testbed.io/component label) and the
policy suite. Rendering uses the machine's kubectl (it bundles kustomize), the same renderer
`kubectl apply -k` and ArgoCD use, so what is reviewed is what is applied.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from testbed.errors import ConfigError, MissingTool, TestbedError
from testbed.manifests_gen.gitops import GitOpsSource, overlay_patches
from testbed.manifests_gen.spec import COMPONENT_LABEL, ENVS, HARBOR_HOST, HARBOR_PROJECT, LOCAL_REGISTRY, PROFILES
from testbed.shop.topology import ALL_SERVICES

RENDER_TIMEOUT_S = 120.0
# A Docker tag: what `--image-tag` accepts (a commit SHA in practice); never "latest".
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def default_root() -> Path:
    """manifests/ of the current checkout, else the one next to this package (editable install)."""
    here = Path.cwd() / "manifests"
    if (here / "overlays").is_dir():
        return here
    return Path(__file__).resolve().parents[1] / "manifests"


def overlay_dir(profile: str, env: str, root: Path | None = None) -> Path:
    """manifests/overlays/<profile>-<env>, after checking both names."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}", field="profile")
    if env not in ENVS:
        raise ConfigError(f"unknown env {env!r}; expected one of {', '.join(ENVS)}", field="env")
    overlay = (root or default_root()) / "overlays" / f"{profile}-{env}"
    if not (overlay / "kustomization.yaml").is_file():
        raise ConfigError(f"no kustomize overlay at {overlay}; run from the repository root or pass the manifests root",
                          field="profile")
    return overlay


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        raise MissingTool("kubectl is not installed or not on PATH; it is needed to render the manifests "
                          "(it bundles kustomize): install kubectl >= 1.27")
    return found


def _build(directory: Path, timeout_s: float) -> str:
    try:
        proc = subprocess.run([_kubectl(), "kustomize", str(directory)], capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise TestbedError(f"kubectl kustomize {directory} did not finish in {timeout_s:.0f}s") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise ConfigError(f"kustomize failed: {lines[-1] if lines else f'exit status {proc.returncode}'}",
                          source=str(directory))
    return proc.stdout


def render(profile: str, env: str, *, root: Path | None = None, image_tag: str | None = None,
           gitops_repo: str | None = None, gitops_revision: str | None = None,
           timeout_s: float = RENDER_TIMEOUT_S) -> str:
    """Multi-document YAML of the overlay.

    `image_tag` sets the tag of every shop image (a commit SHA). `gitops_repo`/`gitops_revision`
    (full profile) point the env's Argo CD Applications at the user's repository instead of the
    committed placeholder (testbed.manifests_gen.gitops); the revision defaults to the env's branch.
    """
    overlay = overlay_dir(profile, env, root)
    patches: list[dict[str, Any]] = []
    images: list[dict[str, str]] = []
    if image_tag is not None:
        if not _TAG.match(image_tag) or image_tag == "latest":
            raise ConfigError(f"image tag {image_tag!r} is not a pinned tag (use the commit SHA)", field="image-tag")
        images = [{"name": f"{registry}/shop-{service}", "newTag": image_tag} for service in ALL_SERVICES
                  for registry in (f"{HARBOR_HOST}/{HARBOR_PROJECT}", LOCAL_REGISTRY)]
    source = GitOpsSource.resolve(env, gitops_repo, gitops_revision)
    if source is not None and profile == "full":  # the minimal profile has no Argo CD
        patches = overlay_patches(env, source)
    if not images and not patches:
        return _build(overlay, timeout_s)
    with tempfile.TemporaryDirectory(prefix="testbed-render-") as tmp:
        # kustomize refuses absolute resource paths; a relative one from the temp dir works.
        wrapper: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                                   "resources": [os.path.relpath(overlay.resolve(), tmp)]}
        if images:
            wrapper["images"] = images
        if patches:
            wrapper["patches"] = patches
        Path(tmp, "kustomization.yaml").write_text(yaml.safe_dump(wrapper), encoding="utf-8")
        return _build(Path(tmp), timeout_s)


def documents(text: str) -> list[dict[str, Any]]:
    """The rendered objects (kustomize output is plain YAML: safe_load is enough)."""
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


def by_component(docs: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Documents grouped by their testbed.io/component label, in render order within a group."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        label = ((doc.get("metadata") or {}).get("labels") or {}).get(COMPONENT_LABEL)
        if not label:
            raise ConfigError(f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')} has no {COMPONENT_LABEL} label",
                              field=COMPONENT_LABEL)
        groups.setdefault(label, []).append(doc)
    return groups
