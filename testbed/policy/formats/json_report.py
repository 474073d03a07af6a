"""Machine output: one JSON object with the run's context, a summary and every finding."""

from __future__ import annotations

import json

from testbed.policy.model import Report, Severity


def render(report: Report, threshold: Severity | None) -> str:
    data = {
        "version": 1,
        "kubernetes_version": report.k8s_version,
        "documents": report.documents,
        "sources": report.sources,
        "rego_engine": report.rego_engine or None,
        "fail_on": threshold.label if threshold is not None else "never",
        "summary": {**report.counts(), "failing": len(report.failing(threshold))},
        "findings": [f.to_dict() for f in report.findings],
    }
    return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
