"""testbed.yaml: the user's configuration, validated on load.

Precedence: command-line flags > TESTBED_* environment variables > the file > defaults.
Environment variables use `__` for nesting, e.g. TESTBED_TIMEOUTS__UP_S=20 or
TESTBED_DATASTORES__POSTGRES_URL=postgresql+psycopg://... . Errors name the file, the
field and the problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from testbed.errors import ConfigError
from testbed.manifests_gen.gitops import repo_problem, revision_problem
from testbed.shop.topology import ALL_SERVICES

DEFAULT_FILE = Path("testbed.yaml")
KNOWN_SUITES = ("e2e", "ui", "policy", "cluster", "load", "chaos")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Model):
    up_s: float = Field(60.0, gt=0, le=3600, description="deadline for every service to become healthy")
    down_s: float = Field(10.0, gt=0, le=600, description="SIGTERM grace before SIGKILL")
    conform_s: float = Field(1800.0, gt=0, le=86400, description="deadline for a whole conform run")
    reachability_s: float = Field(3.0, gt=0, le=60, description="how long conform waits for the testbed to answer")


class Datastores(_Model):
    """Empty means the embedded default: SQLite per service and the outbox event feed."""

    postgres_url: str | None = Field(None, description="PostgreSQL server URL; each service uses database <service>")
    redis_url: str | None = Field(None, description="Redis URL for the cart")
    nats_url: str | None = Field(None, description="NATS URL; events go over JetStream")


class KubeSettings(_Model):
    """The `kube` and `sim` targets: which cluster, which manifests, which upstream bundle."""

    profile: Literal["minimal", "full"] = Field("minimal", description="minimal: shop, datastores, ingress; full: everything")
    env: Literal["dev", "stg", "prd"] = Field("dev", description="environment overlay (namespaces testbed-<env>-*)")
    kubeconfig: Path | None = Field(None, description="kube target: kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
    context: str | None = Field(None, description="kube target: kubeconfig context (default: the current one)")
    bundle: Path | None = Field(None, description="upstream bundle dir (`testbed bundle`); sim defaults to a stand-in bundle")
    sim_cluster: str = Field("sim", description="sim target: name of the sim cluster (`testbed sim up --name`)")
    manifests_root: Path | None = Field(None, description="the kustomize tree (default: ./manifests of the checkout)")
    wait_timeout_cap_s: float | None = Field(None, gt=0, description="cap on every readiness wait's timeout")
    harbor_url: str | None = Field(None, pattern=r"^https?://[^\s/@]+(/\S*)?$",  # no user:password@: it would show in messages and the plan
                                   description="full profile: Harbor's URL from this machine (its ingress external URL) "
                                               "for the bootstrap; unset: a port-forward to svc/harbor-core")
    gitops_repo: str | None = Field(None, description="full profile: the Git repository Argo CD syncs (your copy of "
                                                      "this one); unset: the placeholder, and Argo CD cannot sync")
    gitops_revision: str | None = Field(None, description="full profile: the branch, tag or commit the env's "
                                                          "Applications track; unset: the env's branch (dev, stg, prd)")

    @field_validator("gitops_repo")
    @classmethod
    def _gitops_repo(cls, value: str | None) -> str | None:
        if value is not None and (why := repo_problem(value)) is not None:
            raise ValueError(why)
        return value

    @field_validator("gitops_revision")
    @classmethod
    def _gitops_revision(cls, value: str | None) -> str | None:
        if value is not None and (why := revision_problem(value)) is not None:
            raise ValueError(why)
        return value


class Config(_Model):
    target: Literal["local", "kube", "sim"] = Field("local", description="where the testbed runs")
    ports: dict[str, int] = Field(default_factory=dict, description="fixed ports per service; others are auto-chosen")
    state_dir: Path = Field(Path(".testbed"), description="pids, ports, data and logs of the local testbed")
    reports_dir: Path = Field(Path("reports"), description="where conform writes run bundles")
    suites: tuple[str, ...] = Field(("e2e", "ui"), description="suites `conform` runs by default")
    datastores: Datastores = Field(default_factory=Datastores)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    binaries: dict[str, Path] = Field(default_factory=dict, description="explicit paths of tools, e.g. chromedriver")
    kube: KubeSettings = Field(default_factory=KubeSettings)

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: dict[str, int]) -> dict[str, int]:
        for service, port in value.items():
            if service not in ALL_SERVICES:
                raise ValueError(f"unknown service {service!r}; expected one of {', '.join(ALL_SERVICES)}")
            if not 1 <= port <= 65535:
                raise ValueError(f"port {port} of {service} is not between 1 and 65535")
        if len(set(value.values())) != len(value):
            raise ValueError("two services share a port")
        return value

    @field_validator("suites")
    @classmethod
    def _suites(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for suite in value:
            if suite not in KNOWN_SUITES:
                raise ValueError(f"unknown suite {suite!r}; expected some of {', '.join(KNOWN_SUITES)}")
        return value

    @field_validator("binaries")
    @classmethod
    def _binaries(cls, value: dict[str, Path]) -> dict[str, Path]:
        for name, path in value.items():
            if not path.is_file() or not os.access(path, os.X_OK):
                raise ValueError(f"binary {name!r} at {path} does not exist or is not executable")
        return value


def _set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        node = tree.setdefault(key, {})
        if not isinstance(node, dict):
            return
        tree = node
    tree[path[-1]] = value


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith("TESTBED_"):
            continue
        path = key.removeprefix("TESTBED_").lower().split("__")
        if path[0] not in Config.model_fields:
            continue  # TESTBED_CACHE, TESTBED_RUN_DIR, ... belong to other parts of testbed
        value: Any = raw
        if path == ["suites"]:
            value = [s.strip() for s in raw.split(",") if s.strip()]
        _set_path(tree, path, value)
    return tree


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif value is not None:
            out[key] = value
    return out


def load_config(path: Path | None = None, *, flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate; `path` None means testbed.yaml if present (or $TESTBED_CONFIG)."""
    env = os.environ if environ is None else environ
    explicit = path is not None or "TESTBED_CONFIG" in env
    file = Path(path or env.get("TESTBED_CONFIG") or DEFAULT_FILE)
    data: dict[str, Any] = {}
    if file.exists():
        try:
            loaded = yaml.safe_load(file.read_text())
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else "yaml"
            raise ConfigError(f"not valid YAML: {getattr(err, 'problem', err)}", source=str(file), field=where) from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"cannot read: {err}", source=str(file)) from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError("the top level must be a mapping", source=str(file))
        data = loaded or {}
    elif explicit:
        raise ConfigError("config file not found", source=str(file))
    merged = _merge(_merge(data, _from_env(env)), dict(flags or {}))
    try:
        return Config.model_validate(merged)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "config"
        raise ConfigError(first["msg"].removeprefix("Value error, "), source=str(file), field=field) from None
