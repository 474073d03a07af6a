"""JUnit XML: one testcase per document x rule, so CI dashboards show what passed as well as what failed.

File-level problems (parse, render, expired waivers) are testcases of their file.
"""

from __future__ import annotations

from collections import defaultdict
from xml.sax.saxutils import escape, quoteattr

from testbed.policy.model import Finding, Report, Severity


def render(report: Report, threshold: Severity | None) -> str:
    by_doc: dict[tuple[str, int | None], dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in report.findings:
        by_doc[(f.source, f.index)][f.rule_id].append(f)
    rule_ids = list(report.rules_run)
    extra_rules = sorted({f.rule_id for f in report.findings if f.rule_id not in report.rules_run})
    cases: list[str] = []
    failures = skipped = 0
    seen_docs: set[tuple[str, int | None]] = set()
    for source, index, kind, namespace, name in report.document_index:
        key = (source, index)
        if key in seen_docs:
            continue
        seen_docs.add(key)
        classname = f"{source}#{index} {kind}/{namespace or '-'}/{name}"
        for rule_id in rule_ids + [r for r in extra_rules if r in by_doc[key]]:
            case, failed, waived = _case(classname, rule_id, by_doc[key].get(rule_id, []), threshold)
            cases.append(case)
            failures += failed
            skipped += waived
    for key, rules in by_doc.items():
        if key in seen_docs:
            continue
        source, index = key
        classname = f"{source}" + (f"#{index}" if index is not None else "")
        for rule_id, items in sorted(rules.items()):
            case, failed, waived = _case(classname, rule_id, items, threshold)
            cases.append(case)
            failures += failed
            skipped += waived
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="testbed-policy">\n'
            f'  <testsuite name="policy" tests="{len(cases)}" failures="{failures}" errors="0" skipped="{skipped}">\n')
    return head + "".join(cases) + "  </testsuite>\n</testsuites>\n"


def _case(classname: str, rule_id: str, items: list[Finding], threshold: Severity | None) -> tuple[str, int, int]:
    attrs = f"classname={quoteattr(classname)} name={quoteattr(rule_id)}"
    if not items:
        return f"    <testcase {attrs}/>\n", 0, 0
    failing = [f for f in items if f.waived is None and threshold is not None and f.severity >= threshold]
    waived = [f for f in items if f.waived is not None]
    text = "\n".join(f"{f.severity.label} {f.path or '-'}: {f.message}" +
                     (f" (waived: {f.waived})" if f.waived is not None else f" (fix: {f.fix})" if f.fix else "")
                     for f in items)
    if failing:
        body = f"      <failure message={quoteattr(failing[0].message)} type={quoteattr(rule_id)}>{escape(text)}</failure>\n"
        return f"    <testcase {attrs}>\n{body}    </testcase>\n", 1, 0
    if waived and len(waived) == len(items):
        body = f"      <skipped message={quoteattr('waived: ' + (waived[0].waived or ''))}/>\n"
        return f"    <testcase {attrs}>\n{body}    </testcase>\n", 0, 1
    body = f"      <system-out>{escape(text)}</system-out>\n"
    return f"    <testcase {attrs}>\n{body}    </testcase>\n", 0, 0
