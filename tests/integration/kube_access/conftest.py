"""The shop reached through a real cluster's port-forward transport, for the kube target's access().

What is real and what stands in: the shop's code runs as local processes (LocalTarget on a
temp state dir with its own ports). A sim cluster of this module's own (real kube-apiserver,
kwok nodes; own, because the bring-up tests tear CRDs down on the shared one) carries the
testbed's minimal profile, brought up by the real `testbed up --target sim` path, so the
shop's Services, Deployments and pods exist. For every shop pod a kwok PortForward object
tells kwok's kubelet server to carry that pod's port (50051; 8080 for web) to the matching
local process. `kubectl port-forward svc/user :50051` then runs exactly as on a real cluster:
kubectl -> kube-apiserver -> the node's kubelet (kwok) -> the service process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testbed.config import load_config
from testbed.kube.api import KubeAPI
from testbed.kube.workloads import wait_for_rollout
from testbed.shop.topology import ALL_SERVICES
from testbed.sim.binaries import missing_binaries
from testbed.sim.cluster import SimCluster
from testbed.targets.base import Endpoints
from testbed.targets.kube import KubeTarget
from testbed.targets.local import LocalTarget
from testbed.targets.sim import SimTarget
from testbed.testing.kwok_forward import forward_shop_pods
from testbed.testing.sim_fixtures import require

ENV = "dev"
NAMESPACE = f"testbed-{ENV}-shop"
MIRROR_INTERVAL_S = 0.5


@dataclass
class ShopThroughCluster:
    cluster: SimCluster
    namespace: str
    local: LocalTarget
    local_endpoints: Endpoints
    root: Path

    @property
    def kubeconfig(self) -> Path:
        return self.cluster.kubeconfig

    def local_port(self, service: str) -> int:
        address = self.local_endpoints.web_url if service == "web" else self.local_endpoints.grpc[service]
        assert address is not None
        return int(address.rsplit(":", 1)[1])

    def kube_target(self, **kube: Any) -> KubeTarget:
        """The kube target as another machine would use it: a state dir that never saw `up`."""
        flags = {"target": "kube", "state_dir": str(self.root / "elsewhere"), "reports_dir": str(self.root / "reports"),
                 "kube": {"kubeconfig": str(self.kubeconfig), "env": ENV, "profile": "minimal", **kube}}
        return KubeTarget(load_config(Path(os.devnull), flags=flags, environ={}))

    def kube_environ(self) -> dict[str, str]:
        """Environment for `testbed conform --target kube` / `pytest suites/...` as subprocesses."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESTBED_")}
        env.update({"TESTBED_TARGET": "kube", "TESTBED_KUBE__KUBECONFIG": str(self.kubeconfig),
                    "TESTBED_KUBE__ENV": ENV, "TESTBED_KUBE__PROFILE": "minimal",
                    "TESTBED_STATE_DIR": str(self.root / "elsewhere"), "TESTBED_REPORTS_DIR": str(self.root / "reports")})
        return env


class _Mirror:
    """Keeps a PortForward on every shop pod while tests run (pods replaced by a Deployment get one too)."""

    def __init__(self, kubeconfig: Path, namespace: str, ports: dict[str, int]) -> None:
        self.api = KubeAPI(kubeconfig)
        self.namespace, self.ports = namespace, ports
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name="portforward-mirror", daemon=True)

    def _run(self) -> None:
        from testbed.errors import TestbedError

        while not self.stopping.wait(MIRROR_INTERVAL_S):
            try:
                forward_shop_pods(self.api, self.namespace, self.ports)
            except TestbedError as err:  # kept and shown by the fixture's teardown, never swallowed
                self.errors.append(err.message)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        self.api.close()


@pytest.fixture(scope="module")
def shop_through_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopThroughCluster]:
    require(not missing_binaries(), f"sim binaries missing: {missing_binaries()}; run `testbed sim build`")
    root = tmp_path_factory.mktemp("kube-access")
    cluster = SimCluster(f"kacc-{os.getpid()}")
    local: LocalTarget | None = None
    mirror: _Mirror | None = None
    try:
        cluster.up(timeout_s=120)
        with KubeAPI(cluster.kubeconfig) as api:
            assert api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "portforwards.kwok.x-k8s.io"), \
                "the sim cluster serves no kwok PortForward CRD (testbed/sim/config.py enableCRDs)"
        flags = {"target": "sim", "state_dir": str(root / "sim-state"), "reports_dir": str(root / "reports"),
                 "kube": {"sim_cluster": cluster.name, "profile": "minimal", "env": ENV}}
        SimTarget(load_config(Path(os.devnull), flags=flags, environ={})).up()
        with KubeAPI(cluster.kubeconfig) as api:
            # The HPAs would add pods mid-test (min 2); the pod set stays put without them.
            for hpa in api.list("autoscaling/v2", "HorizontalPodAutoscaler", namespace=NAMESPACE):
                api.delete("autoscaling/v2", "HorizontalPodAutoscaler", hpa["metadata"]["name"], namespace=NAMESPACE)
            for service in ALL_SERVICES:
                wait_for_rollout(api, service, NAMESPACE, timeout_s=60)
        local = LocalTarget(load_config(Path(os.devnull), flags={"state_dir": str(root / "local")}, environ={}))
        endpoints = local.up().endpoints
        shop = ShopThroughCluster(cluster, NAMESPACE, local, endpoints, root)
        ports = {service: shop.local_port(service) for service in ALL_SERVICES}
        with KubeAPI(cluster.kubeconfig) as api:
            assert forward_shop_pods(api, NAMESPACE, ports) >= len(ALL_SERVICES)
        mirror = _Mirror(cluster.kubeconfig, NAMESPACE, ports)
        mirror.thread.start()
        yield shop
        assert not mirror.errors, mirror.errors
    finally:
        if mirror is not None:
            mirror.stop()
        if local is not None:
            local.down(purge=True)
        cluster.down()
