"""A fetch that hangs (blackholed proxy) ends the upstream tests with the prerequisite message, not a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import upstream_bundle

pytestmark = pytest.mark.integration


def hang(cmd: list[str], **kw: Any) -> Any:
    raise subprocess.TimeoutExpired(cmd, kw["timeout"], stderr="fetching github.com/rook/rook@v1.16.0")


@pytest.mark.parametrize(("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_a_fetch_that_times_out_is_an_unmet_prerequisite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         ci: str, outcome: type[BaseException]) -> None:
    monkeypatch.setattr(subprocess, "run", hang)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="did not finish in 300s .*ci/fetch-upstream.sh.*rook"):
        upstream_bundle.fetch_real_crds(tmp_path / "b")
