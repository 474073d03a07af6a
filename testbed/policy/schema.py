"""Finds and compiles the schema for each (apiVersion, kind), once per run, only for kinds present.

Sources, most specific first: CRDs (in the render or --crd-dir), kubeconform-style
--schema-location templates (local files only: the check is offline), then the Kubernetes
OpenAPI schemas shipped by kubernetes-validate for the chosen version. Compiling is done with
jsonschema-rs and cached per kind, so 1,000 Deployments compile one validator.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from testbed.errors import ConfigError

_BUILTIN_GROUP = re.compile(r"^([a-z0-9-]+|[a-z0-9.-]+\.k8s\.io)$")
_TEMPLATE_VAR = re.compile(r"{{\s*\.(\w+)\s*}}")
_DEFS_URI = "file:///api/_definitions.json"


@lru_cache(maxsize=1)
def _schema_root() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("kubernetes-validate is not installed; install the testbed package with its dependencies")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


def available_versions() -> list[tuple[int, int]]:
    found = set()
    for entry in _schema_root().iterdir():
        match = re.match(r"^v(\d+)\.(\d+)\.\d+-local$", entry.name)
        if match:
            found.add((int(match[1]), int(match[2])))
    return sorted(found)


def parse_version(text: str) -> tuple[int, int]:
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.\d+)?$", text.strip())
    if match is None:
        raise ConfigError(f"--k8s-version {text!r} is not a version like 1.33", field="k8s-version")
    return int(match[1]), int(match[2])


def split_api_version(api_version: str) -> tuple[str, str]:
    """('apps', 'v1') for apps/v1; ('', 'v1') for the core group."""
    group, _, version = api_version.rpartition("/")
    return group, version


class UnusableSchema:
    """A schema was found for the kind but cannot be compiled; validation reports why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class SchemaStore:
    """Validators by (apiVersion, kind), compiled on first use."""

    def __init__(self, k8s_version: str, *, strict: bool = True, schema_locations: tuple[str, ...] = ()) -> None:
        self.version = parse_version(k8s_version)
        versions = available_versions()
        if not versions or self.version < versions[0] or self.version > versions[-1]:
            shown = f"{versions[0][0]}.{versions[0][1]}–{versions[-1][0]}.{versions[-1][1]}" if versions else "none"
            raise ConfigError(f"no schemas for Kubernetes {k8s_version}; available: {shown}", field="k8s-version")
        self.strict = strict
        self._dir = _schema_root() / f"v{self.version[0]}.{self.version[1]}.0-local{'-strict' if strict else ''}"
        self._registry: Any = None
        self._validators: dict[tuple[str, str], Any] = {}
        self._custom: dict[tuple[str, str], dict[str, Any]] = {}
        self._locations = tuple(self._check_location(loc) for loc in schema_locations)

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @staticmethod
    def _check_location(location: str) -> str:
        if location.startswith(("http://", "https://")):
            raise ConfigError(f"schema location {location!r}: only local paths are supported (the check runs offline)",
                              field="schema-location")
        return location.removeprefix("file://")

    def add_custom(self, api_version: str, kind: str, schema: dict[str, Any]) -> None:
        """Register a schema for a custom resource (from a CRD); it wins over other sources."""
        self._custom[(api_version, kind)] = schema
        self._validators.pop((api_version, kind), None)

    def has_custom(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self._custom

    def validator(self, api_version: str, kind: str) -> Any | None:
        """The compiled validator, None when no source has a schema, or UnusableSchema."""
        key = (api_version, kind)
        if key in self._validators:
            return self._validators[key]
        try:
            validator = self._compile(api_version, kind)
        except ValueError as err:  # jsonschema-rs reports invalid schemas (e.g. from a CRD) as ValueError
            validator = UnusableSchema(str(err).splitlines()[0][:300])
        self._validators[key] = validator
        return validator

    def _compile(self, api_version: str, kind: str) -> Any | None:
        custom = self._custom.get((api_version, kind))
        if custom is not None:
            return jsonschema_rs.Draft4Validator(custom)
        for location in self._locations:
            path = self._render_location(location, api_version, kind)
            if path is not None and path.is_file():
                try:
                    schema = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as err:
                    raise ConfigError(f"schema {path} is not readable JSON: {err}", field="schema-location") from err
                return jsonschema_rs.validator_for(schema, base_uri=path.resolve().as_uri())
        return self._builtin(api_version, kind)

    def _render_location(self, template: str, api_version: str, kind: str) -> Path | None:
        if template == "default":
            return None
        group, version = split_api_version(api_version)
        values = {
            "NormalizedKubernetesVersion": f"v{self.version_text}.0",
            "StrictSuffix": "-strict" if self.strict else "",
            "ResourceKind": kind.lower(),
            "ResourceAPIVersion": version,
            "Group": group,
            "KindSuffix": f"-{group.split('.')[0]}-{version}" if group else f"-{version}",
        }
        return Path(_TEMPLATE_VAR.sub(lambda m: values.get(m[1], m[0]), template))

    def _builtin(self, api_version: str, kind: str) -> Any | None:
        group, version = split_api_version(api_version)
        if group and not _BUILTIN_GROUP.match(group):
            return None
        prefix = f"-{group.split('.')[0]}" if group else ""
        path = self._dir / f"{kind.lower()}{prefix}-{version}.json"
        if not path.is_file():
            return None
        schema = json.loads(path.read_text(encoding="utf-8"))
        kinds = schema.get("properties", {}).get("kind", {}).get("enum")
        if kinds and kind not in kinds:
            return None  # a case-insensitive file-name match on a different kind
        return jsonschema_rs.validator_for(schema, registry=self._definitions(), base_uri=f"file:///api/{path.name}")

    def _definitions(self) -> Any:
        if self._registry is None:
            defs = json.loads((self._dir / "_definitions.json").read_text(encoding="utf-8"))
            self._registry = jsonschema_rs.Registry([(_DEFS_URI, defs)])
        return self._registry
