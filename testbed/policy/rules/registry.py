"""The rule catalogue: every finding the tool can emit has an entry here.

An entry carries the ID users waive, the severity, a one-line rationale and a fix hint;
the README's rules table is generated from it (`testbed policy --list-rules`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testbed.policy.model import Document, Finding, Severity, finding_for

if TYPE_CHECKING:
    from testbed.policy.settings import PolicySettings

DocCheck = Callable[[Document, "PolicySettings"], Iterable[Finding]]
SetCheck = Callable[[list[Document], "PolicySettings"], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """A catalogue entry."""

    id: str
    severity: Severity
    category: str
    rationale: str
    fix: str

    def at(self, doc: Document, path: str, message: str) -> Finding:
        """A finding of this rule inside `doc`."""
        return finding_for(doc, self.id, self.severity, message, path=path, fix=self.fix)


CATALOGUE: dict[str, Rule] = {}
DOC_CHECKS: list[tuple[tuple[str, ...], DocCheck]] = []
SET_CHECKS: list[tuple[tuple[str, ...], SetCheck]] = []


def rule(id: str, severity: Severity, category: str, rationale: str, fix: str) -> Rule:
    """Declare a catalogue entry (IDs are unique)."""
    if id in CATALOGUE:
        raise ValueError(f"duplicate rule id {id}")
    entry = Rule(id, severity, category, rationale, fix)
    CATALOGUE[id] = entry
    return entry


def per_document(*rules: Rule) -> Callable[[DocCheck], DocCheck]:
    """Register a check run on each document; it may emit findings of `rules`."""

    def register(fn: DocCheck) -> DocCheck:
        DOC_CHECKS.append((tuple(r.id for r in rules), fn))
        return fn

    return register


def across_documents(*rules: Rule) -> Callable[[SetCheck], SetCheck]:
    """Register a check that sees all documents at once."""

    def register(fn: SetCheck) -> SetCheck:
        SET_CHECKS.append((tuple(r.id for r in rules), fn))
        return fn

    return register


def load_builtin_rules() -> None:
    """Import the rule modules so they register themselves (idempotent)."""
    from testbed.policy.rules import (  # noqa: F401
        crossdoc,
        host,
        images,
        metadata,
        probes,
        resources,
        security,
    )


def run_builtin(docs: list[Document], settings: PolicySettings) -> Iterator[Finding]:
    """All enabled built-in checks over `docs`."""
    load_builtin_rules()
    disabled = settings.disabled_rules
    doc_checks = [fn for ids, fn in DOC_CHECKS if not set(ids) <= disabled]
    for doc in docs:
        for fn in doc_checks:
            for f in fn(doc, settings):
                if f.rule_id not in disabled:
                    yield f
    for ids, set_fn in SET_CHECKS:
        if set(ids) <= disabled:
            continue
        for f in set_fn(docs, settings):
            if f.rule_id not in disabled:
                yield f
