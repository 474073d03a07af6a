"""`testbed up`, `testbed down` and `testbed status`."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from testbed.cli.kube_options import kube_flags, kube_options, summary_table
from testbed.cli.options import config_from, target_options
from testbed.errors import ExitCode, ProvisioningFailed
from testbed.targets import get_target
from testbed.targets.base import Endpoints, TargetStatus

err_console = Console(stderr=True)
console = Console()

_PHASE_STYLE = {"starting": "yellow", "restarting": "yellow", "waiting": "cyan", "seeding": "cyan", "ready": "green",
                "apply": "yellow", "failed": "red"}


def _progress_table(phases: dict[str, str]) -> Table:
    table = Table(title="bringing the testbed up", show_edge=False)
    table.add_column("component")
    table.add_column("state")
    for name, phase in phases.items():
        style = _PHASE_STYLE.get(phase.split(":")[0], "white")
        table.add_row(name, f"[{style}]{escape(phase)}[/]")
    return table


def _endpoints_table(eps: Endpoints) -> Table:
    table = Table(title="endpoints", show_edge=False)
    table.add_column("service")
    table.add_column("address")
    for name, address in eps.grpc.items():
        table.add_row(name, f"grpc://{address}")
    if eps.web_url:
        table.add_row("web", eps.web_url)
    return table


def _raise_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C so `up` cleans up what it started."""

    def handler(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@click.command()
@target_options
@kube_options
def up(target: str | None, config_path: Path | None, **kube: Any) -> int:
    """Start the testbed and wait until every component is healthy.

    Running it again on a healthy testbed does nothing; on a half-up one it repairs what
    is down. Ctrl-C stops what this call started.
    """
    config = config_from(config_path, target=target, **kube_flags(kube))
    tgt = get_target(config)
    phases: dict[str, str] = {}
    _raise_on_sigterm()
    with Live(_progress_table(phases), console=err_console, transient=True, refresh_per_second=8, redirect_stdout=False) as live:

        def progress(component: str, phase: str) -> None:
            phases[component] = phase
            live.update(_progress_table(phases))

        try:
            result = tgt.up(progress)
        except ProvisioningFailed as failed:  # main.py prints the one-line error; the diagnosis goes here
            if failed.diagnosis:
                live.stop()
                err_console.print(f"diagnosis of {failed.component}:\n{failed.diagnosis}", markup=False, highlight=False)
            raise
        finally:
            record = getattr(tgt, "last_record", None)
            table = summary_table(record)  # kube/sim: per-step summary
            if table is not None:
                live.stop()
                err_console.print(table)
            if getattr(record, "ca_cert", None):
                err_console.print(f"ingress TLS: clients trust the testbed CA {record.ca_cert}", markup=False, highlight=False)
    if not result.changed:
        console.print(f"testbed ({tgt.name}) is already up and healthy; nothing to do")
    else:
        console.print(f"testbed ({tgt.name}) is up: started {', '.join(result.started)}")
    console.print(_endpoints_table(result.endpoints))
    creds = config.state_dir / "demo-credentials.json"
    if tgt.name == "local" and creds.exists():
        demo = json.loads(creds.read_text())
        console.print(f"demo shopper: {demo['shopper_email']} (password in {creds})")
    return ExitCode.OK


@click.command()
@target_options
@click.option("--purge", is_flag=True, help="also remove the state directory (data, logs, generated secrets)")
@kube_options
def down(target: str | None, config_path: Path | None, purge: bool, **kube: Any) -> int:
    """Stop everything gracefully (SIGTERM, then SIGKILL after the grace period)."""
    config = config_from(config_path, target=target, **kube_flags(kube))
    tgt = get_target(config)
    stopped = tgt.down(purge=purge)
    if stopped:
        console.print(f"stopped {', '.join(stopped)}" + ("; state removed" if purge else ""))
    else:
        console.print("nothing was running" + ("; state removed" if purge else ""))
    return ExitCode.OK


def _status_table(status: TargetStatus) -> Table:
    table = Table(title=f"testbed ({status.target})", show_edge=False)
    for col in ("service", "pid", "address", "health", "uptime"):
        table.add_column(col)
    for s in status.services:
        uptime = f"{s.uptime_s:.0f}s" if s.uptime_s is not None else "-"
        health = f"[green]{s.detail}[/]" if s.healthy else f"[red]{s.detail}[/]"
        table.add_row(s.name, str(s.pid or "-"), s.address or "-", health, uptime)
    return table


@click.command()
@target_options
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@kube_options
def status(target: str | None, config_path: Path | None, as_json: bool, **kube: Any) -> int:
    """Show each component's health.

    Exit 0 when all are healthy, 1 when some are not, 3 when nothing is up.
    """
    config = config_from(config_path, target=target, **kube_flags(kube))
    st = get_target(config).status()
    if as_json:
        sys.stdout.write(json.dumps(st.to_dict(), indent=2) + "\n")
    elif not st.anything_up:
        console.print(f"testbed ({st.target}) is not up")
    else:
        console.print(_status_table(st))
    if not st.anything_up:
        return ExitCode.UNREACHABLE
    return ExitCode.OK if st.healthy else ExitCode.FAILED
