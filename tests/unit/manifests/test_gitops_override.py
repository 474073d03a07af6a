"""Argo CD pointed at the user's repository: config, render layer, the root app's kustomize patches
(checked by running kustomize the way Argo CD does), the CLI flags and the bring-up warning."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from manifests_helpers import MANIFESTS, need_kubectl

from testbed.bringup.bundle import load_bundle
from testbed.bringup.plan import build_plan
from testbed.bringup.standin import write_stand_in_bundle
from testbed.cli.main import main
from testbed.config import load_config
from testbed.errors import ConfigError
from testbed.manifests_gen.gitops import GitOpsSource, placeholder_warning
from testbed.manifests_gen.spec import ENV_SPECS, ENVS, GITOPS_REPO_URL
from testbed.render import documents, render

pytestmark = pytest.mark.unit
REPO_URL = "https://github.com/example/testbed.git"


def _argo(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs if d["apiVersion"].startswith("argoproj.io/")}


@pytest.mark.parametrize("repo", [REPO_URL, "ssh://git@git.example.com:2222/ops/testbed.git", "git@github.com:me/tb.git",
                                  "http://gitea.local/ops/testbed"])
def test_repository_urls_argo_cd_can_clone_are_accepted(repo: str) -> None:
    config = load_config(Path(os.devnull), flags={"kube": {"gitops_repo": repo, "gitops_revision": "release/1.2"}}, environ={})
    assert (config.kube.gitops_repo, config.kube.gitops_revision) == (repo, "release/1.2")


@pytest.mark.parametrize(("field", "value"), [
    ("gitops_repo", "github.com/me/testbed"), ("gitops_repo", "https://host only"), ("gitops_repo", "file:///srv/git"),
    ("gitops_revision", "a..b"), ("gitops_revision", "-x"), ("gitops_revision", "dev branch"), ("gitops_revision", "x.lock"),
])
def test_bad_values_are_a_config_error_naming_the_field(field: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(Path(os.devnull), flags={"kube": {field: value}}, environ={})
    assert err.value.field == f"kube.{field}"
    env_var = f"TESTBED_KUBE__{field.upper()}"
    with pytest.raises(ConfigError, match=f"kube.{field}"):
        load_config(Path(os.devnull), environ={env_var: value})


def test_revision_defaults_to_the_envs_branch() -> None:
    assert GitOpsSource.resolve("stg", None, None) is None
    assert GitOpsSource.resolve("stg", REPO_URL, None) == GitOpsSource(REPO_URL, ENV_SPECS["stg"].gitops_branch)
    assert GitOpsSource.resolve("prd", None, "v1.0.0") == GitOpsSource(GITOPS_REPO_URL, "v1.0.0")


@pytest.mark.parametrize("env", ENVS)
def test_every_application_follows_the_override_and_the_root_patches_its_children(env: str) -> None:
    need_kubectl()
    plain = _argo(documents(render("full", env, root=MANIFESTS)))
    docs = _argo(documents(render("full", env, root=MANIFESTS, gitops_repo=REPO_URL)))
    assert docs.keys() == plain.keys()
    apps = {k: d for k, d in docs.items() if k.startswith("Application/")}
    assert len(apps) > 10
    for key, app in apps.items():
        assert app["spec"]["source"]["repoURL"] == REPO_URL and app["spec"]["source"]["targetRevision"] == env, key
        assert app["spec"]["source"]["path"] == plain[key]["spec"]["source"]["path"]  # nothing else moves
    assert docs[f"AppProject/testbed-{env}"]["spec"]["sourceRepos"] == [REPO_URL]
    root = docs[f"Application/{env}-root"]["spec"]["source"]
    assert [p["target"] for p in root["kustomize"]["patches"]] == [{"group": "argoproj.io", "kind": "Application"}]
    # without the override nothing changes: the committed placeholder, no kustomize patches
    assert all(d["spec"]["source"]["repoURL"] == GITOPS_REPO_URL and "kustomize" not in d["spec"]["source"]
               for k, d in plain.items() if k.startswith("Application/"))


@pytest.mark.parametrize("env", ENVS)
def test_what_argo_cd_builds_from_git_equals_what_the_bring_up_applies(env: str, tmp_path: Path) -> None:
    """Argo CD adds the root's spec.source.kustomize.patches to apps/<env>'s kustomization and runs kustomize."""
    need_kubectl()
    docs = documents(render("full", env, root=MANIFESTS, gitops_repo=REPO_URL, gitops_revision="main"))
    root = next(d for d in docs if d["kind"] == "Application" and d["metadata"]["name"] == f"{env}-root")
    tree = tmp_path / "manifests"
    subprocess.run(["cp", "-r", str(MANIFESTS / "apps"), str(tree)], check=True)
    path = tree / env / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text())
    kustomization["patches"] = root["spec"]["source"]["kustomize"]["patches"]
    path.write_text(yaml.safe_dump(kustomization))
    built = subprocess.run(["kubectl", "kustomize", str(tree / env)], capture_output=True, text=True, timeout=60, check=True)
    from_git = {d["metadata"]["name"]: d for d in documents(built.stdout)}
    applied = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Application" and d["metadata"]["name"] in from_git}
    assert from_git.keys() == applied.keys() and len(from_git) > 10
    for name, child in from_git.items():
        assert child["spec"] == applied[name]["spec"], name
        assert child["spec"]["source"]["repoURL"] == REPO_URL and child["spec"]["source"]["targetRevision"] == "main"


def test_render_cli_shows_the_override_and_refuses_bad_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need_kubectl()
    out = tmp_path / "r.yaml"
    assert main(["render", "--profile", "full", "--env", "prd", "--gitops-repo", REPO_URL, "--gitops-revision", "v2",
                 "--manifests-root", str(MANIFESTS), "-o", str(out)]) == 0
    apps = [d for d in documents(out.read_text()) if d["kind"] == "Application"]
    assert apps and all(a["spec"]["source"]["repoURL"] == REPO_URL and a["spec"]["source"]["targetRevision"] == "v2"
                        for a in apps)
    assert GITOPS_REPO_URL not in out.read_text()
    assert main(["render", "--profile", "full", "--gitops-repo", "nope", "--manifests-root", str(MANIFESTS)]) == 2
    err = capsys.readouterr().err
    assert "gitops-repo" in err and "not a Git repository URL" in err and len(err.strip().splitlines()) == 1
    # minimal has no Argo CD: the flag changes nothing
    assert main(["render", "--gitops-repo", REPO_URL, "--manifests-root", str(MANIFESTS), "-o", str(out)]) == 0
    assert out.read_text() == render("minimal", "dev", root=MANIFESTS)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gitops-bundle")
    write_stand_in_bundle(root / "bundle")
    return root / "bundle"


@pytest.mark.parametrize(("profile", "sim", "repo", "warned"), [
    ("full", False, None, True), ("full", False, REPO_URL, False), ("full", True, None, False), ("minimal", False, None, False),
])
def test_kube_full_bring_up_warns_while_argo_cd_points_at_the_placeholder(
        bundle: Path, tmp_path: Path, profile: str, sim: bool, repo: str | None, warned: bool) -> None:
    need_kubectl()
    plan = build_plan(bundle=load_bundle(bundle), manifests_root=MANIFESTS, profile=profile, env="dev", sim=sim,
                      kubeconfig="/k", context=None, workdir=tmp_path / "plan", gitops_repo=repo)
    assert plan.warnings == ([placeholder_warning("dev")] if warned else [])
    if warned:
        assert len(plan.warnings[0].splitlines()) == 1 and "kube.gitops_repo" in plan.warnings[0]
    if repo:
        applied = [d for f in (s.file for s in plan.steps if s.component == "argocd" and s.file)
                   for d in documents(Path(f).read_text()) if d["kind"] == "Application"]
        assert applied and all(d["spec"]["source"]["repoURL"] == repo for d in applied)
