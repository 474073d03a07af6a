"""Rego with conftest semantics through regopy: results, exceptions, v0 rejection, crash isolation."""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_helpers import CORPUS

from testbed.errors import ConfigError, MissingTool
from testbed.policy.engine import check_paths
from testbed.policy.rego import choose_engine, engine_binary, reject_v0
from testbed.policy.settings import PolicySettings, RegoSettings

pytestmark = pytest.mark.unit

REGO = CORPUS / "rego"
INPUTS = [REGO / "inputs" / "apps.yaml", REGO / "inputs" / "config.yaml", REGO / "inputs" / "worker.json"]


def rego_run(policy: Path, **kwargs) -> list[tuple[str, str, int | None, str, str | None]]:  # type: ignore[no-untyped-def]
    settings = PolicySettings(rego=RegoSettings(policy_paths=(policy,), engine="regopy", **kwargs))
    report = check_paths(INPUTS, settings)
    return [(f.rule_id, Path(f.source).name, f.index, f.message, f.waived)
            for f in report.findings if f.rule_id.startswith(("rego:", "TB-REGO"))]


def test_results_follow_conftest_rules() -> None:
    found = rego_run(REGO / "policy")
    assert ("rego:main.deny", "apps.yaml", 0, "Deployment/api: container api uses a latest image", None) in found
    assert ("rego:main.violation_replicas", "apps.yaml", 0, "Deployment/api: 8 replicas is more than 5", None) in found
    assert ("rego:main.warn", "apps.yaml", 2, "Service/api is a NodePort", None) in found
    # exceptions: legacy's replicas violation and the ConfigMap's label warning are excepted, and reported as waived
    assert not [f for f in found if f[3].startswith("Deployment/legacy: 9 replicas")]
    assert ("rego:main.exception", "apps.yaml", 1, 'excepted by data.main.exception[_][_] == "replicas"',
            "Rego exception") in found
    assert not [f for f in found if f[0].startswith("rego:k8s.extra")]  # only main by default


def test_object_results_keep_metadata() -> None:
    settings = PolicySettings(rego=RegoSettings(policy_paths=(REGO / "policy",), engine="regopy"))
    report = check_paths(INPUTS[:1], settings)
    with_meta = [f for f in report.findings if f.extra.get("metadata")]
    assert with_meta[0].extra["metadata"] == {"details": {"container": "api"}}


def test_namespaces_and_combine() -> None:
    assert any(r[0] == "rego:k8s.extra.deny_privileged" for r in rego_run(REGO / "policy", namespaces=("k8s.extra",)))
    combined = rego_run(REGO / "policy", namespaces=("combined",), combine=True)
    assert ("rego:combined.deny", "<combined>", None, "Deployment legacy has no Service selecting app=legacy",
            None) in combined


def test_v0_policy_is_rejected_with_conversion_hint() -> None:
    with pytest.raises(ConfigError, match=r"opa fmt --v0-v1"):
        rego_run(REGO / "policy-v0")


@pytest.mark.parametrize("text", [
    "package main\ndeny[msg] {\n  msg := \"x\"\n}\n",
    "package main\nallow {\n  true\n}\n",
    "package main\nf(x) = y {\n  y := x\n}\n",
    "package main\ndeny[{\"msg\": m}] {\n  m := \"x\"\n}\n",
])
def test_v0_heads_are_detected(text: str) -> None:
    with pytest.raises(ConfigError, match="v0"):
        reject_v0(Path("p.rego"), text)


@pytest.mark.parametrize("text", [
    "package main\nimport rego.v1\ndeny contains msg if {\n  msg := \"x\"\n}\n",
    "package main\ndeny contains {\"msg\": \"x\"} if {\n  true\n}\n",
    "package main\nx := {\"a\": {\"b\": 1}}\nallow if {\n  x.a.b == 1\n}\n",
    "package main\ns := {y | some y in [1, 2]}\n# deny[msg] { in a comment }\n",
    "package main\nmsg := \"deny[x] { not code }\"\n",
    "package main\nf(x) := y if {\n  y := x\n} else := 0\n",
])
def test_v1_is_not_mistaken_for_v0(text: str) -> None:
    reject_v0(Path("p.rego"), text)


def test_native_crash_fails_that_policy_only(tmp_path: Path) -> None:
    (tmp_path / "crash.rego").write_text((REGO / "policy-crash" / "crash.rego").read_text())
    (tmp_path / "extra.rego").write_text((REGO / "policy" / "extra.rego").read_text())
    found = rego_run(tmp_path, namespaces=("main", "k8s.extra"))
    errors = [f for f in found if f[0] == "TB-REGO-ERROR"]
    assert len(errors) == 1 and "crashed" in errors[0][3] and "crash.rego" in errors[0][3]
    assert any(f[0] == "rego:k8s.extra.deny_privileged" for f in found)


def test_policy_paths_must_exist_and_hold_policies(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such policy"):
        rego_run(tmp_path / "missing")
    with pytest.raises(ConfigError, match="no .rego"):
        rego_run(tmp_path)
    (tmp_path / "nopkg.rego").write_text("deny contains 1 if { true }\n")
    with pytest.raises(ConfigError, match="package"):
        rego_run(tmp_path)


def test_syntax_error_is_a_policy_error(tmp_path: Path) -> None:
    (tmp_path / "bad.rego").write_text("package main\nimport rego.v1\ndeny contains msg if {\n  msg := (\n}\n")
    found = rego_run(tmp_path)
    assert [f[0] for f in found] == ["TB-REGO-ERROR"]


def test_engine_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "empty-cache"))
    assert choose_engine("auto") == "regopy"
    for engine in ("conftest", "opa"):
        with pytest.raises(MissingTool, match=f"not on PATH or in {tmp_path / 'empty-cache' / 'tools' / 'bin'}; build it there"):
            choose_engine(engine)
    with pytest.raises(ConfigError, match="unknown"):
        choose_engine("wasm")


@pytest.mark.parametrize("engine", ["conftest", "opa"])
def test_an_engine_built_by_build_go_tools_is_found_off_path(engine: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """ci/build-go-tools.sh installs into $TESTBED_CACHE/tools/bin, which need not be on PATH."""
    from testbed.policy.rego_conftest import conftest_command

    bin_dir = tmp_path / "cache" / "tools" / "bin"
    bin_dir.mkdir(parents=True)
    built = bin_dir / engine
    built.write_text("#!/bin/sh\nexit 0\n")
    built.chmod(0o755)
    (bin_dir / "not-executable").write_text("")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))
    assert choose_engine(engine) == engine
    assert choose_engine("auto") == engine
    assert engine_binary(engine) == str(built)
    assert engine_binary("not-executable") is None
    if engine == "conftest":
        assert conftest_command([tmp_path], ["main"], ["in.json"], combine=False)[0] == str(built)


def test_chunked_workers_give_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    from testbed.policy import rego_isolated

    single = rego_run(REGO / "policy", namespaces=("main", "k8s.extra"))
    monkeypatch.setattr(rego_isolated, "MIN_INPUTS_PER_WORKER", 1)
    monkeypatch.setattr(rego_isolated, "usable_cores", lambda: 3)
    assert rego_run(REGO / "policy", namespaces=("main", "k8s.extra")) == single
