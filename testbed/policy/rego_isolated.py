"""Runs the regopy worker in a subprocess and turns native crashes into per-policy errors.

All namespaces are first evaluated in one process; if it dies, each namespace is retried
alone with only its own modules and the packages they reference, so one crashing policy
package fails with TB-REGO-ERROR and the others still report.
"""

from __future__ import annotations

import json
import marshal
import re
import signal
import subprocess
import sys
from typing import Any

from testbed.policy.model import Finding
from testbed.policy.rego import Input, RegoModule, conftest_results, error_finding
from testbed.policy.settings import RegoSettings


class WorkerDied(Exception):
    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


def _run_worker(job: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    payload = marshal.dumps(job)  # same interpreter on both ends; much faster than JSON for 1,000 documents
    try:
        proc = subprocess.run([sys.executable, "-m", "testbed.policy.rego_regopy"], input=payload,
                              capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as err:
        raise WorkerDied(f"evaluation did not finish in {timeout_s:.0f}s") from err
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        raise WorkerDied(f"regopy crashed ({name}); the policy may combine `with` and a builtin, "
                         f"which regopy cannot evaluate; run it with conftest/opa")
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise WorkerDied(f"regopy worker failed: {tail[0][:300]}") from None
    if not isinstance(result, dict):
        raise WorkerDied("regopy worker returned no result")
    return result


def modules_for(namespace: str, modules: list[RegoModule]) -> list[RegoModule]:
    """The namespace's modules plus those of every package they reference (transitively)."""
    wanted = {namespace}
    while True:
        texts = " ".join(m.text for m in modules if m.package in wanted)
        referenced = {m.package for m in modules if re.search(rf"\bdata\.{re.escape(m.package)}\b", texts)}
        if referenced <= wanted:
            return [m for m in modules if m.package in wanted]
        wanted |= referenced


def evaluate_isolated(modules: list[RegoModule], namespaces: dict[str, list[str]], inputs: list[Input],
                      settings: RegoSettings) -> list[Finding]:
    job_modules = [[str(m.path), m.text] for m in modules]
    wanted = {ns: rules + (["exception"] if defines_exception(ns, modules) else []) for ns, rules in namespaces.items()}
    values = [i.value for i in inputs]
    results: dict[str, list[Any]] = {}
    errors: dict[str, str] = {}
    try:
        out = _run_worker({"modules": job_modules, "namespaces": wanted, "inputs": values}, settings.timeout_s)
        results, errors = out.get("results", {}), out.get("errors", {})
    except WorkerDied:
        for namespace, rules in wanted.items():
            own = [[str(m.path), m.text] for m in modules_for(namespace, modules)]
            try:
                out = _run_worker({"modules": own, "namespaces": {namespace: rules}, "inputs": values},
                                  settings.timeout_s)
                results.update(out.get("results", {}))
                errors.update(out.get("errors", {}))
            except WorkerDied as died:
                errors[namespace] = died.how
    findings: list[Finding] = []
    for namespace, rules in namespaces.items():
        if namespace in errors:
            findings.append(error_finding(modules, namespace, errors[namespace]))
            continue
        per_input = results.get(namespace, [])
        for inp, package_value in zip(inputs, per_input):
            found, _ = conftest_results(namespace, rules, package_value, inp)
            findings.extend(found)
    return findings


def defines_exception(namespace: str, modules: list[RegoModule]) -> bool:
    return any(m.package == namespace and re.search(r"^exception\b", m.text, re.M) for m in modules)
