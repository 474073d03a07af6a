"""`testbed bundle DIR`: everything bring-up installs, for air-gapped clusters; or the stand-in bundle for sim dry runs."""

from __future__ import annotations

from pathlib import Path

import click

from testbed.errors import ExitCode


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--stand-in", is_flag=True,
              help="write the stand-in bundle: CRDs (open schemas) and controller workloads under upstream names, running "
                   "no code. A dry-run aid for `--target sim` with no network; NEVER for real clusters.")
@click.option("--env", "env_name", type=click.Choice(["dev", "stg", "prd"]), default="dev", show_default=True,
              help="environment whose values render per-env Helm charts (NATS)")
@click.option("--record-checksums", is_flag=True, help="trust on first use: record the sha256 of pins marked 'unverified'")
@click.option("--manifests-root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="the kustomize tree (default: ./manifests)")
def bundle(directory: Path, stand_in: bool, env_name: str, record_checksums: bool, manifests_root: Path | None) -> int:
    """Download every pinned upstream manifest and chart into DIR and list every image in DIR/images.txt.

    `testbed up --bundle DIR` then installs with no network access.
    """
    from testbed.bringup.plan import load_components
    from testbed.render import default_root

    if stand_in:
        from testbed.bringup.standin import write_stand_in_bundle

        entries = write_stand_in_bundle(directory)
        click.echo(f"stand-in bundle (dry-run aid for sim, never for real clusters): {len(entries)} upstream components "
                   f"in {directory}")
        return ExitCode.OK
    from testbed.bringup.download import download_bundle

    root = manifests_root or default_root()
    component_of: dict[str, str] = {}
    profiles_of: dict[str, tuple[str, ...]] = {}
    for comp in load_components(root):
        ups = comp.get("upstream") or []
        for name in [ups] if isinstance(ups, str) else ups:
            component_of[name] = comp["name"]
            profiles_of[name] = tuple(comp.get("profiles") or ())
    entries = download_bundle(directory, root, component_of=component_of, profiles_of=profiles_of, env=env_name,
                              record_checksums=record_checksums)
    click.echo(f"bundle: {len(entries)} upstream components in {directory}; images in {directory / 'images.txt'}")
    return ExitCode.OK
