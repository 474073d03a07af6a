"""Pointing Argo CD at the user's Git repository without editing the generated Applications.

The committed Applications (apps/<env>) name a placeholder repository
(spec.GITOPS_REPO_URL) that no Argo CD can reach. A user sets config `kube.gitops_repo` (and
optionally `kube.gitops_revision`, default the env's branch) and the render gets a kustomize
layer over the overlay that:

- sets repoURL/targetRevision of every Application of the env that the bring-up applies
  (the root app and, in the full render, the child Applications),
- lets the AppProject accept that repository,
- gives the root Application `spec.source.kustomize.patches` (Argo CD >= 2.9) that rewrite the
  same two fields of every child when Argo CD syncs apps/<env>, so what Argo CD creates from
  Git equals what the bring-up applied.

Nothing is written into manifests/: the generated files keep the placeholder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from testbed.errors import ConfigError
from testbed.manifests_gen import spec

Obj = dict[str, Any]

# https://host/path, http://..., ssh://[user@]host[:port]/path, git://..., or scp-like git@host:path.
_REPO = re.compile(r"^(?:(?:https?|ssh|git)://[^\s/@]+(?:@[^\s/]+)?(?::\d+)?/\S+|[\w.-]+@[\w.-]+:\S+)$")
# A branch, tag or commit as git check-ref-format would accept it (the common subset).
_REVISION = re.compile(r"^(?!-)(?!/)(?!.*\.\.)(?!.*//)(?!.*@\{)(?!.*\.lock$)(?!.*/$)(?!.*\.$)[A-Za-z0-9._/+-]{1,200}$")


def repo_problem(url: str) -> str | None:
    """Why `url` is not a Git repository URL Argo CD can clone, or None when it is one."""
    if not _REPO.match(url):
        return f"{url!r} is not a Git repository URL (https://host/path.git, ssh://host/path or git@host:path)"
    return None


def revision_problem(revision: str) -> str | None:
    """Why `revision` is not a branch, tag or commit name, or None when it is one."""
    if not _REVISION.match(revision):
        return f"{revision!r} is not a Git branch, tag or commit (letters, digits, . _ / + -; no '..')"
    return None


@dataclass(frozen=True)
class GitOpsSource:
    """Where the env's Applications read their manifests from."""

    repo: str
    revision: str

    @classmethod
    def resolve(cls, env: str, repo: str | None, revision: str | None) -> GitOpsSource | None:
        """The override for `env`, None when neither is set (the committed placeholder stays)."""
        if repo is None and revision is None:
            return None
        for value, problem, field in ((repo, repo_problem, "gitops-repo"), (revision, revision_problem, "gitops-revision")):
            if value is not None and (why := problem(value)) is not None:
                raise ConfigError(why, field=field)
        return cls(repo or spec.GITOPS_REPO_URL, revision or spec.ENV_SPECS[env].gitops_branch)


def _replace(ops: dict[str, Any]) -> str:
    return yaml.safe_dump([{"op": "replace", "path": path, "value": value} for path, value in ops.items()],
                          sort_keys=False, width=120)


def child_patch(source: GitOpsSource) -> Obj:
    """The kustomize patch the root Application gives Argo CD: every child Application follows `source`."""
    return {"target": {"group": "argoproj.io", "kind": "Application"},
            "patch": _replace({"/spec/source/repoURL": source.repo, "/spec/source/targetRevision": source.revision})}


def overlay_patches(env: str, source: GitOpsSource) -> list[Obj]:
    """Patches for a kustomization over the full overlay of `env` (see the module docstring)."""
    applications = {"group": "argoproj.io", "kind": "Application", "labelSelector": f"testbed.io/env={env}"}
    root = {"group": "argoproj.io", "kind": "Application", "name": f"{env}-root"}
    project = {"group": "argoproj.io", "kind": "AppProject", "name": f"testbed-{env}"}
    return [
        {"target": applications, "patch": _replace({"/spec/source/repoURL": source.repo,
                                                    "/spec/source/targetRevision": source.revision})},
        {"target": project, "patch": _replace({"/spec/sourceRepos": [source.repo]})},
        {"target": root, "patch": yaml.safe_dump([{"op": "add", "path": "/spec/source/kustomize",
                                                   "value": {"patches": [child_patch(source)]}}], sort_keys=False,
                                                 width=120)},
    ]


def placeholder_warning(env: str) -> str:
    """The one line the kube bring-up of the full profile prints when no repository is configured."""
    return (f"warning: Argo CD will not sync env {env}: its Applications point at the placeholder repository "
            f"{spec.GITOPS_REPO_URL}; set kube.gitops_repo (testbed.yaml, or TESTBED_KUBE__GITOPS_REPO) to the URL "
            "of your copy of this repository")
