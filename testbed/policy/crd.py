"""Turning CustomResourceDefinition openAPIV3Schema into strict JSON Schema for custom resources.

OpenAPI v3 structural schemas differ from JSON Schema in `nullable`, `x-kubernetes-int-or-string`
and `x-kubernetes-preserve-unknown-fields`; strict mode closes objects that declare properties,
as the API server prunes (and kubectl --validate=strict rejects) unknown fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from testbed.policy.model import Document

_META_PROPS = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"type": "object"},
}


def crd_versions(doc: Document) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(apiVersion, kind, openAPIV3Schema) for each served version of a CRD document."""
    if doc.kind != "CustomResourceDefinition" or not doc.api_version.startswith("apiextensions.k8s.io/"):
        return
    spec = doc.obj.get("spec")
    if not isinstance(spec, dict):
        return
    group = spec.get("group")
    names = spec.get("names")
    kind = names.get("kind") if isinstance(names, dict) else None
    versions = spec.get("versions")
    if not isinstance(group, str) or not isinstance(kind, str) or not isinstance(versions, list):
        return
    for version in versions:
        if not isinstance(version, dict) or not isinstance(version.get("name"), str):
            continue
        schema = version.get("schema")
        openapi = schema.get("openAPIV3Schema") if isinstance(schema, dict) else None
        if isinstance(openapi, dict):
            yield f"{group}/{version['name']}", kind, openapi


def to_json_schema(openapi: dict[str, Any], *, strict: bool) -> dict[str, Any]:
    """A draft-4 JSON Schema for the whole custom resource."""
    root = _convert(openapi, strict=strict)
    props = dict(root.get("properties") or {})
    for key, value in _META_PROPS.items():
        props.setdefault(key, value)
    root["properties"] = props
    root.setdefault("type", "object")
    return root


def _convert(node: Any, *, strict: bool) -> Any:
    if isinstance(node, list):
        return [_convert(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: _convert(v, strict=strict) for k, v in value.items()} if isinstance(value, dict) else value
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = _convert(value, strict=strict)
        elif key.startswith("x-kubernetes-") or key in ("nullable", "example", "externalDocs"):
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-embedded-resource") and isinstance(out.get("properties"), dict):
        for key, value in _META_PROPS.items():
            out["properties"].setdefault(key, value)
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if strict and not preserve and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out
