"""Writes the schemas we validate with in kubeconform's standalone layout (every $ref inlined).

Used to run kubeconform on exactly the same schemas, for the agreement test and the benchmark:
<root>/v<version>.0-standalone[-strict]/<kind><kind-suffix>.json
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from testbed.policy.schema import _schema_root, parse_version, split_api_version

TEMPLATE = "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"


def schema_file_name(api_version: str, kind: str) -> str:
    group, version = split_api_version(api_version)
    return f"{kind.lower()}{'-' + group.split('.')[0] if group else ''}-{version}.json"


def export_standalone(kinds: Iterable[tuple[str, str]], root: Path, k8s_version: str, *, strict: bool = True) -> str:
    """Write standalone schemas for (apiVersion, kind) pairs; returns kubeconform's -schema-location."""
    major, minor = parse_version(k8s_version)
    suffix = "-strict" if strict else ""
    src = _schema_root() / f"v{major}.{minor}.0-local{suffix}"
    dest = root / f"v{major}.{minor}.0-standalone{suffix}"
    dest.mkdir(parents=True, exist_ok=True)
    defs = json.loads((src / "_definitions.json").read_text(encoding="utf-8"))["$defs"]

    def inline(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and "#/$defs/" in ref:
            name = ref.split("#/$defs/", 1)[1]
            if name in stack:
                return {}  # a recursive type: accept anything below this point
            merged = {k: v for k, v in node.items() if k != "$ref"}
            merged.update(inline(defs[name], (*stack, name)))
            return merged
        return {k: inline(v, stack) for k, v in node.items()}

    for api_version, kind in set(kinds):
        name = schema_file_name(api_version, kind)
        if (src / name).is_file():
            schema = inline(json.loads((src / name).read_text(encoding="utf-8")), ())
            (dest / name).write_text(json.dumps(schema), encoding="utf-8")
    return f"{root}/{TEMPLATE}"
