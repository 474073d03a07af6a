"""The `kube` target: the full testbed on a real Kubernetes cluster, brought up by the playbooks.

Reached through a kubeconfig (and optional context); a wrong context or an API that does not
answer fails fast with TargetUnreachable (exit 3). Upstream components come from a bundle
written by `testbed bundle DIR`. The sim target reuses all of this with the sim's kubeconfig.

Whether the testbed is up is read from the cluster (the shop namespace with its Services and
Deployments), not from this machine's saved plan, so `conform` works from any machine that
has the kubeconfig. Suites reach the shop through `access()`: one supervised
`kubectl port-forward` per shop Service, on 127.0.0.1 ports of this machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testbed.bringup.record import Recorder
from testbed.bringup.session import BringUp, ClusterSpec
from testbed.config import Config
from testbed.errors import TargetUnreachable, TestbedError
from testbed.kube.api import KubeAPI
from testbed.kube.portforward import PortForwards
from testbed.kube.workloads import rollout_state
from testbed.manifests_gen.spec import GRPC_PORT, WEB_SERVICE_PORT
from testbed.shop.topology import ALL_SERVICES, GRPC_SERVICES
from testbed.targets.base import Endpoints, Progress, ServiceState, TargetStatus, UpResult


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
            timeout_cap_s=self.kube.wait_timeout_cap_s, harbor_url=self.kube.harbor_url, kubectl=self.kubectl(),
            gitops_repo=self.kube.gitops_repo, gitops_revision=self.kube.gitops_revision))

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
        """Every readiness wait of the plan this machine applied; without one, the shop as the cluster shows it."""
        try:
            results = self.session().status()
        except TargetUnreachable:
            return TargetStatus(self.name, ())
        if not results and self.session().saved_plan() is None:
            return TargetStatus(self.name, self._shop_from_cluster())
        services = tuple(
            ServiceState(f"{component}: {t.ref}", t.ready, t.detail + (" (simulated)" if t.simulated else ""))
            for component, t in results)
        return TargetStatus(self.name, services)

    def _shop_from_cluster(self) -> tuple[ServiceState, ...]:
        """One row per shop Deployment in the shop namespace (empty when the namespace has none)."""
        ns = self.shop_namespace
        with self.session().api() as api:
            deployments = {d["metadata"]["name"]: d for d in api.list("apps/v1", "Deployment", namespace=ns)}
        rows = []
        for service in ALL_SERVICES:
            if service in deployments:
                ready, detail = rollout_state(deployments[service])
                rows.append(ServiceState(f"shop: Deployment {ns}/{service}", ready, detail))
        return tuple(rows)

    def _missing_shop(self, api: KubeAPI) -> list[str]:
        """The shop objects that are not in the cluster: Services and Deployments of every service."""
        ns = self.shop_namespace
        if api.get("v1", "Namespace", ns) is None:
            return [f"namespace {ns}"]
        services = {o["metadata"]["name"] for o in api.list("v1", "Service", namespace=ns)}
        deployments = {o["metadata"]["name"] for o in api.list("apps/v1", "Deployment", namespace=ns)}
        return ([f"Service {s}" for s in ALL_SERVICES if s not in services]
                + [f"Deployment {s}" for s in ALL_SERVICES if s not in deployments])

    def _endpoints(self) -> Endpoints:
        """In-cluster addresses: what the shop's own pods (and the ingress) use."""
        ns = self.shop_namespace
        grpc = {s: f"{s}.{ns}.svc:{GRPC_PORT}" for s in GRPC_SERVICES}
        return Endpoints(grpc=grpc, web_url=f"http://web.{ns}.svc:{WEB_SERVICE_PORT}", simulated=self.simulated)

    def endpoints(self) -> Endpoints:
        """The in-cluster endpoints once the cluster shows the shop; TargetUnreachable otherwise (exit 3)."""
        session = self.session()
        session.preflight()
        with session.api() as api:
            missing = self._missing_shop(api)
        if missing:
            shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
            raise TargetUnreachable(f"the testbed is not up on {self.name}: {shown} not found in the cluster; "
                                    f"run `testbed up --target {self.name}`")
        return self._endpoints()

    def kubectl(self) -> Path | None:
        """kubectl for port-forwards: config `binaries.kubectl`, else PATH, else the sim build cache's."""
        if "kubectl" in self.config.binaries:
            return self.config.binaries["kubectl"]
        if shutil.which("kubectl"):
            return None  # PortForwards finds it on PATH
        from testbed.sim.binaries import search_dirs

        cached = [d / "kubectl" for d in search_dirs() if (d / "kubectl").is_file()]
        return cached[0] if cached else None

    @contextmanager
    def access(self) -> Iterator[Endpoints]:
        """Endpoints on this machine: a port-forward per shop gRPC Service and the web front end, closed on exit."""
        self.endpoints()
        with PortForwards(self.kubeconfig(), self.context(), self.shop_namespace, kubectl=self.kubectl()) as forwards:
            wanted = [(f"svc/{s}", GRPC_PORT) for s in GRPC_SERVICES] + [("svc/web", WEB_SERVICE_PORT)]
            local = forwards.open_many(wanted)
            yield Endpoints(grpc={s: local[(f"svc/{s}", GRPC_PORT)] for s in GRPC_SERVICES},
                            web_url=f"http://{local[('svc/web', WEB_SERVICE_PORT)]}", simulated=self.simulated)

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
