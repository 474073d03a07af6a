"""The data every policy layer shares: documents in, findings out.

Kept free of imports from the rest of the package so any layer can use it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    """How bad a finding is; `--fail-on` compares against this order."""

    INFO = 10
    WARNING = 20
    ERROR = 30

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.strip().upper()]


@dataclass(frozen=True)
class Document:
    """One YAML document: where it came from and its parsed content."""

    source: str  # file path, or "<dir> (kustomize)" for a render
    index: int  # 0-based position among the documents of `source`
    obj: dict[str, Any]
    line: int = 1  # 1-based line of the document start in `source`, when known

    @property
    def kind(self) -> str:
        value = self.obj.get("kind")
        return value if isinstance(value, str) else ""

    @property
    def api_version(self) -> str:
        value = self.obj.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        value = self.metadata.get("name")
        return value if isinstance(value, str) else ""

    @property
    def namespace(self) -> str:
        value = self.metadata.get("namespace")
        return value if isinstance(value, str) else ""

    @property
    def annotations(self) -> dict[str, Any]:
        value = self.metadata.get("annotations")
        return value if isinstance(value, dict) else {}


@dataclass
class Finding:
    """One problem: where it is, which rule found it, and how to fix it."""

    rule_id: str
    severity: Severity
    message: str
    fix: str = ""
    source: str = ""
    index: int | None = None  # document index within source; None for file-level findings
    line: int | None = None
    kind: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # path inside the object, e.g. spec.template.spec.containers[0].image
    waived: str | None = None  # reason, when a waiver applies
    waived_by: str = ""  # "annotation" or "<waivers file>: owner=..., expires=..."
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def object_ref(self) -> str:
        if not self.kind and not self.name:
            return ""
        ns = self.namespace or "-"
        return f"{self.kind or '?'}/{ns}/{self.name or '?'}"

    @property
    def location(self) -> str:
        where = self.source or "<input>"
        if self.index is not None:
            where += f"#{self.index}"
        return where

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule": self.rule_id,
            "severity": self.severity.label,
            "message": self.message,
            "fix": self.fix,
            "file": self.source,
            "document": self.index,
            "line": self.line,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "path": self.path,
            "waived": self.waived is not None,
        }
        if self.waived is not None:
            data["waiver"] = {"reason": self.waived, "by": self.waived_by}
        if self.extra:
            data["extra"] = self.extra
        return data


def finding_for(
    doc: Document,
    rule_id: str,
    severity: Severity,
    message: str,
    *,
    path: str = "",
    fix: str = "",
) -> Finding:
    """A finding located at `path` inside `doc`."""
    return Finding(
        rule_id=rule_id,
        severity=severity,
        message=message,
        fix=fix,
        source=doc.source,
        index=doc.index,
        line=doc.line,
        kind=doc.kind,
        namespace=doc.namespace,
        name=doc.name,
        path=path,
    )


def file_finding(source: str, rule_id: str, severity: Severity, message: str, *, fix: str = "", line: int | None = None) -> Finding:
    """A finding about a whole file (it could not be read, parsed or rendered)."""
    return Finding(rule_id=rule_id, severity=severity, message=message, fix=fix, source=source, line=line)


@dataclass
class Report:
    """Everything one policy run found, plus what it looked at."""

    findings: list[Finding]
    documents: int
    sources: list[str]
    k8s_version: str
    rego_engine: str = ""
    document_index: list[tuple[str, int, str, str, str]] = field(default_factory=list)  # (source, index, kind, ns, name)
    rules_run: list[str] = field(default_factory=list)

    def failing(self, threshold: Severity | None) -> list[Finding]:
        """Unwaived findings at or above `threshold` (None: never fail)."""
        if threshold is None:
            return []
        return [f for f in self.findings if f.waived is None and f.severity >= threshold]

    def counts(self) -> dict[str, int]:
        out = {"error": 0, "warning": 0, "info": 0, "waived": 0}
        for f in self.findings:
            if f.waived is not None:
                out["waived"] += 1
            else:
                out[f.severity.label] += 1
        return out
