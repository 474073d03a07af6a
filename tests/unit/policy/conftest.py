"""Fixtures for policy unit tests: the compliant reference objects and a one-call checker."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from policy_helpers import CORPUS, Check, good_objects

from testbed.policy.engine import check_documents
from testbed.policy.model import Document, Report
from testbed.policy.settings import PolicySettings


@pytest.fixture
def corpus() -> Path:
    return CORPUS


@pytest.fixture
def good() -> list[dict[str, Any]]:
    """Fresh deep copies of the compliant corpus objects (tests mutate them)."""
    return copy.deepcopy(good_objects())


@pytest.fixture
def check() -> Check:
    """check(objs, **settings) -> Report; each object becomes document i of 'mem.yaml'."""

    def run(objs: list[dict[str, Any]], **kwargs: Any) -> Report:
        docs = [Document("mem.yaml", i, o) for i, o in enumerate(objs)]
        return check_documents(docs, PolicySettings(**kwargs))

    return run
