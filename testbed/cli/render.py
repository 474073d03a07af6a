"""`testbed render`: print the manifests of a profile and env, for review and for the policy suite."""

from __future__ import annotations

from pathlib import Path

import click

from testbed.errors import ConfigError, ExitCode
from testbed.manifests_gen.spec import ENVS, PROFILES


@click.command()
@click.option("--profile", default="minimal", show_default=True, help=f"One of: {', '.join(PROFILES)}.")
@click.option("--env", "env_name", default="dev", show_default=True, help=f"One of: {', '.join(ENVS)}.")
@click.option("--image-tag", help="Tag every shop image with this (the commit SHA the images were built from).")
@click.option("--gitops-repo", metavar="URL",
              help="full profile: point the env's Argo CD Applications at this Git repository (config kube.gitops_repo).")
@click.option("--gitops-revision", metavar="REV",
              help="full profile: the branch, tag or commit they track (default: the env's branch).")
@click.option("--manifests-root", type=click.Path(path_type=Path), help="The kustomize tree (default: ./manifests).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE instead of stdout.")
def render(profile: str, env_name: str, image_tag: str | None, gitops_repo: str | None, gitops_revision: str | None,
           manifests_root: Path | None, output: Path | None) -> ExitCode:
    """Render manifests/overlays/<profile>-<env> with `kubectl kustomize` as multi-document YAML."""
    from testbed.render import render as render_overlay

    text = render_overlay(profile, env_name, root=manifests_root, image_tag=image_tag, gitops_repo=gitops_repo,
                          gitops_revision=gitops_revision)
    if output is None:
        click.echo(text, nl=False)
        return ExitCode.OK
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot write: {err.strerror or err}", source=str(output)) from None
    return ExitCode.OK
