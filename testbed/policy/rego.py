"""User Rego policies with conftest's semantics, whatever engine evaluates them.

Engines: a `conftest` binary (exact by construction), else an `opa` binary, each on PATH or where
ci/build-go-tools.sh installs it ($TESTBED_CACHE/tools/bin), otherwise regopy in an isolated
subprocess (regopy can crash the process on `with` + builtins; a crash fails that policy, not
the run). regopy silently mis-evaluates Rego v0, so v0 heads are rejected up front.

conftest semantics reproduced here (policy/engine.go, v0.71): rules named
^(deny|violation)(_[a-zA-Z0-9]+)*$ fail, ^warn(_[a-zA-Z0-9]+)*$ warn; a rule's results are
strings or objects with a string `msg`; `exception` (a set of arrays of rule names without the
deny_/violation_/warn_ prefix, "" for the bare names) suppresses a rule for that input.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testbed.errors import ConfigError, MissingTool
from testbed.policy.model import Finding, Severity, file_finding
from testbed.policy.rules.inputs import REGO_DENY, REGO_ERROR, REGO_WARN
from testbed.policy.settings import RegoSettings
from testbed.sim.versions import cache_root

FAILURE = re.compile(r"^(deny|violation)(_[a-zA-Z0-9]+)*$")
WARNING = re.compile(r"^warn(_[a-zA-Z0-9]+)*$")
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.M)
_RULE_HEAD = re.compile(r"^((?:deny|violation|warn)(?:_[a-zA-Z0-9]+)*)\b", re.M)
_STRINGS = re.compile(r'"(?:\\.|[^"\\\n])*"|`[^`]*`')
_COMMENT = re.compile(r"#[^\n]*")
_KEYWORD_LINE = re.compile(r"^\s*(package|import|default)\b")


@dataclass(frozen=True)
class RegoModule:
    path: Path
    package: str
    text: str

    @property
    def rule_names(self) -> list[str]:
        stripped = _COMMENT.sub("", _STRINGS.sub('""', self.text))
        return [m[1] for m in _RULE_HEAD.finditer(stripped)]


@dataclass(frozen=True)
class Input:
    """One evaluation input: a document (or the combined list) and where findings go."""

    source: str
    index: int | None
    value: Any
    kind: str = ""
    namespace: str = ""
    name: str = ""


def load_modules(paths: Iterable[Path]) -> list[RegoModule]:
    """Rego modules under the policy paths, skipping *_test.rego as conftest does."""
    modules: list[RegoModule] = []
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path}: no such policy file or directory", field="policy")
        files = [path] if path.is_file() else sorted(path.rglob("*.rego"))
        for file in files:
            if file.name.endswith("_test.rego"):
                continue
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise ConfigError(f"cannot read policy: {err}", source=str(file)) from err
            match = _PACKAGE.search(_COMMENT.sub("", text))
            if match is None:
                raise ConfigError("policy has no package declaration", source=str(file))
            reject_v0(file, text)
            modules.append(RegoModule(file, match[1], text))
    if not modules:
        raise ConfigError("no .rego policies found in the policy paths", field="policy")
    return modules


def reject_v0(path: Path, text: str) -> None:
    """Raise when a rule head uses Rego v0 syntax (a body without `if`, `p[x] {` partial sets)."""
    stripped = _COMMENT.sub("", _STRINGS.sub('""', text))
    depth = 0
    head_start = 0
    for i, ch in enumerate(stripped):
        if ch in "{[(":
            if ch == "{" and depth == 0:
                head = stripped[head_start:i]
                line = head.strip().splitlines()[-1] if head.strip() else ""
                if _v0_head(head):
                    lineno = stripped.count("\n", 0, i) + 1
                    raise ConfigError(
                        f"line {lineno}: Rego v0 syntax `{line.strip()} {{`; only Rego v1 is evaluated "
                        f"(regopy would silently mis-evaluate it). Convert with: opa fmt --v0-v1 -w {path}",
                        source=str(path))
            depth += 1
        elif ch in "}])":
            depth = max(0, depth - 1)
            if depth == 0 and ch == "}":
                head_start = i + 1
        elif ch == "\n" and depth == 0:
            head_start = i + 1


def _v0_head(head: str) -> bool:
    text = " ".join(head.split())
    if not text or _KEYWORD_LINE.match(text):
        return False
    if re.search(r"\bif\b", text) or text.endswith(("=", ":=", ",", "(", "[", ":", "|", "contains", "else")):
        return False
    if text.startswith("}") or text == "else":
        return False
    return bool(re.match(r"^[A-Za-z_][\w.]*", text))


def removed_prefix(rule: str) -> str:
    if rule in ("violation", "deny", "warn"):
        return ""
    for prefix in ("violation_", "deny_", "warn_"):
        rule = rule.removeprefix(prefix)
    return rule


def conftest_results(namespace: str, rules: list[str], package_value: Any, inp: Input) -> list[Finding]:
    """Findings for one input as conftest computes them: failures, warnings, and exceptions (as waived)."""
    findings: list[Finding] = []
    package_value = package_value if isinstance(package_value, dict) else {}
    exception_sets = package_value.get("exception")
    for rule in rules:
        name = removed_prefix(rule)
        hits = 0
        if isinstance(exception_sets, list):
            hits = sum(1 for entry in exception_sets if isinstance(entry, list) for item in entry if item == name)
        if hits:
            query = f'data.{namespace}.exception[_][_] == "{name}"'
            findings.extend(exception_finding(namespace, rule, query, inp) for _ in range(hits))
            continue
        value = package_value.get(rule)
        if not isinstance(value, list):
            continue
        for item in value:
            message, metadata = _message(item)
            if message is None:
                continue
            entry = REGO_DENY if FAILURE.match(rule) else REGO_WARN
            finding = Finding(rule_id=f"rego:{namespace}.{rule}", severity=entry.severity, message=message,
                              fix="", source=inp.source, index=inp.index, kind=inp.kind,
                              namespace=inp.namespace, name=inp.name)
            if metadata:
                finding.extra = {"metadata": metadata}
            findings.append(finding)
    return findings


def exception_finding(namespace: str, rule: str, query: str, inp: Input) -> Finding:
    """A conftest exception, reported as a waived finding (waived findings are never dropped)."""
    return Finding(rule_id=f"rego:{namespace}.exception", severity=severity_of(rule) if rule else REGO_WARN.severity,
                   message=f"excepted by {query}", source=inp.source, index=inp.index, kind=inp.kind,
                   namespace=inp.namespace, name=inp.name, waived="Rego exception", waived_by=f"data.{namespace}.exception")


def _message(item: Any) -> tuple[str | None, dict[str, Any]]:
    if isinstance(item, str):
        return item, {}
    if isinstance(item, dict):
        msg = item.get("msg")
        if not isinstance(msg, str):
            return f"policy result has no string msg: {item!r}"[:300], {}
        return msg, {k: v for k, v in item.items() if k != "msg"}
    return None, {}


def rules_by_namespace(modules: list[RegoModule], settings: RegoSettings) -> dict[str, list[str]]:
    """namespace -> unique deny/violation/warn rule names, in first-seen order."""
    wanted = None if settings.all_namespaces else set(settings.namespaces)
    out: dict[str, list[str]] = {}
    for module in modules:
        if wanted is not None and module.package not in wanted:
            continue
        names = out.setdefault(module.package, [])
        for rule in module.rule_names:
            if (FAILURE.match(rule) or WARNING.match(rule)) and rule.lower() not in (n.lower() for n in names):
                names.append(rule)
    return out


ENGINES = ("auto", "conftest", "opa", "regopy")


def go_tools_bin() -> Path:
    """Where ci/build-go-tools.sh installs conftest and opa: $TESTBED_CACHE/tools/bin (default ~/.cache/testbed)."""
    return cache_root() / "tools" / "bin"


def engine_binary(name: str) -> str | None:
    """The conftest/opa executable to run: PATH first, else the one ci/build-go-tools.sh built."""
    found = shutil.which(name)
    if found:
        return found
    built = go_tools_bin() / name
    return str(built) if built.is_file() and os.access(built, os.X_OK) else None


def choose_engine(requested: str) -> str:
    """auto: conftest (PATH or go_tools_bin()), else opa, else regopy."""
    if requested == "auto":
        return next((tool for tool in ("conftest", "opa") if engine_binary(tool)), "regopy")
    if requested not in ENGINES:
        raise ConfigError(f"unknown Rego engine {requested!r}; use {', '.join(ENGINES)}", field="rego-engine")
    if requested in ("conftest", "opa") and engine_binary(requested) is None:
        raise MissingTool(f"--rego-engine {requested}: {requested} is not on PATH or in {go_tools_bin()}; build it there with "
                          "ci/build-go-tools.sh, or use --rego-engine regopy (no binary needed)")
    return requested


def error_finding(modules: list[RegoModule], namespace: str, message: str) -> Finding:
    files = sorted({str(m.path) for m in modules if m.package == namespace})
    finding = file_finding(files[0] if files else namespace, REGO_ERROR.id, REGO_ERROR.severity,
                           f"policy package {namespace} ({', '.join(files)}): {message}", fix=REGO_ERROR.fix)
    return finding


def evaluate(inputs: list[Input], settings: RegoSettings) -> tuple[list[Finding], str]:
    """Evaluate user policies over inputs; returns findings and the engine used."""
    modules = load_modules(settings.policy_paths)
    engine = choose_engine(settings.engine)
    namespaces = rules_by_namespace(modules, settings)
    if not namespaces or not inputs:
        return [], engine
    if engine == "conftest":
        from testbed.policy.rego_conftest import evaluate_with_conftest

        return evaluate_with_conftest(modules, namespaces, inputs, settings), engine
    if engine == "opa":
        from testbed.policy.rego_opa import evaluate_with_opa

        return evaluate_with_opa(modules, namespaces, inputs, settings, wanted_rules(namespaces, modules)), engine
    from testbed.policy.rego_isolated import evaluate_isolated

    return evaluate_isolated(modules, namespaces, inputs, settings), engine


def wanted_rules(namespaces: dict[str, list[str]], modules: list[RegoModule]) -> dict[str, list[str]]:
    """Rules to collect per namespace: the deny/violation/warn rules, plus `exception` where defined."""
    return {ns: rules + (["exception"] if defines_exception(ns, modules) else []) for ns, rules in namespaces.items()}


def defines_exception(namespace: str, modules: list[RegoModule]) -> bool:
    return any(m.package == namespace and re.search(r"^exception\b", m.text, re.M) for m in modules)


def severity_of(rule: str) -> Severity:
    return REGO_DENY.severity if FAILURE.match(rule) else REGO_WARN.severity
