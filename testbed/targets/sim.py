"""The `sim` target: the kube bring-up, unchanged, on the sim cluster (real API server, kwok nodes).

No pod runs real code here: the e2e and ui suites report "not applicable on sim" through
Endpoints.simulated, and the readiness of operator-managed instances comes from the stand-in
bundle's kwok Stages (reported as simulated). Without --bundle a stand-in bundle is written
into the run bundle, so a dry run needs no network at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testbed.errors import TargetUnreachable
from testbed.sim.cluster import SimCluster
from testbed.targets.base import Endpoints
from testbed.targets.kube import KubeTarget


class SimTarget(KubeTarget):
    name = "sim"
    simulated = True

    def cluster(self) -> SimCluster:
        return SimCluster(self.kube.sim_cluster)

    def kubeconfig(self) -> Path:
        if self.kube.kubeconfig is not None:
            return self.kube.kubeconfig
        cluster = self.cluster()
        if not cluster.exists():
            raise TargetUnreachable(f"no sim cluster named {cluster.name!r}; start it with "
                                    f"`testbed sim up --name {cluster.name}`")
        return cluster.kubeconfig

    @contextmanager
    def access(self) -> Iterator[Endpoints]:
        """The simulated endpoints, no port-forwards: no pod here runs code that could answer."""
        yield self.endpoints()
