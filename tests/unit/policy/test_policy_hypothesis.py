"""Property: whatever the input, the result is findings or a clean error, never a crash."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_helpers import good_objects

from testbed import errors
from testbed.policy.engine import check_documents
from testbed.policy.formats import render
from testbed.policy.loader import load_text
from testbed.policy.model import Document, Severity
from testbed.policy.settings import PolicySettings

pytestmark = pytest.mark.unit

GOOD = good_objects()
SETTINGS = PolicySettings()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.extend(paths(value, (*prefix, key)))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out.extend(paths(value, (*prefix, i)))
    return out


ALL_PATHS = [(i, p) for i, obj in enumerate(GOOD) for p in paths(obj)]


def replace(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def assert_no_crash(docs: list[Document]) -> None:
    try:
        report = check_documents(docs, SETTINGS)
    except errors.TestbedError:
        return  # a clean error is an acceptable outcome
    for fmt in ("text", "json", "junit", "sarif"):
        render(fmt, report, Severity.ERROR)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), json_values), min_size=1, max_size=5))
def test_corrupted_fields_give_findings_not_crashes(mutations: list[tuple[tuple[int, tuple[Any, ...]], Any]]) -> None:
    objs = copy.deepcopy(GOOD)
    for (index, path), value in mutations:
        try:
            replace(objs[index], path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the parent
    assert_no_crash([Document("h.yaml", i, o) for i, o in enumerate(objs) if isinstance(o, dict)])


KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service", "HorizontalPodAutoscaler",
         "PodDisruptionBudget", "NetworkPolicy", "Secret", "CustomResourceDefinition", "List", "Unknown"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({"apiVersion": st.sampled_from(["v1", "apps/v1", "batch/v1", "x/v1"]),
                                       "kind": st.sampled_from(KINDS)},
                                      optional={"metadata": json_values, "spec": json_values, "data": json_values,
                                                "template": json_values}), max_size=5))
def test_random_objects_give_findings_not_crashes(objs: list[dict[str, Any]]) -> None:
    assert_no_crash([Document("h.yaml", i, o) for i, o in enumerate(objs)])


yaml_fragments = st.lists(st.sampled_from(
    ["a:", " b", "- ", "&x ", "*x", "!!str ", "!!binary ", "{", "}", "[", "]", ",", ":", "---\n", "...\n", "\n",
     "  ", "\t", "'", '"', "? ", "|\n  ", ">-\n", "%YAML 1.2\n", "<<: *x\n", "kind: Pod\n", "apiVersion: v1\n",
     "\x00", "\ufeff", "#c\n", "1e3", "0x1F", "~", "yes", "2024-01-01"]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(yaml_fragments, st.text(max_size=200)))
def test_malformed_yaml_gives_findings_not_crashes(text: str) -> None:
    loaded = load_text(text, "fuzz.yaml", max_nodes=10_000)
    for f in loaded.findings:
        assert f.source == "fuzz.yaml" and f.rule_id.startswith("TB-")
    assert_no_crash(loaded.documents)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_any_yaml_document_shape_is_handled(value: Any) -> None:
    text = yaml.safe_dump(value) if value is not None else ""
    loaded = load_text(text, "shape.yaml", max_nodes=10_000)
    assert_no_crash(loaded.documents)


# Differential: the rapidyaml fast path must produce exactly what the PyYAML reference produces.
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(allow_nan=False), st.text(max_size=12),
    st.sampled_from(["yes", "No", "on", "OFF", "~", "null", "0x1F", "0o17", "017", "1_000", "1e3", "1.5e3", ".inf",
                     "-.Inf", ".nan", "2024-01-01", "12:30:45", "+1", "0", "-0", "1:20", "true", "y", "n", " x ", "a: b",
                     "- x", "#c", "x #c", "'q'", '"dq"', "multi\nline", "trailing\n", "tab\there", "é", "\u2028"]),
)
documents = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(
    st.one_of(st.text(max_size=8), st.sampled_from(["1", "true", "yes", "null", "0x10", "1.0", "~"])), c, max_size=4),
    max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(st.lists(documents, min_size=1, max_size=3), st.booleans(), st.sampled_from([None, 1, 2]))
def test_fast_path_matches_reference_loader(docs: list[Any], flow: bool, explicit_start: int | None) -> None:
    from testbed.policy import yaml_fast
    from testbed.policy.loader import _ManifestLoader

    text = yaml.safe_dump_all(docs, default_flow_style=flow, explicit_start=bool(explicit_start), allow_unicode=True)
    fast = yaml_fast.load_fast(text)
    if fast is None:
        return  # the fast path declined; the reference path is used
    reference = list(yaml.load_all(text, Loader=_ManifestLoader))
    assert [obj for obj, _ in fast] == reference
