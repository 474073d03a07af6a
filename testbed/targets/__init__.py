"""Where the testbed runs. One module per target behind the `Target` protocol in base.py."""

from __future__ import annotations

import importlib

from testbed.config import Config
from testbed.errors import ConfigError
from testbed.targets.base import Target

# target name -> "module:class"; an unknown name fails with one clear message.
TARGETS: dict[str, str] = {
    "local": "testbed.targets.local:LocalTarget",
    "sim": "testbed.targets.sim:SimTarget",
    "kube": "testbed.targets.kube:KubeTarget",
}


def get_target(config: Config) -> Target:
    spec = TARGETS.get(config.target)
    if spec is None:
        raise ConfigError(f"unknown target {config.target!r}; expected one of {', '.join(TARGETS)}", field="target")
    module_name, cls_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise ConfigError(f"target {config.target!r} is not available in this version of testbed", field="target") from None
    target: Target = getattr(module, cls_name)(config)
    return target
