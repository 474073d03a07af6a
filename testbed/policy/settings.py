"""What a policy run is configured with; one frozen tree built by the CLI or the suite.

Defaults encode the testbed's own conventions (documented in the README).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from testbed.policy.model import Severity

DEFAULT_K8S_VERSION = "1.33"
DEFAULT_REQUIRED_LABELS: tuple[str, ...] = ("app.kubernetes.io/name", "app.kubernetes.io/part-of")
DEFAULT_ALLOWED_REGISTRIES: tuple[str, ...] = (
    "docker.io",
    "registry.k8s.io",
    "ghcr.io",
    "quay.io",
    "localhost",
)
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_NODES_PER_DOCUMENT = 200_000
WAIVE_ANNOTATION = "testbed.io/waive"


@dataclass(frozen=True)
class RegoSettings:
    """User Rego policies, conftest-compatible."""

    policy_paths: tuple[Path, ...] = ()
    """Files or directories of .rego modules (tests `*_test.rego` are skipped, as conftest does)."""
    namespaces: tuple[str, ...] = ("main",)
    """Packages whose deny/violation/warn rules are evaluated (conftest `--namespace`)."""
    all_namespaces: bool = False
    """Evaluate every package found (conftest `--all-namespaces`)."""
    combine: bool = False
    """Give all documents to the policies as one input list of {path, contents} (conftest `--combine`)."""
    engine: str = "auto"
    """auto (conftest, else opa, on PATH or in $TESTBED_CACHE/tools/bin; else regopy), conftest, opa or regopy."""
    timeout_s: float = 120.0
    """Bound on one evaluation process."""


@dataclass(frozen=True)
class PolicySettings:
    """Everything that changes what a run checks and how strictly."""

    k8s_version: str = DEFAULT_K8S_VERSION
    """Kubernetes minor version whose OpenAPI schemas and API removals apply."""
    strict: bool = True
    """Unknown fields are errors."""
    missing_schema_is_error: bool = True
    """A document whose kind has no schema is an error; False reports it as info."""
    crd_dirs: tuple[Path, ...] = ()
    """Directories (or files) of CustomResourceDefinition manifests supplying CR schemas."""
    schema_locations: tuple[str, ...] = ()
    """kubeconform-style local path templates, e.g. schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json."""
    required_labels: tuple[str, ...] = DEFAULT_REQUIRED_LABELS
    """Labels every object must carry (and every pod template)."""
    allowed_registries: tuple[str, ...] = DEFAULT_ALLOWED_REGISTRIES
    """Registries images may come from; an image without a host is docker.io."""
    max_limit_request_ratio: float = 4.0
    """Upper bound on limit/request for CPU and memory."""
    max_termination_grace_s: int = 120
    """Upper bound on terminationGracePeriodSeconds."""
    disabled_rules: frozenset[str] = frozenset()
    """Rule IDs not to run at all (prefer waivers: they leave a record)."""
    waiver_files: tuple[Path, ...] = ()
    """YAML files of waivers with owner, expiry and reason."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    """Files larger than this are refused with a finding rather than parsed."""
    max_nodes_per_document: int = DEFAULT_MAX_NODES_PER_DOCUMENT
    """Expanded size bound that stops YAML alias bombs."""
    run_schema: bool = True
    """Check documents against schemas (off: --skip schema)."""
    run_rules: bool = True
    """Run the built-in rules (off: --skip rules)."""
    rego: RegoSettings = field(default_factory=RegoSettings)
    today: str | None = None
    """ISO date used for waiver expiry; None means the real date (tests pin it)."""


def fail_threshold(text: str) -> Severity | None:
    """--fail-on value to a severity; 'never' means report only."""
    if text == "never":
        return None
    return Severity.parse(text)
