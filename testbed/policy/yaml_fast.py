"""A fast path for the common case: plain YAML renders parsed by rapidyaml, typed like PyYAML.

PyYAML spends most of a 1,000-document render building node objects; rapidyaml parses the same
text in C++ in a few milliseconds and the tree is converted here. Anything unusual — anchors,
aliases, tags, merge keys, directives, complex keys, duplicate keys, a parse error — returns None
and the caller uses the reference PyYAML loader, so findings and messages never depend on the path.
Plain scalars are typed with PyYAML's own SafeLoader resolvers (timestamps excepted, as in loader).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml

try:
    import ryml
except ImportError:  # optional accelerator: without it the PyYAML path is used
    ryml = None

_UNUSUAL = re.compile(rb"(?:^|[\s\[\]{},:-])[&*!][^\s,\[\]{}]|<<|^%|^\s*\?(?:\s|$)", re.M)
# Characters where YAML 1.1 (PyYAML) and rapidyaml differ: special line breaks, tabs, controls.
_AMBIGUOUS_CHARS = re.compile("[\t\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_SEPARATOR = re.compile(r"^---", re.M)
_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_NULL, _BOOL, _INT, _FLOAT = (f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float"))
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _Unusual(Exception):
    """The fast path cannot reproduce PyYAML exactly for this input."""


def _resolve(text: str, cache: dict[str, Any]) -> Any:
    if text in cache:
        return cache[text]
    value: Any = text
    if text == "":
        value = None
    else:
        for tag, rx in _RESOLVERS.get(text[0], ()):
            if rx.match(text) and rx.match(text).end() == len(text):  # type: ignore[union-attr]
                if tag == _NULL:
                    value = None
                elif tag == _BOOL:
                    value = _CONSTRUCTOR.construct_yaml_bool(yaml.ScalarNode(tag, text))
                elif tag == _INT:
                    value = _CONSTRUCTOR.construct_yaml_int(yaml.ScalarNode(tag, text))
                elif tag == _FLOAT:
                    value = _CONSTRUCTOR.construct_yaml_float(yaml.ScalarNode(tag, text))
                else:
                    raise _Unusual(tag)
                break
    cache[text] = value
    return value


def _key_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        yield  # stderr is not a real file (e.g. captured): nothing to silence
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def load_fast(text: str) -> list[tuple[Any, int]] | None:
    """[(document, start line)] or None when the reference loader must be used."""
    if ryml is None:
        return None
    if _AMBIGUOUS_CHARS.search(text):
        return None
    data = text.encode("utf-8")
    if _UNUSUAL.search(data):
        return None
    try:
        with _quiet_stderr():  # rapidyaml prints parse errors to fd 2; PyYAML reports them properly instead
            tree = ryml.parse_in_arena(data)
    except Exception:  # noqa: BLE001 - rapidyaml raises its own ExceptionParse/RuntimeError types
        return None
    try:
        docs = _convert_stream(tree)
    except (_Unusual, UnicodeDecodeError, RecursionError):
        return None
    lines = [1]
    newlines = position = 0
    for match in _SEPARATOR.finditer(text):
        newlines += text.count("\n", position, match.start())
        position = match.start()
        lines.append(newlines + 2)
    if text.startswith("---"):
        lines = lines[1:]
    if len(lines) != len(docs):
        lines = [1] * len(docs)
    return [(doc, line) for doc, line in zip(docs, lines)]


def _method(tree: Any, name: str) -> Any:
    """The SWIG built-in for Tree.<name> (skips a Python wrapper layer), else the bound method."""
    raw = getattr(getattr(ryml, "_ryml", None), f"Tree_{name}", None)
    if raw is None:
        return getattr(tree, name)
    return lambda node: raw(tree, node)


def _convert_stream(tree: Any) -> list[Any]:
    none = ryml.NONE
    is_map, is_seq, first, nxt = (_method(tree, n) for n in ("is_map", "is_seq", "first_child", "next_sibling"))
    key_of, val_of, has_val, is_plain, key_plain = (
        _method(tree, n) for n in ("key", "val", "has_val", "is_val_plain", "is_key_plain"))
    cache: dict[str, Any] = {}

    def scalar(node: int) -> Any:
        raw = val_of(node)
        if raw is None:
            return None
        text = bytes(raw).decode("utf-8")
        value = _resolve(text, cache)
        if value is text or isinstance(value, str):
            return text
        return value if is_plain(node) else text

    def convert(node: int) -> Any:
        if is_map(node):
            out: dict[str, Any] = {}
            child = first(node)
            while child != none:
                raw = key_of(child)
                key = bytes(raw).decode("utf-8") if raw is not None else ""
                resolved = _resolve(key, cache)
                if not isinstance(resolved, str) and (raw is None or key_plain(child)):
                    key = _key_text(resolved)
                if key in out:
                    raise _Unusual("duplicate key")
                out[key] = convert(child)
                child = nxt(child)
            return out
        if is_seq(node):
            items: list[Any] = []
            child = first(node)
            while child != none:
                items.append(convert(child))
                child = nxt(child)
            return items
        return scalar(node) if has_val(node) else None

    root = tree.root_id()
    if not tree.is_stream(root):
        return [convert(root)]
    docs: list[Any] = []
    child = first(root)
    while child != none:
        docs.append(convert(child))
        child = nxt(child)
    return docs
