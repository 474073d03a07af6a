"""Options shared by several commands, and loading the config they describe."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from testbed.config import Config, load_config

F = TypeVar("F", bound=Callable[..., Any])


def target_options(func: F) -> F:
    func = click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
                        help="config file (default: ./testbed.yaml if present, or $TESTBED_CONFIG)")(func)
    func = click.option("--target", type=click.Choice(["local", "kube", "sim"]), default=None,
                        help="where the testbed runs (default from config: local)")(func)
    return func


def config_from(config_path: Path | None, **flags: Any) -> Config:
    return load_config(config_path, flags={k: v for k, v in flags.items() if v is not None})
