"""Options of `up`/`down`/`status` for the kube and sim targets, and the bring-up summary table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.table import Table

from testbed.manifests_gen.spec import ENVS, PROFILES

F = TypeVar("F", bound=Callable[..., Any])


def kube_options(func: F) -> F:
    """--profile/--env/--context/--kubeconfig/--bundle; they land in config `kube.*`."""
    func = click.option("--bundle", type=click.Path(path_type=Path, file_okay=False), default=None,
                        help="kube/sim: upstream bundle dir (`testbed bundle DIR`); sim defaults to a stand-in bundle")(func)
    return cluster_options(func)


def cluster_options(func: F) -> F:
    """--profile/--env/--context/--kubeconfig: which cluster and which testbed on it (for commands that install nothing)."""
    func = click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False), default=None,
                        help="kube: kubeconfig file (default $KUBECONFIG or ~/.kube/config)")(func)
    func = click.option("--context", default=None, help="kube: kubeconfig context (default: current)")(func)
    func = click.option("--env", "env_name", type=click.Choice(ENVS), default=None,
                        help="kube/sim: environment overlay (default dev)")(func)
    func = click.option("--profile", type=click.Choice(PROFILES), default=None,
                        help="kube/sim: minimal (shop, datastores, ingress) or full (everything); default minimal")(func)
    return func


def kube_flags(kw: dict[str, Any]) -> dict[str, Any]:
    """Pop the kube options out of a command's kwargs into config flags {"kube": {...}}."""
    values = {"profile": kw.pop("profile", None), "env": kw.pop("env_name", None), "context": kw.pop("context", None),
              "kubeconfig": kw.pop("kubeconfig", None), "bundle": kw.pop("bundle", None)}
    values = {k: v for k, v in values.items() if v is not None}
    return {"kube": values} if values else {}


def summary_table(record: Any) -> Table | None:
    """Per step of a bring-up record: component, result, changed, duration, simulated checks."""
    if record is None or not getattr(record, "steps", None):
        return None
    table = Table(title=f"bring-up ({record.elapsed_s:.1f}s, {record.changed} changed)", show_edge=False)
    for col in ("step", "result", "changed", "duration", "simulated"):
        table.add_column(col)
    for s in record.steps.values():
        style = "green" if s.result == "ok" else "red"
        table.add_row(s.step, f"[{style}]{s.result}[/]", str(s.changed), f"{s.duration_s:.1f}s", str(len(s.simulated) or ""))
    return table
