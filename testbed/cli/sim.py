"""`testbed sim`: build, bring up, inspect and tear down a kwok-simulated cluster.

A thin edge over testbed.sim: parse flags, call the package, print. Errors propagate as
testbed exceptions so the root command maps them to exit codes; `status` returns its
verdict's exit code (0 healthy, 1 unhealthy, 3 nothing up).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from testbed.errors import ExitCode, TargetUnreachable
from testbed.sim.binaries import BIN_DIR_ENV
from testbed.sim.status import SimState, SimStatus

NAME_OPTION = click.option("--name", default="sim", show_default=True, help="Cluster name.")
BIN_DIR_OPTION = click.option(
    "--bin-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=BIN_DIR_ENV,
    help=f"Directory with the binaries (env {BIN_DIR_ENV}); default: the build cache, then PATH.",
)


@click.group()
def sim() -> None:
    """A real control plane with kwok-simulated nodes, all on 127.0.0.1."""


@sim.command()
def build() -> None:
    """Build etcd, the Kubernetes control plane, kubectl, kwok and kwokctl into the cache."""
    from testbed.sim.build import build_binaries

    record = build_binaries()
    if record.built:
        click.echo(
            f"built {', '.join(record.built)} in {record.wall_s:.0f}s (peak RSS {record.peak_rss_mib:.0f} MiB)", err=True
        )
    else:
        click.echo("all sim binaries already built", err=True)
    click.echo(str(record.bin_dir))


@sim.command()
@NAME_OPTION
@click.option("--nodes", default=3, show_default=True, type=int, help="Number of simulated nodes.")
@click.option("--port", default=0, show_default=True, type=int, help="kube-apiserver port on 127.0.0.1 (0: any free).")
@click.option("--timeout", "timeout_s", default=120.0, show_default=True, type=float, help="Seconds to wait for Ready.")
@BIN_DIR_OPTION
def up(name: str, nodes: int, port: int, timeout_s: float, bin_dir: Path | None) -> None:
    """Create the cluster and its nodes and wait until all are Ready (a no-op if already up)."""
    from testbed.sim.cluster import SimCluster
    from testbed.sim.config import SimClusterSpec

    spec = SimClusterSpec(name=name, nodes=nodes, apiserver_port=port).validate()
    result = SimCluster(name, bin_dir=bin_dir).up(spec, timeout_s=timeout_s)
    verb = "is up" if result.created else "was already up"
    click.echo(
        f"sim cluster {name!r} {verb}: {len(result.nodes)} nodes Ready, API {result.apiserver} ({result.elapsed_s:.1f}s)"
    )
    click.echo(f"kubeconfig: {result.kubeconfig}")
    click.echo(f'  kubectl --kubeconfig "$(testbed sim kubeconfig --name {name})" get nodes')
    click.echo(f"  export KUBECONFIG={result.kubeconfig}")


@sim.command()
@NAME_OPTION
@BIN_DIR_OPTION
def down(name: str, bin_dir: Path | None) -> None:
    """Delete the cluster; no process or port of it is left behind."""
    from testbed.sim.cluster import SimCluster

    result = SimCluster(name, bin_dir=bin_dir).down()
    if not result.existed:
        click.echo(f"no sim cluster named {name!r}; nothing to do")
        return
    click.echo(f"sim cluster {name!r} deleted ({result.elapsed_s:.1f}s); stopped: {', '.join(result.stopped) or 'none'}")


@sim.command()
@NAME_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(name: str, as_json: bool) -> ExitCode:
    """Components and nodes; exit 0 healthy, 1 unhealthy, 3 nothing up."""
    from testbed.sim.cluster import SimCluster

    report = SimCluster(name).status()
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        click.echo(_format_status(report))
    return report.exit_code


@sim.command()
@NAME_OPTION
def kubeconfig(name: str) -> None:
    """Print the path of the cluster's kubeconfig."""
    from testbed.sim.cluster import SimCluster

    cluster = SimCluster(name)
    if not cluster.kubeconfig.is_file():
        raise TargetUnreachable(f"no sim cluster named {name!r}; create it with `testbed sim up --name {name}`")
    click.echo(str(cluster.kubeconfig))


def _format_status(report: SimStatus) -> str:
    lines = [f"sim cluster {report.name!r}: {report.state.value}"]
    if report.state is SimState.ABSENT:
        return lines[0]
    if report.apiserver:
        lines.append(f"  API {report.apiserver} ({'ready' if report.api_ready else 'not ready'})")
    for comp in report.components:
        mark = "ok " if comp.running and comp.listening else "BAD"
        ports = ",".join(str(p) for p in comp.ports)
        lines.append(f"  [{mark}] {comp.name:<24} pid {comp.pid or '-':<8} ports {ports}")
    for node in report.nodes:
        lines.append(f"  [{'ok ' if node.ready else 'BAD'}] node {node.name:<19} zone {node.zone or '-'}")
    lines += [f"  problem: {problem}" for problem in report.problems]
    return "\n".join(lines)
