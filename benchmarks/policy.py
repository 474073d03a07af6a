"""Benchmark: `testbed policy` vs kubeconform (schema) and conftest (Rego), side by side in one run.

    python benchmarks/policy.py [--docs 1000] [--repeat 5] [--json out.json]

Generates a render of N documents (Deployments, Services, ConfigMaps, PDBs, HPAs, NetworkPolicies),
then measures, each pinned to one core (taskset -c 0) and as the median of --repeat runs:
  * testbed policy (schema + built-in rules), whole process incl. start-up
  * kubeconform -strict on the same render with the same schemas (anchor for schema checking)
  * schema + rules in-process throughput (docs/s, start-up excluded)
  * testbed policy Rego-only (regopy engine) vs conftest test on the same policies (anchor for Rego)
  * `testbed policy --help` start-up (import cost of the command)
Every figure is reported with its anchor from the same run and the ratio. The Go tools come from
ci/build-go-tools.sh ($TESTBED_CACHE/tools/bin or PATH); a missing one is reported, not faked.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
POLICIES = REPO / "tests" / "corpora" / "policy" / "rego" / "policy"
K8S_VERSION = "1.33"


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "testbed", "team": "bench"}


def _deployment(i: int) -> dict[str, Any]:
    name = f"app-{i}"
    sc = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    container = {
        "name": "app", "image": f"registry.k8s.io/e2e-test-images/agnhost:2.{i % 60}",
        "args": ["netexec", "--http-port=8080"], "ports": [{"containerPort": 8080, "name": "http"}],
        "env": [{"name": "MODE", "value": "bench"}, {"name": "INDEX", "value": str(i)}],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "failureThreshold": 6},
        "securityContext": sc,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if i % 10 == 0:
        container["image"] = "registry.k8s.io/e2e-test-images/agnhost:latest"  # some findings, as in real life
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "bench", "labels": _labels(name)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": _labels(name)},
                "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                             "seccompProfile": {"type": "RuntimeDefault"}},
                         "containers": [container], "volumes": [{"name": "tmp", "emptyDir": {}}]},
            },
        },
    }


def generate(n: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [{
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": "bench", "labels": _labels("default-deny")},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }]
    i = 0
    while len(docs) < n:
        name = f"app-{i}"
        docs.append(_deployment(i))
        docs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": name, "namespace": "bench", "labels": _labels(name)},
                     "spec": {"selector": {"app.kubernetes.io/name": name},
                              "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": f"{name}-config", "namespace": "bench", "labels": _labels(name)},
                     "data": {"MODE": "bench", "LEVEL": str(i % 5)}})
        if i % 4 == 0:
            docs.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                         "metadata": {"name": name, "namespace": "bench", "labels": _labels(name)},
                         "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}}})
        i += 1
    return docs[:n]


def write_render(docs: list[dict[str, Any]], path: Path) -> None:
    import yaml

    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")


def find_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    root = Path(os.environ.get("TESTBED_CACHE", Path.home() / ".cache" / "testbed"))
    candidate = root / "tools" / "bin" / name
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def pin(cmd: list[str]) -> list[str]:
    return ["taskset", "-c", "0", *cmd] if shutil.which("taskset") else cmd


def time_command(cmd: list[str], repeat: int, ok_codes: tuple[int, ...] = (0, 1), cwd: Path | None = None,
                 env: dict[str, str] | None = None, pinned: bool = True) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Median wall time of `cmd` (pinned to one core unless told); every run is bounded by a timeout."""
    times, last = race([cmd], repeat, ok_codes, env=env, pinned=pinned)
    return times[0], last[0]


def race(cmds: list[list[str]], repeat: int, ok_codes: tuple[int, ...] = (0, 1), env: dict[str, str] | None = None,
         pinned: bool = True) -> tuple[list[float], list[subprocess.CompletedProcess[str]]]:
    """Median wall time of each command, runs interleaved (a, b, a, b, ...) so both see the same machine load."""
    samples: list[list[float]] = [[] for _ in cmds]
    last: list[subprocess.CompletedProcess[str]] = []
    for _ in range(repeat):
        last = []
        for i, cmd in enumerate(cmds):
            started = time.perf_counter()
            proc = subprocess.run(pin(cmd) if pinned else cmd, capture_output=True, text=True, timeout=300, env=env,
                                  check=False)
            samples[i].append(time.perf_counter() - started)
            if proc.returncode not in ok_codes:
                raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {proc.stderr[-500:]}")
            last.append(proc)
    return [statistics.median(s) for s in samples], last


