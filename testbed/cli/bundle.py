"""`testbed bundle DIR`: everything bring-up installs, for air-gapped clusters; or the stand-in bundle for sim dry runs."""

from __future__ import annotations

from pathlib import Path

import click

from testbed.errors import ConfigError, ExitCode
from testbed.manifests_gen.spec import ENVS


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--stand-in", is_flag=True,
              help="write the stand-in bundle: CRDs (open schemas) and controller workloads under upstream names, running "
                   "no code. A dry-run aid for `--target sim` with no network; NEVER for real clusters.")
@click.option("--real-crds", is_flag=True,
              help="with --stand-in: use the real upstream CRDs where the upstream cache holds them (no network; "
                   "bundle.yaml marks crdsFrom per component). Stricter, but a sim bring-up is about 5x slower.")
@click.option("--env", "env_name", type=click.Choice(ENVS), default="dev", show_default=True,
              help="environment whose values render per-env Helm charts (NATS)")
@click.option("--record-checksums", is_flag=True, help="trust on first use: record the sha256 of pins marked 'unverified'")
@click.option("--only", "only", default=None, metavar="COMPONENT[,..]",
              help="bundle only these upstream components (names as in manifests/upstream/versions.yaml)")
@click.option("--crds-only", is_flag=True,
              help="write only the real upstream CRDs (for `testbed policy --crd-dir DIR` and server dry runs); "
                   "Helm-chart components are left out. Not installable.")
@click.option("--manifests-root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="the kustomize tree (default: ./manifests)")
def bundle(directory: Path, stand_in: bool, real_crds: bool, env_name: str, record_checksums: bool, only: str | None, crds_only: bool,
           manifests_root: Path | None) -> int:
    """Download every pinned upstream manifest and chart into DIR and list every image in DIR/images.txt.

    Each file is taken from the cache, else its URL, else its Go module proxy mirror ($GOPROXY
    as Go reads it: first URL entry, `direct` skipped, `off` for none; default
    https://proxy.golang.org), and must match its pinned sha256: when no source gives the
    pinned bytes it exits 4 naming each source. Charts are pulled with `helm pull --version`
    and their archive checked the same way. Files are cached in ~/.cache/testbed/upstream
    ($TESTBED_CACHE moves it). DIR is replaced whole or left as it was; DIR/bundle.yaml records
    where each file came from. Exit 1 when a component cannot be fetched, 2 when every failure
    is a usage error (an unverified pin, no helm). `testbed up --bundle DIR` then installs with
    no network access.
    """
    from testbed.bringup.plan import load_components
    from testbed.render import default_root

    if real_crds and not stand_in:
        raise ConfigError("--real-crds goes with --stand-in (a real bundle always has the real CRDs)", field="real-crds")
    if stand_in:
        given = [flag for flag, on in (("--only", only is not None), ("--crds-only", crds_only),
                                       ("--record-checksums", record_checksums)) if on]
        if given:
            raise ConfigError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not go with --stand-in (the stand-in "
                              "bundle downloads nothing and always holds every upstream component)", field="stand-in")
        from testbed.bringup.standin import write_stand_in_bundle

        entries = write_stand_in_bundle(directory, real_crds=real_crds, manifests_root=manifests_root)
        real = [e.name for e in entries if e.crds_from and e.crds_from.startswith("upstream")]
        click.echo(f"stand-in bundle (dry-run aid for sim, never for real clusters): {len(entries)} upstream components "
                   f"in {directory}" + (f"; real upstream CRDs for {', '.join(real)}" if real_crds else ""))
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
    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    entries = download_bundle(directory, root, component_of=component_of, profiles_of=profiles_of, env=env_name,
                              record_checksums=record_checksums, only=names, crds_only=crds_only, progress=click.echo)
    if crds_only:
        click.echo(f"CRDs of {len(entries)} upstream components in {directory} (schemas only, not installable)")
    else:
        click.echo(f"bundle: {len(entries)} upstream components in {directory}; images in {directory / 'images.txt'}")
    return ExitCode.OK
