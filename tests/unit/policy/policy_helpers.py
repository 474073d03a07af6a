"""Helpers shared by the policy unit tests (a uniquely named module, importable from any test dir)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from testbed.policy.model import Report

CORPUS = Path(__file__).resolve().parents[2] / "corpora" / "policy"
Check = Callable[..., Report]


def good_objects() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((CORPUS / "good").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def rule_ids(report: Report) -> set[str]:
    return {f.rule_id for f in report.findings}