def in_process_rate(path: Path, repeat: int) -> tuple[float, int, int]:
    """Docs/s of load + schema + built-in rules in this process (start-up excluded), median of runs."""
    from testbed.policy.engine import check_paths
    from testbed.policy.settings import PolicySettings

    rates: list[float] = []
    docs = findings = 0
    for _ in range(repeat):
        started = time.perf_counter()
        report = check_paths([path], PolicySettings(k8s_version=K8S_VERSION))
        elapsed = time.perf_counter() - started
        docs, findings = report.documents, len(report.findings)
        rates.append(docs / elapsed)
    return statistics.median(rates), docs, findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    testbed = [sys.executable, "-m", "testbed.cli.main"]
    results: dict[str, Any] = {"docs": args.docs, "repeat": args.repeat, "cores": "taskset -c 0"}
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="testbed-bench-policy-") as tmp_dir:
        tmp = Path(tmp_dir)
        docs = generate(args.docs)
        render = tmp / "render.yaml"
        write_render(docs, render)

        help_s, _ = time_command([*testbed, "policy", "--help"], args.repeat, ok_codes=(0,), env=env)
        python_s, _ = time_command([sys.executable, "-c", "pass"], args.repeat, ok_codes=(0,))
        rows.append(("start-up: `testbed policy --help`", f"{help_s:.3f} s", f"python -c pass {python_s:.3f} s",
                     f"{help_s / python_s:.2f}x"))

        ours_cmd = [*testbed, "policy", str(render), "--format", "json"]
        kubeconform = find_tool("kubeconform")
        if kubeconform:
            from testbed.policy.schema_export import export_standalone

            location = export_standalone(((d["apiVersion"], d["kind"]) for d in docs), tmp / "kc", K8S_VERSION)
            kc_cmd = [kubeconform, "-strict", "-summary", "-output", "json", "-kubernetes-version", f"{K8S_VERSION}.0",
                      "-schema-location", location, str(render)]
            (ours_s, kc_s), (proc, kc_proc) = race([ours_cmd, kc_cmd], args.repeat, env=env)
            kc_summary = json.loads(kc_proc.stdout).get("summary", {})
        else:
            ours_s, proc = time_command(ours_cmd, args.repeat, env=env)
        summary = json.loads(proc.stdout)["summary"]
        results["ours_schema_rules_s"] = ours_s
        rate, n_docs, n_findings = in_process_rate(render, args.repeat)
        results.update(in_process_docs_per_s=rate, documents=n_docs, findings=n_findings, summary=summary)

        if kubeconform:
            results.update(kubeconform_s=kc_s, kubeconform_summary=kc_summary)
            rows.append((f"schema + built-in rules, {n_docs} docs, whole process", f"{ours_s:.3f} s",
                         f"kubeconform -strict (schema only) {kc_s:.3f} s", f"{ours_s / kc_s:.2f}x kubeconform time"))
        else:
            rows.append((f"schema + built-in rules, {n_docs} docs, whole process", f"{ours_s:.3f} s",
                         "kubeconform: not built (ci/build-go-tools.sh)", "-"))
        rows.append(("schema + built-in rules, in-process", f"{rate:,.0f} docs/s", "target 1,000 docs/s",
                     f"{rate / 1000:.2f}x target"))

        conftest = find_tool("conftest")
        rego_args = ["--policy", str(POLICIES), "--namespace", "main", "--namespace", "k8s.extra"]
        ours_rego_cmd = [*testbed, "policy", str(render), *rego_args, "--skip", "schema", "--skip", "rules",
                         "--rego-engine", "regopy", "--format", "json"]
        if conftest:
            cf_cmd = [conftest, "test", "--output", "json", "--no-color", *rego_args, str(render)]
            for pinned, label in ((True, "one core"), (False, "all cores")):
                (ours_rego_s, cf_s), (ours_rego, cf_proc) = race([ours_rego_cmd, cf_cmd], args.repeat, env=env,
                                                                  pinned=pinned)
                ours_findings = [f for f in json.loads(ours_rego.stdout)["findings"] if f["rule"].startswith("rego:")]
                cf_findings = sum(len(r.get("failures") or []) + len(r.get("warnings") or [])
                                  + len(r.get("exceptions") or []) for r in json.loads(cf_proc.stdout))
                results[f"rego_{'pinned' if pinned else 'unpinned'}"] = {
                    "ours_s": ours_rego_s, "conftest_s": cf_s, "ours_results": len(ours_findings),
                    "conftest_results": cf_findings}
                rows.append((f"Rego (regopy engine), {n_docs} docs, whole process, {label}", f"{ours_rego_s:.3f} s",
                             f"conftest test {cf_s:.3f} s", f"{cf_s / ours_rego_s:.2f}x conftest speed"))
            rows.append(("Rego results (failures+warnings+exceptions)", str(len(ours_findings)),
                         f"conftest {cf_findings}", "identical" if cf_findings == len(ours_findings) else "DIFFER"))
        else:
            ours_rego_s, _ = time_command(ours_rego_cmd, args.repeat, env=env)
            rows.append((f"Rego (regopy engine), {n_docs} docs", f"{ours_rego_s:.3f} s",
                         "conftest: not built (ci/build-go-tools.sh)", "-"))

    results["rows"] = rows
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | ours | anchor (same run) | ratio |")
    print(f"|{'-' * (width + 2)}|------|-------------------|-------|")
    for row in rows:
        print(f"| {row[0].ljust(width)} | {row[1]} | {row[2]} | {row[3]} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
