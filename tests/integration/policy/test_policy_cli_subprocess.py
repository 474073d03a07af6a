"""`testbed policy` as a real subprocess: kustomize renders, bad input, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed.testing.prereqs import unavailable

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO / "tests" / "corpora" / "policy"


def run_policy(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "testbed.cli.main", "policy", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env, check=False)


@pytest.fixture(autouse=True)
def _kubectl() -> None:
    from shutil import which

    if which("kubectl") is None:
        unavailable("kubectl (with kustomize) is required and not on PATH")


def test_clean_kustomize_render_exits_0() -> None:
    proc = run_policy(str(CORPUS / "kustomize" / "base"), "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["documents"] == 6 and data["findings"] == []


def test_overlay_findings_exit_1_and_name_the_render() -> None:
    proc = run_policy(str(CORPUS / "kustomize" / "overlay"), "--format", "json")
    assert proc.returncode == 1
    (finding,) = json.loads(proc.stdout)["findings"]
    assert finding["rule"] == "TB-IMAGE-TAG" and finding["file"].endswith("overlay (kustomize)")
    assert finding["path"] == "spec.template.spec.containers[0].image"


def test_directory_walk_renders_nested_kustomizations() -> None:
    proc = run_policy(str(CORPUS / "kustomize"), "--format", "json")
    data = json.loads(proc.stdout)
    assert sorted(Path(s.removesuffix(" (kustomize)")).name for s in data["sources"]) == ["base", "broken", "overlay"]
    assert any(f["rule"] == "TB-RENDER" and "broken" in f["file"] for f in data["findings"])


def test_kustomize_error_is_a_finding() -> None:
    proc = run_policy(str(CORPUS / "kustomize" / "broken"))
    assert proc.returncode == 1
    assert "TB-RENDER" in proc.stdout and "does-not-exist.yaml" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "sarif"])
def test_bad_input_in_every_format(fmt: str) -> None:
    proc = run_policy(str(CORPUS / "bad-input"), "--format", fmt)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout
    assert "parse_engine" not in proc.stderr  # the rapidyaml fast path stays silent on bad input


def test_huge_binary_and_bomb_files_are_bounded(tmp_path: Path) -> None:
    with open(tmp_path / "huge.yaml", "wb") as fh:
        fh.write(b"a: b\n" * (50 * 1024 * 1024 // 5))  # a real 50 MB file
    (tmp_path / "junk.yaml").write_bytes(os.urandom(4096))
    (tmp_path / "bomb.yaml").write_text((CORPUS / "bad-input" / "bomb.yaml").read_text())
    started = time.monotonic()
    proc = run_policy(str(tmp_path), "--format", "json", timeout=30)
    assert time.monotonic() - started < 15
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    by_file = {Path(f["file"]).name: f["message"] for f in json.loads(proc.stdout)["findings"]}
    assert "MiB limit" in by_file["huge.yaml"]
    assert "binary" in by_file["junk.yaml"] or "UTF-8" in by_file["junk.yaml"]
    assert "YAML bomb" in by_file["bomb.yaml"]


def test_usage_error_exit_2_without_traceback() -> None:
    proc = run_policy("--profile", "minimal", "--env", "dev", "--manifests-root", "/nonexistent")
    assert proc.returncode == 2
    assert proc.stderr.startswith("testbed: ") and "Traceback" not in proc.stderr


def test_v0_policy_is_a_usage_error() -> None:
    proc = run_policy(str(CORPUS / "rego" / "inputs"), "-p", str(CORPUS / "rego" / "policy-v0"), "--rego-engine", "regopy")
    assert proc.returncode == 2 and "opa fmt --v0-v1" in proc.stderr


def test_profile_env_renders_the_overlay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from testbed.cli.main import main

    overlay = tmp_path / "manifests" / "overlays" / "minimal-dev"
    overlay.mkdir(parents=True)
    for name in ("app.yaml", "network.yaml"):
        (overlay / name).write_text((CORPUS / "good" / name).read_text())
    (overlay / "kustomization.yaml").write_text("resources:\n- app.yaml\n- network.yaml\n")
    code = main(["policy", "--profile", "minimal", "--env", "dev", "--manifests-root", str(tmp_path / "manifests"),
                 "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["documents"] == 6
    assert data["sources"] == [f"{overlay} (kustomize)"]
    assert main(["policy", "--profile", "full", "--env", "prd", "--manifests-root", str(tmp_path / "manifests")]) == 2
    assert "available: minimal-dev" in capsys.readouterr().err


