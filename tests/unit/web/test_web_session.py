"""The cookie-signing secret: from the environment or generated once into the state dir."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from testbed.errors import ConfigError
from testbed.shop.web.session import SECRET_ENV, SECRET_FILE, load_secret

pytestmark = pytest.mark.unit


def test_secret_is_generated_once_privately_and_reused(tmp_path: Path) -> None:
    first = load_secret(tmp_path, environ={})
    path = tmp_path / SECRET_FILE
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(tmp_path, environ={}) == first
    assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE]  # no temp file left behind


def test_environment_wins_and_is_not_written(tmp_path: Path) -> None:
    assert load_secret(tmp_path, environ={SECRET_ENV: "s" * 40}) == "s" * 40
    assert not (tmp_path / SECRET_FILE).exists()


def test_short_secrets_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=SECRET_ENV):
        load_secret(tmp_path, environ={SECRET_ENV: "short"})
    (tmp_path / SECRET_FILE).write_text("tiny\n")
    with pytest.raises(ConfigError, match="delete it to regenerate"):
        load_secret(tmp_path, environ={})
