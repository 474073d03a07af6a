"""The rule catalogue as documentation: the README's rules table is this function's output."""

from __future__ import annotations


CATEGORY_ORDER = ("input", "schema", "images", "resources", "probes", "security", "host", "labels", "secrets",
                  "termination", "cross-document", "waiver", "rego")


def markdown_table() -> str:
    from testbed.policy.rules.registry import CATALOGUE, load_builtin_rules

    load_builtin_rules()
    import testbed.policy.rules.inputs  # noqa: F401  (registers input/schema/waiver/rego entries)

    lines = ["| ID | Severity | Category | Rationale | Fix |", "|---|---|---|---|---|"]
    for entry in sorted(CATALOGUE.values(), key=lambda e: (CATEGORY_ORDER.index(e.category), e.id)):
        lines.append(f"| `{entry.id}` | {entry.severity.label} | {entry.category} | {entry.rationale} | {entry.fix} |")
    return "\n".join(lines)
