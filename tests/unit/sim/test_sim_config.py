from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from testbed.errors import ConfigError
from testbed.sim.binaries import REQUIRED, SimBinaries
from testbed.sim.config import SimClusterSpec, kwok_stages, render

pytestmark = pytest.mark.unit

BINARIES = SimBinaries({name: Path(f"/opt/sim/bin/{name}") for name in REQUIRED})


def rendered(spec: SimClusterSpec) -> list[dict[str, object]]:
    return list(yaml.safe_load_all(render(spec, BINARIES)))


def test_every_component_binds_to_loopback_and_uses_the_given_binaries() -> None:
    config, *_ = rendered(SimClusterSpec())
    options = config["options"]  # type: ignore[index]

    assert config["kind"] == "KwokctlConfiguration"  # type: ignore[index]
    assert options["runtime"] == "binary" and options["bindAddress"] == "127.0.0.1"
    assert options["kubeApiserverBinary"] == "/opt/sim/bin/kube-apiserver"
    assert options["kwokControllerBinary"] == "/opt/sim/bin/kwok"
    assert options["etcdBinary"] == "/opt/sim/bin/etcd"
    assert options["kubectlBinary"] == "/opt/sim/bin/kubectl"
    assert options["heartbeatFactor"] == 1
    assert "kubeApiserverPort" not in options, "port 0 leaves the choice to kwokctl"


def test_a_fixed_port_is_passed_on() -> None:
    config, *_ = rendered(SimClusterSpec(apiserver_port=16443))

    assert config["options"]["kubeApiserverPort"] == 16443  # type: ignore[index]


def test_stages_include_kwok_defaults_and_the_not_ready_chaos_stage() -> None:
    _, *stages = rendered(SimClusterSpec())

    names = [s["metadata"]["name"] for s in stages]  # type: ignore[index]
    assert names == [s["metadata"]["name"] for s in kwok_stages()]
    assert {"node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-delete", "node-not-ready"} <= set(names)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (SimClusterSpec(name="Bad_Name"), "name"),
        (SimClusterSpec(name="x" * 41), "name"),
        (SimClusterSpec(nodes=0), "nodes"),
        (SimClusterSpec(apiserver_port=80), "port"),
        (SimClusterSpec(zones=()), "zones"),
    ],
)
def test_invalid_specs_name_the_field(spec: SimClusterSpec, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        spec.validate()
    assert err.value.field == field
