"""Human output: findings grouped by file and object, coloured on a terminal."""

from __future__ import annotations

from itertools import groupby

from testbed.policy.model import Finding, Report, Severity

_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}


def _style(text: str, color: bool, **kwargs: object) -> str:
    if not color:
        return text
    import click

    return click.style(text, **kwargs)  # type: ignore[arg-type]


def render(report: Report, threshold: Severity | None, *, color: bool = False) -> str:
    lines: list[str] = []
    for source, in_file in groupby(report.findings, key=lambda f: f.source):
        lines.append(_style(source or "<input>", color, bold=True))
        for _, in_doc in groupby(in_file, key=lambda f: (f.index, f.object_ref)):
            items = list(in_doc)
            first = items[0]
            if first.index is not None:
                head = f"  document {first.index}" + (f" (line {first.line})" if first.line else "")
                lines.append(head + (f"  {first.object_ref}" if first.object_ref else ""))
            for f in items:
                lines.extend(_finding_lines(f, color, threshold))
    counts = report.counts()
    failing = len(report.failing(threshold))
    summary = (f"{report.documents} documents in {len(report.sources)} sources, Kubernetes {report.k8s_version}"
               f"{', rego: ' + report.rego_engine if report.rego_engine else ''}: "
               f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} info, {counts['waived']} waived")
    verdict = "FAIL" if failing else "PASS"
    threshold_text = threshold.label if threshold is not None else "never"
    lines.append("")
    lines.append(summary)
    lines.append(_style(f"{verdict} ({failing} findings at or above --fail-on {threshold_text})", color,
                        fg="red" if failing else "green", bold=True))
    return "\n".join(lines) + "\n"


def _finding_lines(f: Finding, color: bool, threshold: Severity | None) -> list[str]:
    label = f.severity.label.upper()
    if f.waived is not None:
        tag = _style(f"WAIVED {label}", color, fg="cyan")
    else:
        tag = _style(label, color, fg=_COLOURS[f.severity], bold=threshold is not None and f.severity >= threshold)
    where = f" at {f.path}" if f.path else (f" (line {f.line})" if f.index is None and f.line else "")
    out = [f"    {tag} [{f.rule_id}]{where}: {f.message}"]
    if f.waived is not None:
        out.append(f"        waived: {f.waived} ({f.waived_by})")
    elif f.fix:
        out.append(f"        fix: {f.fix}")
    return out
