"""Plain-dict helpers for Kubernetes API objects: parsing manifests, reading conditions,
comparing content. No client here, so anything may use them without talking to a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from testbed.errors import ConfigError

Obj = dict[str, Any]


def load_manifest(text: str) -> list[Obj]:
    """Parse a multi-document YAML manifest into objects, skipping empty documents."""
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc]
    except yaml.YAMLError as err:
        raise ConfigError(f"manifest is not valid YAML: {err}") from err
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
            raise ConfigError(f"document {index} has no apiVersion/kind", field=f"document[{index}]")
    return docs


def condition_status(obj: Mapping[str, Any] | None, condition: str) -> str | None:
    """The status ("True"/"False"/"Unknown") of one condition in `obj.status.conditions`."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == condition:
            return str(cond.get("status"))
    return None


def desired_state(obj: Mapping[str, Any]) -> Obj:
    """An object without what the server and controllers change on their own (status,
    resourceVersion, managedFields), so two reads compare equal unless its content changed."""
    meta = {
        k: v for k, v in (obj.get("metadata") or {}).items() if k not in ("resourceVersion", "managedFields", "generation")
    }
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def object_label(kind: str, name: str, namespace: str | None = None) -> str:
    """How logs and errors name an object: "Kind ns/name", or "Kind name" when cluster-scoped."""
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def ref_label(ref: Mapping[str, Any]) -> str:
    """`object_label` of a reference (kind, name or selector, namespace); a selector shows as "[selector]"."""
    name = ref.get("name") or f"[{ref.get('selector')}]"
    return object_label(str(ref["kind"]), str(name), ref.get("namespace"))


def manifest_label(obj: Mapping[str, Any]) -> str:
    """`object_label` of a full object, read from its metadata."""
    meta = obj.get("metadata") or {}
    return object_label(str(obj.get("kind")), str(meta.get("name")), meta.get("namespace"))
