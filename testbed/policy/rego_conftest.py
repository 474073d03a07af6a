"""Evaluates user Rego with a real `conftest` binary (the reference implementation).

Each input is written as its own JSON file so every result maps back to one document;
conftest's `--output json` is parsed, never its human output.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from testbed.policy.model import Finding
from testbed.policy.rego import Input, RegoModule, engine_binary, error_finding, exception_finding, removed_prefix, severity_of
from testbed.policy.settings import RegoSettings


def conftest_command(policy_dirs: list[Path], namespaces: list[str], files: list[str], *, combine: bool) -> list[str]:
    conftest = engine_binary("conftest") or "conftest"
    cmd = [conftest, "test", "--output", "json", "--no-color"]
    for p in policy_dirs:
        cmd += ["--policy", str(p)]
    for ns in namespaces:
        cmd += ["--namespace", ns]
    if combine:
        cmd.append("--combine")
    return cmd + ["--", *files]


def evaluate_with_conftest(modules: list[RegoModule], namespaces: dict[str, list[str]], inputs: list[Input],
                           settings: RegoSettings) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="testbed-rego-") as tmp:
        files: list[str] = []
        by_file: dict[str, Input] = {}
        if settings.combine:
            files = _write_combined(Path(tmp), inputs[0].value)
            by_file["Combined"] = inputs[0]
        else:
            for n, inp in enumerate(inputs):
                path = f"{n:06d}.json"
                with open(Path(tmp) / path, "w", encoding="utf-8") as fh:
                    json.dump(inp.value, fh)
                files.append(path)
                by_file[path] = inp
        policies = [m.path.resolve() for m in modules]
        cmd = conftest_command(policies, list(namespaces), files, combine=settings.combine)
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=settings.timeout_s, check=False, cwd=tmp)
        except subprocess.TimeoutExpired:
            return [error_finding(modules, ns, f"conftest did not finish in {settings.timeout_s:.0f}s")
                    for ns in namespaces]
        try:
            results: Any = json.loads(proc.stdout)
        except ValueError:
            message = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
            return [error_finding(modules, ns, f"conftest failed: {message[:500]}") for ns in namespaces]
    findings: list[Finding] = []
    for result in results if isinstance(results, list) else []:
        inp = by_file.get(result.get("filename", ""))
        namespace = result.get("namespace", "")
        if inp is None:
            continue
        for item in result.get("exceptions") or []:
            query = str(item.get("msg", ""))
            name = query.rsplit("==", 1)[-1].strip().strip('"')
            findings.append(exception_finding(namespace, _rule_for_exception(namespace, name, namespaces), query, inp))
        for level in ("failures", "warnings"):
            for item in result.get(level) or []:
                query = (item.get("metadata") or {}).get("query", "")
                rule = query.rsplit(".", 1)[-1] if query else ("deny" if level == "failures" else "warn")
                metadata = {k: v for k, v in (item.get("metadata") or {}).items() if k != "query"}
                finding = Finding(rule_id=f"rego:{namespace}.{rule}", severity=severity_of(rule),
                                  message=str(item.get("msg", "")), source=inp.source, index=inp.index,
                                  kind=inp.kind, namespace=inp.namespace, name=inp.name)
                if metadata:
                    finding.extra = {"metadata": metadata}
                findings.append(finding)
    return findings


def _write_combined(tmp: Path, combined: list[dict[str, Any]]) -> list[str]:
    """Recreate each source under `tmp` at its own relative path, so `input[_].path` matches."""
    grouped: dict[str, list[Any]] = {}
    for entry in combined:
        grouped.setdefault(str(entry["path"]), []).append(entry["contents"])
    files: list[str] = []
    for n, (path, contents) in enumerate(grouped.items()):
        relative = path.lstrip("/") if path and ".." not in Path(path).parts else f"input-{n}.json"
        target = tmp / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8") as fh:
            if len(contents) == 1:
                json.dump(contents[0], fh)
            else:
                fh.write("\n---\n".join(json.dumps(c) for c in contents))
        files.append(relative)
    return files


def _rule_for_exception(namespace: str, name: str, namespaces: dict[str, list[str]]) -> str:
    """The rule an exception name refers to (first match), for its severity."""
    return next((r for r in namespaces.get(namespace, []) if removed_prefix(r) == name), "")
