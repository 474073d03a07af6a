"""`testbed policy`: check manifests offline before they reach a cluster.

Parses options into PolicySettings, runs the policy engine, prints the report in the chosen
format, and returns the exit code: 0 clean, 1 findings at/above --fail-on, 2 usage error.
"""

from __future__ import annotations

from datetime import datetime

import sys
from pathlib import Path

import click

from testbed.errors import ConfigError, ExitCode
from testbed.policy.settings import (
    DEFAULT_ALLOWED_REGISTRIES,
    DEFAULT_K8S_VERSION,
    DEFAULT_REQUIRED_LABELS,
    PolicySettings,
    RegoSettings,
    fail_threshold,
)

EPILOG = """\b
Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage error.
Waive a finding on the object:  metadata.annotations["testbed.io/waive"]: "TB-HOST-PORT: reason"
or in a --waivers file (rule, owner, expires, reason, optional match).
"""


@click.command(epilog=EPILOG)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--profile", help="Check the testbed's own render: manifests/overlays/<profile>-<env> "
              "(CRDs in manifests/upstream/crds are used when present).")
@click.option("--env", "env_name", help="Environment of the testbed render (dev, stg, prd).")
@click.option("--manifests-root", type=click.Path(path_type=Path), default=Path("manifests"), show_default=True,
              help="Where the testbed's kustomize tree lives.")
@click.option("--k8s-version", default=DEFAULT_K8S_VERSION, show_default=True, help="Target Kubernetes minor version.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit", "sarif"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the report to this file instead of stdout.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default="error", show_default=True)
@click.option("--strict/--no-strict", default=True, show_default=True, help="Unknown fields are errors.")
@click.option("--allow-missing-schemas", is_flag=True, help="A kind with no schema is info, not an error.")
@click.option("--crd-dir", multiple=True, type=click.Path(path_type=Path), help="CRD manifests for custom resources.")
@click.option("--schema-location", multiple=True,
              help="kubeconform-style local schema path template, e.g. 'schemas/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'.")
@click.option("-p", "--policy", multiple=True, type=click.Path(path_type=Path), help="Rego policy file or directory.")
@click.option("--namespace", "namespaces", multiple=True, help="Rego package to evaluate (default: main).")
@click.option("--all-namespaces", is_flag=True, help="Evaluate every Rego package.")
@click.option("--combine", is_flag=True, help="Give Rego all documents as one input (conftest --combine).")
@click.option("--rego-engine", type=click.Choice(["auto", "conftest", "opa", "regopy"]), default="auto", show_default=True,
              help="auto: conftest, else opa (each on PATH or in $TESTBED_CACHE/tools/bin, where ci/build-go-tools.sh "
                   "puts it), else regopy (isolated in a subprocess).")
@click.option("--waivers", multiple=True, type=click.Path(path_type=Path), help="Waivers file (YAML).")
@click.option("--allowed-registry", multiple=True, help=f"Allowed image registry (default: {', '.join(DEFAULT_ALLOWED_REGISTRIES)}).")
@click.option("--required-label", multiple=True, help=f"Required label (default: {', '.join(DEFAULT_REQUIRED_LABELS)}).")
@click.option("--max-limit-ratio", type=float, default=4.0, show_default=True, help="Bound on limit/request.")
@click.option("--max-grace-period", type=int, default=120, show_default=True,
              help="Bound on terminationGracePeriodSeconds.")
@click.option("--disable", multiple=True, help="Rule ID not to run (prefer waivers).")
@click.option("--skip", multiple=True, type=click.Choice(["schema", "rules"]),
              help="Skip a layer: schema validation or the built-in rules (e.g. to run Rego only).")
@click.option("--list-rules", is_flag=True, help="Print the rule catalogue as a Markdown table and exit.")
@click.option("--color/--no-color", default=None, help="Colour text output (default: when stdout is a terminal).")
@click.option("--today", hidden=True, type=click.DateTime(["%Y-%m-%d"]), help="Pin the date used for waiver expiry (tests).")
def policy(paths: tuple[Path, ...], profile: str | None, env_name: str | None, manifests_root: Path, k8s_version: str,
           fmt: str, output: Path | None, fail_on: str, strict: bool, allow_missing_schemas: bool,
           crd_dir: tuple[Path, ...], schema_location: tuple[str, ...], policy: tuple[Path, ...],
           namespaces: tuple[str, ...], all_namespaces: bool, combine: bool, rego_engine: str,
           waivers: tuple[Path, ...], allowed_registry: tuple[str, ...], required_label: tuple[str, ...],
           max_limit_ratio: float, max_grace_period: int, disable: tuple[str, ...], skip: tuple[str, ...],
           list_rules: bool,
           color: bool | None, today: datetime | None) -> ExitCode:
    """Check manifests (files, directories, kustomize dirs) against schemas, built-in rules and Rego."""
    if list_rules:
        from testbed.policy.catalogue import markdown_table

        click.echo(markdown_table())
        return ExitCode.OK
    targets = list(paths)
    if profile or env_name:
        if not (profile and env_name):
            raise ConfigError("--profile and --env go together", field="profile")
        from testbed.policy.render import overlay_dir

        targets.append(overlay_dir(manifests_root, profile, env_name))
        vendored_crds = manifests_root / "upstream" / "crds"
        if vendored_crds.is_dir():
            crd_dir = (*crd_dir, vendored_crds)
    if not targets:
        raise ConfigError("nothing to check: give PATH arguments or --profile/--env", field="PATH")
    if max_limit_ratio < 1:
        raise ConfigError("--max-limit-ratio must be at least 1", field="max-limit-ratio")
    settings = PolicySettings(
        k8s_version=k8s_version,
        strict=strict,
        missing_schema_is_error=not allow_missing_schemas,
        crd_dirs=crd_dir,
        schema_locations=schema_location,
        required_labels=required_label or DEFAULT_REQUIRED_LABELS,
        allowed_registries=allowed_registry or DEFAULT_ALLOWED_REGISTRIES,
        max_limit_request_ratio=max_limit_ratio,
        max_termination_grace_s=max_grace_period,
        disabled_rules=frozenset(disable),
        run_schema="schema" not in skip,
        run_rules="rules" not in skip,
        waiver_files=waivers,
        rego=RegoSettings(policy_paths=policy, namespaces=namespaces or ("main",), all_namespaces=all_namespaces,
                          combine=combine, engine=rego_engine),
        today=today.date().isoformat() if today is not None else None,
    )
    threshold = fail_threshold(fail_on)
    from testbed.policy.engine import check_paths
    from testbed.policy.formats import render

    report = check_paths(targets, settings)
    use_color = color if color is not None else (output is None and sys.stdout.isatty())
    text = render(fmt, report, threshold, color=use_color and fmt == "text")
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"cannot write report: {err.strerror or err}", source=str(output)) from err
        if fmt != "text":
            click.echo(render("text", report, threshold, color=False).splitlines()[-1], err=True)
    else:
        click.echo(text, nl=False)
    return ExitCode.FAILED if report.failing(threshold) else ExitCode.OK
