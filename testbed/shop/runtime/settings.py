"""How a shop service process is configured: flags, then SHOP_* environment, then defaults.

The same settings drive a local process (flags from `testbed up`) and a pod (environment
from ConfigMaps and Secrets), so nothing here knows which target it runs on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from testbed.errors import ConfigError

SERVICE_NAMES = ("user", "product", "cart", "order", "payment", "point", "delivery", "comment", "rate", "web")


class ServiceSettings(BaseModel):
    """Settings of one service process."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str = Field(description="which service this process runs")
    host: str = Field("127.0.0.1", description="address to bind; 127.0.0.1 unless told otherwise")
    port: int = Field(0, ge=0, le=65535, description="port to bind; 0 picks a free one (reported in ready_file)")
    state_dir: Path = Field(Path(".testbed/state"), description="where SQLite files and generated keys live")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default is a SQLite file in state_dir")
    redis_url: str | None = Field(None, description="cart store on Redis instead of SQL, e.g. redis://127.0.0.1:6379/0")
    nats_url: str | None = Field(None, description="events over NATS JetStream instead of the embedded outbox feed")
    deps: dict[str, str] = Field(default_factory=dict, description="service name -> host:port of its dependencies")
    metrics_port: int | None = Field(None, ge=0, le=65535, description="Prometheus /metrics port; 0 picks one; unset disables")
    jwt_private_key_file: Path | None = Field(None, description="user service: Ed25519 signing key (PEM); generated in state_dir if unset")
    jwt_public_key_file: Path | None = Field(None, description="verifiers: public key (PEM); fetched from the user service if unset")
    token_ttl_s: int = Field(3600, gt=0, le=7 * 24 * 3600, description="lifetime of issued access tokens")
    grace_s: float = Field(5.0, ge=0, le=120, description="SIGTERM drain period for in-flight RPCs")
    workers: int = Field(16, ge=1, le=256, description="RPC worker threads")
    ready_file: Path | None = Field(None, description="written as JSON (pid, port, metrics_port) once serving")
    log_level: str = Field("INFO", description="log level of the JSON log")

    @field_validator("service")
    @classmethod
    def _known_service(cls, value: str) -> str:
        if value not in SERVICE_NAMES:
            raise ValueError(f"unknown service {value!r}; expected one of {', '.join(SERVICE_NAMES)}")
        return value

    @field_validator("deps")
    @classmethod
    def _addresses(cls, value: dict[str, str]) -> dict[str, str]:
        for name, addr in value.items():
            host, sep, port = addr.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"dependency {name!r}: address {addr!r} is not host:port")
        return value

    def dep(self, name: str) -> str:
        """Address of dependency `name`, or a ConfigError naming the missing setting."""
        try:
            return self.deps[name]
        except KeyError:
            raise ConfigError(f"{self.service} needs the address of {name!r}: pass --dep {name}=HOST:PORT or SHOP_DEPS") from None

    def sql_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / self.service / f'{self.service}.db').resolve()}"

    def private_dir(self) -> Path:
        """This service's own state directory (created)."""
        path = self.state_dir / self.service
        path.mkdir(parents=True, exist_ok=True)
        return path


def parse_deps(text: str) -> dict[str, str]:
    """`user=127.0.0.1:5001,product=...` -> mapping."""
    deps: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, addr = item.partition("=")
        if not sep:
            raise ConfigError(f"dependency {item!r} is not NAME=HOST:PORT", field="deps")
        deps[name.strip()] = addr.strip()
    return deps


def load_settings(service: str, overrides: Mapping[str, object], environ: Mapping[str, str] | None = None) -> ServiceSettings:
    """Merge SHOP_* environment variables under explicit overrides and validate."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name in ServiceSettings.model_fields:
        raw = env.get(f"SHOP_{name.upper()}")
        if raw is not None and name != "service":
            values[name] = parse_deps(raw) if name == "deps" else raw
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["service"] = service
    try:
        return ServiceSettings.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(first["msg"], source=f"{service} settings", field=field) from None
