"""`testbed policy` in-process: exit codes 0/1/2, formats, --fail-on, --profile/--env, --list-rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from policy_helpers import CORPUS

from testbed.cli.main import main

pytestmark = pytest.mark.unit

GOOD = str(CORPUS / "good")
BAD = str(CORPUS / "bad-input")


def test_clean_render_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", GOOD]) == 0
    assert "PASS" in capsys.readouterr().out


def test_findings_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", BAD, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["failing"] > 0


def test_fail_on_controls_the_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = (CORPUS / "good" / "app.yaml").read_text().replace("          livenessProbe:\n            httpGet:\n"
                                                               "              path: /healthz\n              port: http\n", "")
    path = tmp_path / "app.yaml"
    path.write_text(doc)
    paths = [str(path), str(CORPUS / "good" / "network.yaml")]
    assert main(["policy", *paths]) == 0  # a warning only
    assert main(["policy", *paths, "--fail-on", "warning"]) == 1
    assert main(["policy", BAD, "--fail-on", "never"]) == 0


@pytest.mark.parametrize("args", [
    [],
    ["--profile", "minimal"],
    ["--profile", "minimal", "--env", "dev", "--manifests-root", "/nonexistent"],
    [GOOD, "--k8s-version", "1.10"],
    [GOOD, "--format", "xml"],
    ["/no/such/path"],
    [GOOD, "--policy", "/no/such/policy"],
    [GOOD, "--max-limit-ratio", "0.5"],
    [GOOD, "--crd-dir", "/no/such/crds"],
    [GOOD, "--waivers", "/no/such/waivers.yaml"],
    [GOOD, "--schema-location", "https://example.com/{{.ResourceKind}}.json"],
    [GOOD, "-o", "/no/such/dir/report.json"],
])
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


def test_output_file_and_summary_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.sarif"
    assert main(["policy", BAD, "--format", "sarif", "-o", str(out)]) == 1
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert "FAIL" in capsys.readouterr().err


def test_list_rules_is_the_readme_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--list-rules"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| ID | Severity |")
    for rule in ("TB-IMAGE-TAG", "TB-PDB-MISSING", "TB-SCHEMA", "TB-WAIVER-EXPIRED", "TB-REGO-ERROR"):
        assert f"`{rule}`" in table


def test_rego_from_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    rego = CORPUS / "rego"
    code = main(["policy", str(rego / "inputs"), "-p", str(rego / "policy"), "--rego-engine", "regopy",
                 "--format", "json", "--allow-missing-schemas"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["rego_engine"] == "regopy"
    assert any(f["rule"] == "rego:main.deny" for f in data["findings"])


@pytest.mark.parametrize("engine", ["conftest", "opa"])
def test_a_missing_rego_engine_is_exit_2_with_how_to_get_it(engine: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path))  # no tools/bin there either
    rego = CORPUS / "rego"
    code = main(["policy", str(rego / "inputs"), "-p", str(rego / "policy"), "--rego-engine", engine,
                 "--allow-missing-schemas"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"testbed: --rego-engine {engine}: {engine} is not on PATH") and "ci/build-go-tools.sh" in err
    assert "Traceback" not in err
