"""Accepted risks: waivers from object annotations and from owned, expiring waiver files.

A waiver marks findings as waived (they stay in every report). A waiver with no reason is
refused; an expired one is itself a failing finding and waives nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from testbed.errors import ConfigError
from testbed.policy.model import Document, Finding, file_finding, finding_for
from testbed.policy.rules.inputs import WAIVER_EXPIRED, WAIVER_INVALID
from testbed.policy.settings import WAIVE_ANNOTATION

_ENTRY = re.compile(r"^\s*(?P<rule>[A-Za-z0-9_.:*\-]+)\s*(?::\s*(?P<reason>.*\S)?)?\s*$")
_MATCH_KEYS = ("kind", "namespace", "name", "file")


@dataclass(frozen=True)
class FileWaiver:
    """One entry of a waivers file."""

    rule: str
    owner: str
    expires: dt.date
    reason: str
    match: dict[str, str]
    origin: str  # "<file>: waivers[i]"

    def applies(self, finding: Finding) -> bool:
        if not fnmatchcase(finding.rule_id, self.rule):
            return False
        actual = {"kind": finding.kind, "namespace": finding.namespace, "name": finding.name, "file": finding.source}
        return all(fnmatchcase(actual[key], pattern) for key, pattern in self.match.items())


def _date(value: Any, where: str, source: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError("expires must be a date like 2026-12-31", source=source, field=f"{where}.expires")


def load_waiver_file(path: Path) -> list[FileWaiver]:
    """Parse and validate a waivers file; any problem is a ConfigError naming file and field."""
    import yaml

    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read waivers file: {err.strerror or err}", source=source) from err
    except yaml.YAMLError as err:
        raise ConfigError(f"waivers file is not valid YAML: {str(err).splitlines()[0]}", source=source) from err
    if not isinstance(data, dict) or not isinstance(data.get("waivers"), list):
        raise ConfigError("expected a mapping with a 'waivers' list", source=source, field="waivers")
    out: list[FileWaiver] = []
    for i, entry in enumerate(data["waivers"]):
        where = f"waivers[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError("each waiver must be a mapping", source=source, field=where)
        unknown = set(entry) - {"rule", "owner", "expires", "reason", "match"}
        if unknown:
            raise ConfigError(f"unknown field(s) {', '.join(sorted(unknown))}", source=source, field=where)
        for key in ("rule", "owner", "reason"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                what = "a reason" if key == "reason" else f"a non-empty {key}"
                raise ConfigError(f"waiver needs {what}; a waiver without one is refused", source=source,
                                  field=f"{where}.{key}")
        if "expires" not in entry:
            raise ConfigError("waiver needs an expiry date", source=source, field=f"{where}.expires")
        match = entry.get("match") or {}
        if not isinstance(match, dict) or set(match) - set(_MATCH_KEYS) or \
                not all(isinstance(v, str) for v in match.values()):
            raise ConfigError(f"match takes string fields {', '.join(_MATCH_KEYS)}", source=source, field=f"{where}.match")
        out.append(FileWaiver(entry["rule"].strip(), entry["owner"].strip(), _date(entry["expires"], where, source),
                              entry["reason"].strip(), dict(match), f"{source}: {where}"))
    return out


def annotation_waivers(doc: Document) -> tuple[dict[str, str], list[Finding]]:
    """{rule-id: reason} from the object's waive annotation, and findings for malformed entries."""
    raw = doc.annotations.get(WAIVE_ANNOTATION)
    if raw is None:
        return {}, []
    path = f"metadata.annotations.{WAIVE_ANNOTATION}"
    if not isinstance(raw, str):
        return {}, [finding_for(doc, WAIVER_INVALID.id, WAIVER_INVALID.severity, "waive annotation must be a string",
                                path=path, fix=WAIVER_INVALID.fix)]
    waived: dict[str, str] = {}
    problems: list[Finding] = []
    for part in re.split(r"[;\n]", raw):
        if not part.strip():
            continue
        match = _ENTRY.match(part)
        if match is None or not match["reason"]:
            problems.append(finding_for(doc, WAIVER_INVALID.id, WAIVER_INVALID.severity,
                                        f"waiver {part.strip()!r} has no reason; refused", path=path,
                                        fix=WAIVER_INVALID.fix))
            continue
        waived[match["rule"]] = match["reason"]
    return waived, problems


def apply_waivers(findings: list[Finding], docs: list[Document], file_waivers: list[FileWaiver],
                  today: dt.date) -> list[Finding]:
    """Mark waived findings in place; return new findings (expired or invalid waivers)."""
    extra: list[Finding] = []
    by_doc: dict[tuple[str, int, str, str, str], dict[str, str]] = {}
    for doc in docs:
        waived, problems = annotation_waivers(doc)
        extra.extend(problems)
        if waived:
            by_doc[(doc.source, doc.index, doc.kind, doc.namespace, doc.name)] = waived
    active: list[FileWaiver] = []
    for waiver in file_waivers:
        if waiver.expires < today:
            source, _, where = waiver.origin.partition(": ")
            finding = file_finding(source, WAIVER_EXPIRED.id, WAIVER_EXPIRED.severity,
                                   f"waiver for {waiver.rule} (owner {waiver.owner}) expired on {waiver.expires}",
                                   fix=WAIVER_EXPIRED.fix)
            finding.path = where
            extra.append(finding)
        else:
            active.append(waiver)
    for finding in findings:
        if finding.rule_id in (WAIVER_EXPIRED.id, WAIVER_INVALID.id):
            continue
        if finding.index is not None:
            waived = by_doc.get((finding.source, finding.index, finding.kind, finding.namespace, finding.name))
            if waived:
                reason = waived.get(finding.rule_id)
                if reason is None:
                    reason = next((r for pat, r in waived.items() if fnmatchcase(finding.rule_id, pat)), None)
                if reason is not None:
                    finding.waived, finding.waived_by = reason, f"annotation {WAIVE_ANNOTATION}"
                    continue
        for waiver in active:
            if waiver.applies(finding):
                finding.waived = waiver.reason
                finding.waived_by = f"{waiver.origin} (owner {waiver.owner}, expires {waiver.expires})"
                break
    return extra
