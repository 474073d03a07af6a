"""Evaluates user Rego with a real `opa` binary, one `opa eval` process for all inputs.

The same collector module as the regopy worker gathers every wanted rule per input; the
inputs go in as a data file and each is evaluated `with input as` it, which OPA supports
natively. conftest semantics are then applied in Python (rego.conftest_results).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from testbed.policy.model import Finding
from testbed.policy.rego import Input, RegoModule, conftest_results, engine_binary, error_finding
from testbed.policy.rego_regopy import OUT_PACKAGE, collector_module
from testbed.policy.settings import RegoSettings

INPUTS_KEY = "testbed_policy_internal_inputs"


def evaluate_with_opa(modules: list[RegoModule], namespaces: dict[str, list[str]], inputs: list[Input],
                      settings: RegoSettings, wanted: dict[str, list[str]]) -> list[Finding]:
    opa = engine_binary("opa") or "opa"
    query = (f"x := {{i: r | some i; doc := data.{INPUTS_KEY}[i]; "
             f"r := data.{OUT_PACKAGE}.out with input as doc}}")
    with tempfile.TemporaryDirectory(prefix="testbed-opa-") as tmp:
        collector = Path(tmp) / "collector.rego"
        collector.write_text(collector_module(wanted), encoding="utf-8")
        data = Path(tmp) / "inputs.json"
        data.write_text(json.dumps({INPUTS_KEY: [i.value for i in inputs]}), encoding="utf-8")
        cmd = [opa, "eval", "--format", "json", "--data", str(collector), "--data", str(data)]
        for module in modules:
            cmd += ["--data", str(module.path)]
        try:
            proc = subprocess.run([*cmd, query], capture_output=True, timeout=settings.timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return [error_finding(modules, ns, f"opa eval did not finish in {settings.timeout_s:.0f}s") for ns in namespaces]
    try:
        output: Any = json.loads(proc.stdout)
        errors = output.get("errors")
        if errors:
            raise ValueError("; ".join(str(e.get("message", e)) for e in errors)[:500])
        per_input = output["result"][0]["bindings"]["x"] if output.get("result") else {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
        message = str(err) if isinstance(err, ValueError) and str(err) else proc.stderr.decode("utf-8", "replace")[:500]
        return [error_finding(modules, ns, f"opa eval failed: {message}") for ns in namespaces]
    findings: list[Finding] = []
    for n, inp in enumerate(inputs):
        result = per_input.get(str(n), {}) if isinstance(per_input, dict) else {}
        for namespace, rules in namespaces.items():
            found = conftest_results(namespace, rules, result.get(namespace, {}), inp)
            findings.extend(found)
    return findings
