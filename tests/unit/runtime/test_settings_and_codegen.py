from __future__ import annotations

import subprocess
import sys

import pytest

from testbed.errors import ConfigError
from testbed.shop.runtime.settings import load_settings, parse_deps

pytestmark = pytest.mark.unit


def test_flags_override_environment_which_overrides_defaults() -> None:
    env = {"SHOP_PORT": "7000", "SHOP_DEPS": "user=127.0.0.1:1,product=127.0.0.1:2", "SHOP_TOKEN_TTL_S": "60"}
    s = load_settings("cart", {"port": 7001}, env)
    assert s.port == 7001 and s.token_ttl_s == 60
    assert s.dep("product") == "127.0.0.1:2"
    assert load_settings("cart", {}, env).port == 7000
    assert load_settings("cart", {}, {}).host == "127.0.0.1"


@pytest.mark.parametrize("overrides,field", [
    ({"port": 70000}, "port"),
    ({"deps": {"user": "nohost"}}, "deps"),
    ({"token_ttl_s": 0}, "token_ttl_s"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_settings_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings("cart", overrides, {})
    assert field in str(err.value)


def test_missing_dependency_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--dep order="):
        load_settings("cart", {}, {}).dep("order")
    with pytest.raises(ConfigError):
        parse_deps("user")


def test_unknown_service_is_refused_by_the_launcher_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "testbed.shop", "nosuch"], capture_output=True, text=True)
    assert out.returncode == 2 and "invalid choice" in out.stderr and "Traceback" not in out.stderr


def test_bad_setting_from_environment_exits_2_with_one_line() -> None:
    out = subprocess.run([sys.executable, "-m", "testbed.shop", "user"], capture_output=True, text=True, env={"SHOP_PORT": "x", "PATH": ""})
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "port" in out.stderr and "Traceback" not in out.stderr


def test_generated_code_matches_the_protos() -> None:
    out = subprocess.run([sys.executable, "-m", "testbed.shop.codegen", "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
