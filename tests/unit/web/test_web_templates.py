"""ELEMENTS.md is the UI suite's contract: it must list every data-testid and error id the templates emit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import testbed.shop.web as web

pytestmark = pytest.mark.unit
HERE = Path(web.__file__).parent


def template_names() -> set[str]:
    names: set[str] = set()
    for path in (HERE / "templates").glob("*.html"):
        text = path.read_text()
        names.update(m for m in re.findall(r'data-testid="([^"{]+)"', text))
        names.update(re.findall(r'(?:field|form)_error\(errors, "[^"]+", "([^"]+)"\)', text))
    return names


def test_every_test_id_in_the_templates_is_documented() -> None:
    documented = set(re.findall(r"`([a-z0-9-]+(?:-\{[a-z]+\})?)`", (HERE / "ELEMENTS.md").read_text()))
    missing = sorted(name for name in template_names() if name not in documented)
    assert missing == []


def test_every_documented_test_id_exists() -> None:
    doc = (HERE / "ELEMENTS.md").read_text()
    rows = re.findall(r"^\| `[^`]+` \| `([a-z0-9-]+)`", doc, flags=re.M)
    assert len(rows) > 100
    emitted = template_names() | {"flash-info", "flash-error"}
    assert sorted(set(rows) - emitted) == []
