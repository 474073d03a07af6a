"""`testbed --help` lists every command without importing any of them; every COMMANDS entry resolves."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import click
import pytest

from testbed.cli.main import COMMANDS, main

pytestmark = pytest.mark.unit

PROBE = """
import contextlib, io, json, sys
from testbed.cli.main import COMMANDS, main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["--help"])
command_modules = {entry.module for entry in COMMANDS.values()}
heavy = sorted(m for m in sys.modules
               if m in command_modules or m.startswith(("kubernetes", "testbed.bringup", "testbed.kube")))
print(json.dumps({"code": code, "help": out.getvalue(), "heavy": heavy}))
"""


def test_help_imports_no_command_module() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(proc.stdout)
    assert result["code"] == 0
    assert result["heavy"] == []
    for name, entry in COMMANDS.items():
        assert f"{name}  " in result["help"] and entry.short_help in result["help"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_entry_resolves_to_a_click_command(name: str) -> None:
    module_name, attr = COMMANDS[name].target.split(":")
    command = getattr(importlib.import_module(module_name), attr)
    assert isinstance(command, click.Command)
    assert COMMANDS[name].short_help.strip()


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_python_dash_m_testbed_is_the_same_cli() -> None:
    """`python -m testbed` runs the same command group, exit codes included (2 for an unknown command)."""
    ok = subprocess.run([sys.executable, "-m", "testbed", "--help"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "conform" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "testbed", "no-such-command"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "No such command" in bad.stderr
