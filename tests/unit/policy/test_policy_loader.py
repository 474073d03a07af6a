"""Bad input gives findings naming the file, never a traceback or a hang."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from policy_helpers import CORPUS

from testbed.policy.engine import check_paths
from testbed.policy.loader import load_file, load_text
from testbed.policy.settings import PolicySettings

pytestmark = pytest.mark.unit

BAD = CORPUS / "bad-input"


def load(text: str, max_nodes: int = 10_000):  # type: ignore[no-untyped-def]
    return load_text(text, "t.yaml", max_nodes=max_nodes)


def only(findings, rule: str):  # type: ignore[no-untyped-def]
    return [f for f in findings if f.rule_id == rule]


def test_duplicate_keys_are_reported_with_line() -> None:
    loaded = load_file(BAD / "duplicate-key.yaml", max_bytes=1 << 20, max_nodes=10_000)
    (finding,) = only(loaded.findings, "TB-DUPLICATE-KEY")
    assert "'mode'" in finding.message and finding.line == 8 and finding.index == 0
    assert len(loaded.documents) == 1


def test_yaml_bomb_is_stopped_quickly() -> None:
    started = time.monotonic()
    loaded = load_file(BAD / "bomb.yaml", max_bytes=1 << 20, max_nodes=200_000)
    assert time.monotonic() - started < 5
    assert loaded.documents == []
    assert "YAML bomb" in only(loaded.findings, "TB-PARSE")[0].message


def test_recursive_alias_is_stopped() -> None:
    loaded = load("apiVersion: v1\nkind: ConfigMap\ndata: &a {x: *a}\n")
    assert loaded.documents == [] and only(loaded.findings, "TB-PARSE")


def test_harmless_aliases_are_fine() -> None:
    loaded = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {x: y}, annotations: *l}\n")
    assert loaded.findings == [] and loaded.documents[0].obj["metadata"]["annotations"] == {"x": "y"}


@pytest.mark.parametrize("text", ["[" * 100_000, "- " * 100_000 + "x", "{a: " * 50_000])
def test_deep_nesting_is_refused_not_crashing(text: str) -> None:
    loaded = load(text)
    assert only(loaded.findings, "TB-PARSE")


def test_invalid_yaml_names_line_and_keeps_earlier_documents() -> None:
    loaded = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nfoo: [1, 2\n")
    assert len(loaded.documents) == 1
    (finding,) = only(loaded.findings, "TB-PARSE")
    assert finding.source == "t.yaml" and finding.line is not None and "not valid YAML" in finding.message


def test_not_a_mapping_and_missing_kind() -> None:
    loaded = load("- 1\n- 2\n---\nplain\n---\napiVersion: v1\nmetadata: {name: x}\n---\n")
    assert [f.index for f in only(loaded.findings, "TB-NOT-OBJECT")] == [0, 1, 2]
    assert loaded.documents == []


def test_timestamps_stay_strings_and_keys_become_strings() -> None:
    loaded = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {when: 2024-01-01, 1: one, true: t}\n")
    assert loaded.documents[0].obj["data"] == {"when": "2024-01-01", "1": "one", "true": "t"}


def test_list_kind_is_expanded() -> None:
    loaded = load("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
                  "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n")
    assert [d.name for d in loaded.documents] == ["a", "b"]


def test_unsafe_tags_are_refused() -> None:
    loaded = load("!!python/object/apply:os.system ['true']\n")
    assert only(loaded.findings, "TB-PARSE") and loaded.documents == []


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.yaml"
    path.write_bytes(bytes(range(256)) * 10)
    loaded = load_file(path, max_bytes=1 << 20, max_nodes=10_000)
    assert "binary" in only(loaded.findings, "TB-PARSE")[0].message


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert "UTF-8" in only(load_file(path, max_bytes=1 << 20, max_nodes=10).findings, "TB-PARSE")[0].message


def test_oversized_file_is_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # a sparse 50 MB file
    started = time.monotonic()
    loaded = load_file(path, max_bytes=10 * 1024 * 1024, max_nodes=10)
    assert time.monotonic() - started < 1
    assert "50.0 MiB" in only(loaded.findings, "TB-PARSE")[0].message


def test_bad_input_directory_gives_one_finding_per_problem() -> None:
    report = check_paths([BAD], PolicySettings())
    by_file = {(Path(f.source).name, f.rule_id) for f in report.findings}
    assert ("not-yaml.yaml", "TB-PARSE") in by_file
    assert ("scalar.yaml", "TB-NOT-OBJECT") in by_file
    assert ("duplicate-key.yaml", "TB-DUPLICATE-KEY") in by_file
    assert ("unknown-kind.yaml", "TB-SCHEMA-MISSING") in by_file
    assert ("missing-kind.yaml", "TB-NOT-OBJECT") in by_file
    assert ("bomb.yaml", "TB-PARSE") in by_file


def test_merge_keys_override_without_duplicate_findings() -> None:
    loaded = load("base: &b {a: 1, b: 2}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n"
                  "data:\n  <<: *b\n  a: 3\n")
    assert loaded.findings == []
    assert loaded.documents[0].obj["data"] == {"a": 3, "b": 2}


def test_same_key_as_int_and_string_is_a_duplicate() -> None:
    loaded = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata: {1: a, '1': b}\n")
    assert only(loaded.findings, "TB-DUPLICATE-KEY")
