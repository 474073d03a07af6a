"""The local target's state file: what `up` started, so other shells can find and stop it."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ServiceRecord:
    port: int
    pid: int | None = None
    started_at: float = 0.0
    metrics_port: int | None = None


@dataclass
class LocalState:
    state_dir: str
    services: dict[str, ServiceRecord] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    datastores: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "LocalState | None":
        try:
            data = json.loads(path.read_text())
            services = {k: ServiceRecord(**v) for k, v in data.pop("services").items()}
            return cls(services=services, **data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError):
            return None  # unreadable state is treated as "nothing known"; processes are found by pid files no more

    def save(self, path: Path) -> None:
        """Atomic: readers never see a half-written file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**asdict(self)}, indent=2))
        tmp.replace(path)
