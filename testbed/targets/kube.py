"""The `kube` target: the full testbed on a real Kubernetes cluster, brought up by the playbooks.

Reached through a kubeconfig (and optional context); a wrong context or an API that does not
answer fails fast with TargetUnreachable (exit 3). Upstream components come from a bundle
written by `testbed bundle DIR`. The sim target reuses all of this with the sim's kubeconfig.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from testbed.bringup.record import Recorder
from testbed.bringup.session import BringUp, ClusterSpec
from testbed.config import Config
from testbed.errors import TargetUnreachable, TestbedError
from testbed.kube.api import KubeAPI
from testbed.shop.topology import ALL_SERVICES
from testbed.targets.base import Endpoints, Progress, ServiceState, TargetStatus, UpResult

GRPC_PORT = 50051


def default_kubeconfig() -> Path:
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first) if first else Path.home() / ".kube" / "config"


class KubeTarget:
    name = "kube"
    simulated = False

    def __init__(self, config: Config) -> None:
        self.config = config
        self.kube = config.kube
        self.last_record: Recorder | None = None  # of the last up/down, also when it failed

    # -- where -----------------------------------------------------------------------------
    def kubeconfig(self) -> Path:
        return self.kube.kubeconfig or default_kubeconfig()

    def context(self) -> str | None:
        return self.kube.context

    def session(self) -> BringUp:
        return BringUp(ClusterSpec(
            kubeconfig=self.kubeconfig(), context=self.context(), sim=self.simulated, profile=self.kube.profile,
            env=self.kube.env, bundle=self.kube.bundle, manifests_root=self.kube.manifests_root,
            reports_dir=self.config.reports_dir, state_dir=(self.config.state_dir / self.name).resolve(),
            timeout_cap_s=self.kube.wait_timeout_cap_s))

    @property
    def shop_namespace(self) -> str:
        return f"testbed-{self.kube.env}-shop"

    # -- lifecycle -------------------------------------------------------------------------
    def up(self, progress: Progress | None = None) -> UpResult:
        session = self.session()
        try:
            record = session.up(progress)
        finally:
            self.last_record = session.last_record
        changed = tuple(s.step for s in record.steps.values() if s.changed)
        return UpResult(changed=bool(changed), started=changed, endpoints=self._endpoints())

    def down(self, purge: bool = False) -> list[str]:
        session = self.session()
        try:
            record = session.down()
        finally:
            self.last_record = session.last_record
        return [s.step for s in record.steps.values() if s.changed] if record else []

    def status(self) -> TargetStatus:
        try:
            results = self.session().status()
        except TargetUnreachable:
            return TargetStatus(self.name, ())
        services = tuple(
            ServiceState(f"{component}: {t.ref}", t.ready, t.detail + (" (simulated)" if t.simulated else ""))
            for component, t in results)
        return TargetStatus(self.name, services)

    def _endpoints(self) -> Endpoints:
        ns = self.shop_namespace
        grpc = {s: f"{s}.{ns}.svc:{GRPC_PORT}" for s in ALL_SERVICES if s != "web"}
        return Endpoints(grpc=grpc, web_url=f"http://web.{self.kube.env}.testbed.internal", simulated=self.simulated)

    def endpoints(self) -> Endpoints:
        session = self.session()
        session.preflight()
        if session.saved_plan() is None:
            raise TargetUnreachable(f"the testbed is not up on {self.name}; run `testbed up --target {self.name}`")
        return self._endpoints()

    # -- for suites/cluster: the readiness checks of the last bring-up ----------------------
    def readiness_checks(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(step, component, wait) for every wait of the last applied plan; empty when nothing was applied."""
        plan = self.session().saved_plan()
        return [(step.name, step.component, wait) for step in plan.steps for wait in step.waits] if plan else []

    def testbed_namespaces(self) -> list[str]:
        plan = self.session().saved_plan()
        return plan.namespaces() if plan else []

    def cluster_api(self) -> KubeAPI:
        """A connection to the cluster after the fail-fast check (TargetUnreachable if it does not answer)."""
        session = self.session()
        session.preflight()
        return session.api()

    # -- chaos hooks: one pod of a service's Deployment ------------------------------------
    def _scale(self, service: str, replicas: int | None) -> None:
        with self.session().api() as api:
            api.patch("apps/v1", "Deployment", service, {"spec": {"replicas": replicas}}, namespace=self.shop_namespace)

    def stop_instance(self, service: str) -> None:
        self._scale(service, 0)

    def start_instance(self, service: str) -> None:
        self._scale(service, 1)

    def kill_instance(self, service: str) -> None:
        with self.session().api() as api:
            pods = api.list("v1", "Pod", namespace=self.shop_namespace, label_selector=f"app.kubernetes.io/name={service}")
            if not pods:
                raise TestbedError(f"no pod of {service} in {self.shop_namespace}")
            api.delete("v1", "Pod", pods[0]["metadata"]["name"], namespace=self.shop_namespace, grace_period_s=0)
