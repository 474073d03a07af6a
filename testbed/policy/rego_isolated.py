"""Runs the regopy worker in a subprocess and turns native crashes into per-policy errors.

All namespaces are first evaluated in one process; if it dies, each namespace is retried
alone with only its own modules and the packages they reference, so one crashing policy
package fails with TB-REGO-ERROR and the others still report. Large inputs are split across one
worker per usable core (respecting taskset/cgroup affinity).
"""

from __future__ import annotations

import json
import marshal
import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from testbed.policy.model import Finding
from testbed.policy.rego import Input, RegoModule, conftest_results, error_finding, wanted_rules
from testbed.policy.settings import RegoSettings


MIN_INPUTS_PER_WORKER = 250  # below this, a second process costs more than it saves


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


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _run_chunked(modules: list[list[str]], wanted: dict[str, list[str]], values: list[Any],
                 timeout_s: float) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """Evaluate in up to one worker per usable core (only for large inputs); results keep input order."""
    chunks = max(1, min(usable_cores(), len(values) // MIN_INPUTS_PER_WORKER))
    size = -(-len(values) // chunks) if values else 0
    parts = [values[i:i + size] for i in range(0, len(values), size)] if size else [values]
    jobs = [{"modules": modules, "namespaces": wanted, "inputs": part} for part in parts]
    if len(jobs) == 1:
        outs = [_run_worker(jobs[0], timeout_s)]
    else:
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            outs = list(pool.map(lambda job: _run_worker(job, timeout_s), jobs))
    results: dict[str, list[Any]] = {ns: [] for ns in wanted}
    errors: dict[str, str] = {}
    for out in outs:
        errors.update(out.get("errors", {}))
        for ns, values_ in out.get("results", {}).items():
            results.setdefault(ns, []).extend(values_)
    return results, errors


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
    wanted = wanted_rules(namespaces, modules)
    values = [i.value for i in inputs]
    results: dict[str, list[Any]] = {}
    errors: dict[str, str] = {}
    try:
        results, errors = _run_chunked(job_modules, wanted, values, settings.timeout_s)
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
            found = conftest_results(namespace, rules, package_value, inp)
            findings.extend(found)
    return findings
