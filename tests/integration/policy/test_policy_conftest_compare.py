"""Our Rego results are identical to a real conftest (built from its Go module) on a shared corpus."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from gotools import require_tool

from testbed.policy.engine import check_paths
from testbed.policy.model import Finding, Severity
from testbed.policy.settings import PolicySettings, RegoSettings

pytestmark = [pytest.mark.integration, pytest.mark.gotools]

REPO = Path(__file__).resolve().parents[3]
REGO = Path("tests/corpora/policy/rego")
INPUTS = [REGO / "inputs" / "apps.yaml", REGO / "inputs" / "config.yaml", REGO / "inputs" / "worker.json"]
POLICY = REGO / "policy"

Key = tuple[str, str, str, str, str]

CASES: list[tuple[str, tuple[str, ...], bool, bool]] = [
    ("default-namespace", (), False, False),
    ("two-namespaces", ("main", "k8s.extra"), False, False),
    ("all-namespaces", (), True, False),
    ("combine", ("combined",), False, True),
]


def conftest_results(conftest: str, namespaces: tuple[str, ...], all_ns: bool, combine: bool) -> Counter[Key]:
    cmd = [conftest, "test", "--output", "json", "--no-color", "--policy", str(POLICY)]
    cmd += [a for ns in namespaces for a in ("--namespace", ns)]
    cmd += ["--all-namespaces"] if all_ns else []
    cmd += ["--combine"] if combine else []
    proc = subprocess.run([*cmd, *map(str, INPUTS)], capture_output=True, text=True, timeout=120, cwd=REPO,
                          check=False)
    assert proc.returncode in (0, 1), proc.stderr
    out: Counter[Key] = Counter()
    for result in json.loads(proc.stdout):
        filename = "<combined>" if result["filename"] == "Combined" else result["filename"]
        for level, key in (("failures", "failure"), ("warnings", "warning"), ("exceptions", "exception")):
            for item in result.get(level) or []:
                meta = {k: v for k, v in (item.get("metadata") or {}).items() if k != "query"}
                msg = item["msg"] if key != "exception" else f"excepted by {item['msg']}"
                out[(filename, result["namespace"], key, msg, json.dumps(meta, sort_keys=True))] += 1
    return out


def _key(f: Finding) -> Key:
    namespace, _, rule = f.rule_id.removeprefix("rego:").rpartition(".")
    level = "exception" if rule == "exception" else "failure" if f.severity is Severity.ERROR else "warning"
    meta: dict[str, Any] = f.extra.get("metadata", {})
    return (f.source, namespace, level, f.message, json.dumps(meta, sort_keys=True))


def our_results(engine: str, namespaces: tuple[str, ...], all_ns: bool, combine: bool) -> Counter[Key]:
    rego = RegoSettings(policy_paths=(POLICY,), namespaces=namespaces or ("main",), all_namespaces=all_ns,
                        combine=combine, engine=engine)
    report = check_paths(INPUTS, PolicySettings(rego=rego))
    errors = [f.message for f in report.findings if f.rule_id == "TB-REGO-ERROR"]
    assert not errors
    return Counter(_key(f) for f in report.findings if f.rule_id.startswith("rego:"))


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize(("name", "namespaces", "all_ns", "combine"), CASES, ids=[c[0] for c in CASES])
def test_regopy_engine_matches_conftest(name: str, namespaces: tuple[str, ...], all_ns: bool, combine: bool) -> None:
    conftest = require_tool("conftest")
    expected = conftest_results(conftest, namespaces, all_ns, combine)
    assert expected, "the corpus must produce findings"
    assert our_results("regopy", namespaces, all_ns, combine) == expected


@pytest.mark.parametrize("engine", ["conftest", "opa"])
@pytest.mark.parametrize(("name", "namespaces", "all_ns", "combine"), CASES, ids=[c[0] for c in CASES])
def test_binary_engines_match_conftest(engine: str, name: str, namespaces: tuple[str, ...], all_ns: bool,
                                       combine: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    conftest = require_tool("conftest")
    binary = require_tool(engine)
    monkeypatch.setenv("PATH", f"{Path(binary).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    expected = conftest_results(conftest, namespaces, all_ns, combine)
    assert our_results(engine, namespaces, all_ns, combine) == expected
