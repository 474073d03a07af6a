"""Report renderers: name -> "module:function"; each takes (report, threshold) and returns text."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from testbed.policy.model import Report, Severity

FORMATS: dict[str, str] = {
    "text": "testbed.policy.formats.text:render",
    "json": "testbed.policy.formats.json_report:render",
    "junit": "testbed.policy.formats.junit:render",
    "sarif": "testbed.policy.formats.sarif:render",
}

Renderer = Callable[..., str]


def renderer(name: str) -> Renderer:
    module, attr = FORMATS[name].split(":")
    fn: Renderer = getattr(importlib.import_module(module), attr)
    return fn


def render(name: str, report: Report, threshold: Severity | None, *, color: bool = False) -> str:
    fn = renderer(name)
    return fn(report, threshold, color=color) if name == "text" else fn(report, threshold)
