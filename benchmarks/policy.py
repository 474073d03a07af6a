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
                 env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Median wall time of `cmd` (pinned to one core); every run is bounded by a timeout."""
    times: list[float] = []
    last: subprocess.CompletedProcess[str] | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        last = subprocess.run(pin(cmd), capture_output=True, text=True, timeout=300, cwd=cwd, env=env, check=False)
        times.append(time.perf_counter() - started)
        if last.returncode not in ok_codes:
            raise RuntimeError(f"{cmd[0]} exited {last.returncode}: {last.stderr[-500:]}")
    assert last is not None
    return statistics.median(times), last


def kubeconform_schemas(docs: list[dict[str, Any]], root: Path) -> Path:
    """The same kubernetes-validate schemas, laid out for kubeconform (refs made relative)."""
    from testbed.policy.schema import _schema_root

    major, minor = K8S_VERSION.split(".")
    src = _schema_root() / f"v{major}.{minor}.0-local-strict"
    dest = root / f"v{major}.{minor}.0-standalone-strict"
    dest.mkdir(parents=True)
    names = {"_definitions.json"}
    for doc in docs:
        group, _, version = doc["apiVersion"].rpartition("/")
        names.add(f"{doc['kind'].lower()}{'-' + group.split('.')[0] if group else ''}-{version}.json")
    for name in names:
        text = (src / name).read_text(encoding="utf-8").replace('"/api/_definitions.json#', '"_definitions.json#')
        (dest / name).write_text(text, encoding="utf-8")
    return root


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

        ours_s, proc = time_command([*testbed, "policy", str(render), "--format", "json"], args.repeat, env=env)
        summary = json.loads(proc.stdout)["summary"]
        results["ours_schema_rules_s"] = ours_s
        rate, n_docs, n_findings = in_process_rate(render, args.repeat)
        results.update(in_process_docs_per_s=rate, documents=n_docs, findings=n_findings, summary=summary)

        kubeconform = find_tool("kubeconform")
        if kubeconform:
            schemas = kubeconform_schemas(docs, tmp / "kc")
            kc_cmd = [kubeconform, "-strict", "-summary", "-output", "json", "-kubernetes-version", f"{K8S_VERSION}.0",
                      "-schema-location", str(schemas) + "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/"
                      "{{ .ResourceKind }}{{ .KindSuffix }}.json", str(render)]
            kc_s, kc_proc = time_command(kc_cmd, args.repeat)
            kc_summary = json.loads(kc_proc.stdout).get("summary", {})
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
        ours_rego_s, ours_rego = time_command(
            [*testbed, "policy", str(render), *rego_args, "--skip", "schema", "--skip", "rules",
             "--rego-engine", "regopy", "--format", "json"], args.repeat, env=env)
        ours_rego_findings = [f for f in json.loads(ours_rego.stdout)["findings"] if f["rule"].startswith("rego:")]
        results.update(ours_rego_regopy_s=ours_rego_s, ours_rego_findings=len(ours_rego_findings))
        if conftest:
            cf_s, cf_proc = time_command([conftest, "test", "--output", "json", "--no-color", *rego_args,
                                          str(render)], args.repeat)
            cf_findings = sum(len(r.get("failures") or []) + len(r.get("warnings") or []) + len(r.get("exceptions") or [])
                              for r in json.loads(cf_proc.stdout))
            results.update(conftest_s=cf_s, conftest_findings=cf_findings)
            rows.append((f"Rego (regopy engine), {n_docs} docs, whole process", f"{ours_rego_s:.3f} s",
                         f"conftest test {cf_s:.3f} s", f"{cf_s / ours_rego_s:.2f}x faster than conftest"))
            rows.append(("Rego results (failures+warnings+exceptions)", str(len(ours_rego_findings)),
                         f"conftest {cf_findings}", "identical" if cf_findings == len(ours_rego_findings) else "DIFFER"))
        else:
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
