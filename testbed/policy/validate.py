"""Schema findings for documents: API lifecycle, missing schemas, and strict OpenAPI validation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from testbed.errors import ConfigError
from testbed.policy.crd import crd_versions, to_json_schema
from testbed.policy.deprecations import lifecycle
from testbed.policy.model import Document, Finding, Severity
from testbed.policy.rules.inputs import API_DEPRECATED, API_REMOVED, SCHEMA, SCHEMA_MISSING
from testbed.policy.schema import SchemaStore, UnusableSchema

MAX_ERRORS_PER_DOCUMENT = 20
MAX_MESSAGE = 300


def register_crds(store: SchemaStore, docs: Iterable[Document]) -> None:
    for doc in docs:
        for api_version, kind, openapi in crd_versions(doc):
            store.add_custom(api_version, kind, to_json_schema(openapi, strict=store.strict))


def format_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _errors(validator: Any, doc: Document) -> Iterator[tuple[str, str]]:
    for count, err in enumerate(validator.iter_errors(doc.obj)):
        if count >= MAX_ERRORS_PER_DOCUMENT:
            yield "", f"more than {MAX_ERRORS_PER_DOCUMENT} schema errors; showing the first {MAX_ERRORS_PER_DOCUMENT}"
            return
        base = list(err.instance_path)
        kind = err.kind
        name = getattr(kind, "name", "")
        if name == "additionalProperties":
            for key in getattr(kind, "unexpected", []) or []:
                yield format_path([*base, key]), f"unknown field {key!r}"
            continue
        if name == "required":
            prop = getattr(kind, "property", "")
            yield format_path([*base, prop]), f"missing required field {prop!r}"
            continue
        message = err.message
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE] + "…"
        yield format_path(base), message


def check_schemas(docs: Iterable[Document], store: SchemaStore, *, missing_is_error: bool) -> Iterator[Finding]:
    for doc in docs:
        state = lifecycle(doc.api_version, doc.kind, store.version)
        if state is not None:
            status, entry = state
            rule = API_REMOVED if status == "removed" else API_DEPRECATED
            when = entry.removed_in if status == "removed" else entry.deprecated_in
            assert when is not None
            yield rule.at(doc, "apiVersion",
                          f"{doc.api_version} {doc.kind} is {status} in Kubernetes {when[0]}.{when[1]} "
                          f"(target {store.version_text}); use {entry.replacement}")
            if status == "removed":
                continue
        validator = store.validator(doc.api_version, doc.kind)
        if validator is None:
            finding = SCHEMA_MISSING.at(doc, "", f"no schema for {doc.api_version} {doc.kind} "
                                        f"(Kubernetes {store.version_text}, CRDs, --schema-location)")
            if not missing_is_error:
                finding.severity = Severity.INFO
            yield finding
            continue
        if isinstance(validator, UnusableSchema):
            yield SCHEMA.at(doc, "", f"the schema for {doc.api_version} {doc.kind} cannot be used: {validator.reason}")
            continue
        try:
            for path, message in _errors(validator, doc):
                yield SCHEMA.at(doc, path, message)
        except ValueError as err:
            yield SCHEMA.at(doc, "", f"schema validation failed: {str(err).splitlines()[0][:300]}")


def load_crd_dirs(paths: Iterable[Path], *, max_bytes: int, max_nodes: int) -> tuple[list[Document], list[Finding]]:
    """CRD documents from --crd-dir paths (files or directories of YAML)."""
    from testbed.policy.loader import load_file
    from testbed.policy.render import yaml_files

    docs: list[Document] = []
    findings: list[Finding] = []
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path}: no such CRD file or directory", field="crd-dir")
        for file in yaml_files(path):
            loaded = load_file(file, max_bytes=max_bytes, max_nodes=max_nodes)
            docs.extend(d for d in loaded.documents if d.kind == "CustomResourceDefinition")
            findings.extend(loaded.findings)
    return docs, findings
