"""One policy run: inputs -> documents -> schema, built-in rules, Rego -> waivers -> Report.

Data in, verdict out: this returns a Report; exit codes are decided by the CLI.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from testbed.policy.loader import Loaded, load_file, load_text
from testbed.policy.model import Document, Finding, Report
from testbed.policy.render import Source, collect_sources, kustomize_build
from testbed.policy.settings import PolicySettings


def load_sources(sources: list[Source], settings: PolicySettings) -> Loaded:
    """Read and parse every source; unreadable input becomes findings."""
    total = Loaded()
    for source in sources:
        if source.kustomize:
            text, problem = kustomize_build(source.path)
            if problem is not None or text is None:
                total.findings.extend([problem] if problem else [])
                continue
            loaded = load_text(text, source.label, max_nodes=settings.max_nodes_per_document)
        else:
            loaded = load_file(source.path, max_bytes=settings.max_file_bytes, max_nodes=settings.max_nodes_per_document)
        total.documents.extend(loaded.documents)
        total.findings.extend(loaded.findings)
    return total


def check_documents(docs: list[Document], settings: PolicySettings, *, load_findings: list[Finding] | None = None,
                    sources: list[str] | None = None) -> Report:
    """Run every layer over already-loaded documents."""
    from testbed.policy.rules.registry import CATALOGUE, run_builtin
    from testbed.policy.schema import SchemaStore
    from testbed.policy.validate import check_schemas, load_crd_dirs, register_crds

    findings: list[Finding] = list(load_findings or [])
    store = SchemaStore(settings.k8s_version, strict=settings.strict, schema_locations=settings.schema_locations)
    crd_docs, crd_findings = load_crd_dirs(settings.crd_dirs, max_bytes=settings.max_file_bytes,
                                           max_nodes=settings.max_nodes_per_document)
    findings.extend(crd_findings)
    register_crds(store, crd_docs)
    register_crds(store, docs)
    if settings.run_schema:
        findings.extend(check_schemas(docs, store, missing_is_error=settings.missing_schema_is_error))
    if settings.run_rules:
        findings.extend(run_builtin(docs, settings))
    engine = ""
    if settings.rego.policy_paths:
        from testbed.policy.rego import Input, evaluate

        if settings.rego.combine:
            inputs = [Input("<combined>", None, [{"path": d.source, "contents": d.obj} for d in docs])]
        else:
            inputs = [Input(d.source, d.index, d.obj, d.kind, d.namespace, d.name) for d in docs]
        rego_findings, engine = evaluate(inputs, settings.rego)
        lines = {(d.source, d.index): d.line for d in docs}
        for f in rego_findings:
            if f.index is not None and f.line is None:
                f.line = lines.get((f.source, f.index))
        findings.extend(rego_findings)
    if docs or settings.waiver_files:
        from testbed.policy.waivers import apply_waivers, load_waiver_file

        file_waivers = [w for path in settings.waiver_files for w in load_waiver_file(path)]
        today = dt.date.fromisoformat(settings.today) if settings.today else dt.date.today()
        findings.extend(apply_waivers(findings, docs, file_waivers, today))
    findings.sort(key=lambda f: (f.source, -1 if f.index is None else f.index, f.path, f.rule_id, f.message))
    return Report(
        findings=findings,
        documents=len(docs),
        sources=sources if sources is not None else sorted({d.source for d in docs}),
        k8s_version=store.version_text,
        rego_engine=engine,
        document_index=[(d.source, d.index, d.kind, d.namespace, d.name) for d in docs],
        rules_run=sorted(r for r in CATALOGUE if r not in settings.disabled_rules and _ran(r, settings)),
    )


def _ran(rule_id: str, settings: PolicySettings) -> bool:
    from testbed.policy.rules.registry import CATALOGUE

    category = CATALOGUE[rule_id].category
    if category == "schema":
        return settings.run_schema
    if rule_id in ("REGO-DENY", "REGO-WARN"):
        return False  # documentation entries: user rules report as rego:<package>.<rule>
    if category == "rego":
        return bool(settings.rego.policy_paths)
    if category in ("input", "waiver"):
        return True
    return settings.run_rules


def check_paths(paths: list[Path], settings: PolicySettings) -> Report:
    """The whole run for PATH arguments (files, directories, kustomize directories)."""
    sources = collect_sources(paths)
    loaded = load_sources(sources, settings)
    return check_documents(loaded.documents, settings, load_findings=loaded.findings,
                           sources=[s.label for s in sources])
