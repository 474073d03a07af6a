"""Entry point of the `testbed` command.

Subcommands live in their own modules and are imported lazily, so `testbed --help`
stays fast and one command's heavy imports never slow another. Errors escaping a
command are mapped to exit codes here, and only here.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any

import click

from testbed.errors import ExitCode, TestbedError

EXIT_CODES_HELP = """\b
Exit codes:
  0    success
  1    failure: tests failed, policy findings, unhealthy components
  2    usage or configuration error, or a required tool is missing
  3    target not up or not reachable
  4    bring-up failed: a component did not become ready
  130  interrupted
"""


@dataclass(frozen=True)
class LazyCommand:
    """Where a subcommand lives, and the one-line help `testbed --help` shows without importing it."""

    target: str  # "module:attribute"
    short_help: str

    @property
    def module(self) -> str:
        return self.target.split(":")[0]


# command name -> where it lives; each module owns exactly one command or group.
COMMANDS: dict[str, LazyCommand] = {
    "up": LazyCommand("testbed.cli.lifecycle:up", "Start the testbed and wait until every component is healthy."),
    "down": LazyCommand("testbed.cli.lifecycle:down", "Stop everything gracefully and keep the state (--purge removes it)."),
    "status": LazyCommand("testbed.cli.lifecycle:status", "Show each component's health."),
    "conform": LazyCommand("testbed.cli.conform:conform", "Run the conformance suites and write a run bundle."),
    "sim": LazyCommand("testbed.cli.sim:sim", "A real control plane with kwok-simulated nodes, all on 127.0.0.1."),
    "policy": LazyCommand("testbed.cli.policy:policy", "Check manifests offline against the testbed's policies."),
    "render": LazyCommand("testbed.cli.render:render", "Render manifests/overlays/<profile>-<env> as multi-document YAML."),
    "bundle": LazyCommand("testbed.cli.bundle:bundle", "Download every pinned upstream manifest, chart and image list."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use; `--help` imports none of them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry.target.split(":")
        command: Any = getattr(importlib.import_module(module_name), attr)
        return command  # type: ignore[no-any-return]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name].short_help) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="testbed")
def cli() -> None:
    """Stand up the Kubernetes-native testbed and run its conformance suites."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; never lets a traceback reach the user."""
    try:
        result = cli.main(args=argv, prog_name="testbed", standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as usage:
        usage.show()
        return int(ExitCode.USAGE)
    except click.exceptions.Abort:
        click.echo("testbed: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("testbed: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except TestbedError as err:
        click.echo(f"testbed: {err.message}", err=True)
        return int(err.exit_code)
    # Commands return an ExitCode (or int) to end with something other than 0.
    return int(result) if isinstance(result, int) else int(ExitCode.OK)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
