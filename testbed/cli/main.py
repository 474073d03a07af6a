"""Entry point of the `testbed` command.

Subcommands live in their own modules and are imported lazily, so `testbed --help`
stays fast and one command's heavy imports never slow another. Errors escaping a
command are mapped to exit codes here, and only here.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from testbed.errors import ExitCode, TestbedError

EXIT_CODES_HELP = """\b
Exit codes:
  0    success
  1    failure: tests failed, policy findings, unhealthy components
  2    usage or configuration error
  3    target not up or not reachable
  4    bring-up failed: a component did not become ready
  130  interrupted
"""

# command name -> "module:attribute"; each module owns exactly one command or group.
COMMANDS: dict[str, str] = {
    "up": "testbed.cli.lifecycle:up",
    "down": "testbed.cli.lifecycle:down",
    "status": "testbed.cli.lifecycle:status",
    "conform": "testbed.cli.conform:conform",
    "sim": "testbed.cli.sim:sim",
    "policy": "testbed.cli.policy:policy",
    "render": "testbed.cli.render:render",
    "bundle": "testbed.cli.bundle:bundle",
    "shop": "testbed.cli.shop:shop",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if _importable(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _importable(cmd_name):
            return None
        module_name, attr = target.split(":")
        command: Any = getattr(importlib.import_module(module_name), attr)
        return command  # type: ignore[no-any-return]


def _importable(name: str) -> bool:
    module_name = COMMANDS[name].split(":")[0]
    return importlib.util.find_spec(module_name) is not None


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
