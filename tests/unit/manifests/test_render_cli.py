"""`testbed render`: in-process and as a real subprocess; one-line errors with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from manifests_helpers import MANIFESTS, need_kubectl

from testbed.cli.main import main

pytestmark = pytest.mark.unit


def test_renders_to_a_file_with_the_image_tag(tmp_path: Path) -> None:
    need_kubectl()
    out = tmp_path / "r.yaml"
    code = main(["render", "--profile", "full", "--env", "stg", "--image-tag", "c0ffee1",
                 "--manifests-root", str(MANIFESTS), "-o", str(out)])
    assert code == 0
    text = out.read_text()
    assert "harbor.testbed.internal/testbed/shop-user:c0ffee1" in text and "testbed-stg-shop" in text


@pytest.mark.parametrize(("args", "message"), [
    (["--profile", "huge"], "unknown profile 'huge'"),
    (["--env", "qa"], "unknown env 'qa'"),
    (["--image-tag", "latest"], "not a pinned tag"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["render", "--manifests-root", str(MANIFESTS), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_kubectl_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["render", "--manifests-root", str(MANIFESTS)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "kubectl is not installed" in err


def test_subprocess_prints_yaml_to_stdout() -> None:
    need_kubectl()
    proc = subprocess.run([sys.executable, "-m", "testbed.cli.main", "render", "--manifests-root", str(MANIFESTS)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("apiVersion:") and "kind: Deployment" in proc.stdout
