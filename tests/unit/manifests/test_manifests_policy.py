"""`testbed policy --profile P --env E` passes for every combination (waivers are justified in the objects)."""

from __future__ import annotations

import pytest
from manifests_helpers import COMBOS, MANIFESTS, need_kubectl

from testbed.cli.main import main

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("profile", "env"), COMBOS)
def test_policy_passes(profile: str, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    need_kubectl()
    code = main(["policy", "--profile", profile, "--env", env, "--manifests-root", str(MANIFESTS), "--no-color"])
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
