"""The rule catalogue as documentation: the README's rules table is this function's output."""

from __future__ import annotations


def markdown_table() -> str:
    from testbed.policy.rules.registry import CATALOGUE, load_builtin_rules

    load_builtin_rules()
    import testbed.policy.rules.inputs  # noqa: F401  (registers input/schema/waiver/rego entries)

    lines = ["| ID | Severity | Category | Rationale | Fix |", "|---|---|---|---|---|"]
    for entry in CATALOGUE.values():
        lines.append(f"| `{entry.id}` | {entry.severity.label} | {entry.category} | {entry.rationale} | {entry.fix} |")
    return "\n".join(lines)
