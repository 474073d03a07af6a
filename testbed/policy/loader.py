"""Reading manifests safely: bounded size, no binary, duplicate keys reported, alias bombs stopped.

Parsing follows what the API server's YAML path (sigs.k8s.io/yaml) accepts: timestamps stay
strings and mapping keys become strings. Plain renders take the rapidyaml fast path (yaml_fast);
everything else, and every error message, comes from PyYAML's safe loader here. Anything that cannot be read becomes a finding that
names the file; nothing here raises for bad content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from testbed.policy.model import Document, Finding, Severity, file_finding
from testbed.policy.rules.inputs import DUPLICATE_KEY, NOT_OBJECT, PARSE
from testbed.policy.yaml_fast import load_fast

MAX_NESTING = 1000  # libyaml's composer recurses in C: refuse deeper input before it overflows
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DEEP_BLOCK = re.compile(r"^[ \t\-?:]{2000,}", re.M)
_BRACKETS = re.compile(r"[\[\]{}]")


class _ManifestLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that records duplicate keys and alias use instead of silently accepting them."""

    yaml_implicit_resolvers: dict[str, list[Any]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []
        self.alias_hits = 0

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            self.alias_hits += 1
        return super().construct_object(node, deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Keys become strings (as sigs.k8s.io/yaml does); repeated keys are recorded, last one wins."""
        own = {id(key_node) for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge"}
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        seen_own: set[str] = set()
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                if isinstance(key, (list, dict)):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark)
                key = _string_key(key)
            if id(key_node) in own:
                if key in seen_own:
                    self.duplicates.append((key, key_node.start_mark.line + 1))
                seen_own.add(key)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


_ManifestLoader.add_constructor("tag:yaml.org,2002:map", _ManifestLoader.construct_yaml_map)


def _string_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


@dataclass
class Loaded:
    """Documents read from one source and the findings reading them produced."""

    documents: list[Document] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def expanded_size_exceeds(obj: Any, budget: int) -> bool:
    """True when walking `obj` (aliases expanded) visits more than `budget` nodes."""
    stack = [obj]
    while stack:
        item = stack.pop()
        budget -= 1
        if budget < 0:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _nesting_too_deep(text: str) -> bool:
    if _DEEP_BLOCK.search(text):
        return True
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return False
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_NESTING:
            return True
    return False


def read_source(path: Path, max_bytes: int) -> tuple[str | None, Finding | None]:
    """The text of a file, or a finding saying why it is refused."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, file_finding(source, PARSE.id, PARSE.severity,
                                      f"file is {size / 1048576:.1f} MiB, above the {max_bytes / 1048576:.1f} MiB limit",
                                      fix=PARSE.fix)
        raw = path.read_bytes()
    except OSError as err:
        return None, file_finding(source, PARSE.id, PARSE.severity, f"cannot read file: {err.strerror or err}", fix=PARSE.fix)
    if b"\x00" in raw:
        return None, file_finding(source, PARSE.id, PARSE.severity, "file is binary, not YAML", fix=PARSE.fix)
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        return None, file_finding(source, PARSE.id, PARSE.severity,
                                  f"file is not UTF-8 text (byte {err.start})", fix=PARSE.fix)


def load_text(text: str, source: str, *, max_nodes: int, line_offset: int = 0) -> Loaded:
    """Parse a multi-document YAML stream into Documents; problems become findings."""
    out = Loaded()
    if _nesting_too_deep(text):
        out.findings.append(file_finding(source, PARSE.id, PARSE.severity,
                                         f"nesting deeper than {MAX_NESTING} levels", fix=PARSE.fix))
        return out
    fast = load_fast(text)
    if fast is not None:
        for index, (obj, line) in enumerate(fast):
            _add_document(out, obj, source, index, line + line_offset)
        return out
    loader = _ManifestLoader(text)
    index = -1
    try:
        while loader.check_node():
            node = loader.get_node()
            index += 1
            line = node.start_mark.line + 1 + line_offset
            loader.duplicates.clear()
            loader.alias_hits = 0
            obj = loader.construct_document(node)
            out.findings.extend(_duplicate_findings(loader.duplicates, source, index, line_offset))
            if loader.alias_hits and expanded_size_exceeds(obj, max_nodes):
                out.findings.append(_at(source, index, line, PARSE.id, PARSE.severity,
                                        f"document expands to more than {max_nodes} nodes through aliases (YAML bomb?)",
                                        PARSE.fix))
                continue
            _add_document(out, obj, source, index, line)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = mark.line + 1 + line_offset if mark is not None else None
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        out.findings.append(file_finding(source, PARSE.id, PARSE.severity, f"not valid YAML: {problem}",
                                         fix=PARSE.fix, line=line))
    except (RecursionError, MemoryError):
        out.findings.append(file_finding(source, PARSE.id, PARSE.severity, "document is too deeply nested or too large",
                                         fix=PARSE.fix))
    finally:
        loader.dispose()
    return out


def _at(source: str, index: int, line: int, rule_id: str, severity: Severity, message: str, fix: str) -> Finding:
    finding = file_finding(source, rule_id, severity, message, fix=fix, line=line)
    finding.index = index
    return finding


def _duplicate_findings(dups: list[tuple[str, int]], source: str, index: int, offset: int) -> Iterator[Finding]:
    for key, line in dups:
        yield _at(source, index, line + offset, DUPLICATE_KEY.id, DUPLICATE_KEY.severity,
                  f"duplicate key {key!r} at line {line + offset}", DUPLICATE_KEY.fix)


def _add_document(out: Loaded, obj: Any, source: str, index: int, line: int) -> None:
    if obj is None:
        return  # empty document ("---" with nothing after it)
    if not isinstance(obj, dict):
        out.findings.append(_at(source, index, line, NOT_OBJECT.id, NOT_OBJECT.severity,
                                f"document is a {type(obj).__name__}, not a mapping", NOT_OBJECT.fix))
        return
    missing = [k for k in ("apiVersion", "kind") if not isinstance(obj.get(k), str) or not obj.get(k)]
    if missing:
        doc = Document(source, index, obj, line)
        finding = _at(source, index, line, NOT_OBJECT.id, NOT_OBJECT.severity,
                      f"document has no {' or '.join(missing)}", NOT_OBJECT.fix)
        finding.name = doc.name
        out.findings.append(finding)
        return
    if obj.get("kind") == "List" and isinstance(obj.get("items"), list) and obj.get("apiVersion") == "v1":
        for item in obj["items"]:
            _add_document(out, item, source, index, line)
        return
    out.documents.append(Document(source, index, obj, line))


def load_file(path: Path, *, max_bytes: int, max_nodes: int) -> Loaded:
    text, refused = read_source(path, max_bytes)
    if refused is not None or text is None:
        return Loaded(findings=[refused] if refused else [])
    return load_text(text, str(path), max_nodes=max_nodes)
