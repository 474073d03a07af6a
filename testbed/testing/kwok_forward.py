"""kwok `PortForward` objects: make a simulated pod's port reach a process on this machine.

On a sim cluster no pod runs code, but kwok's fake kubelet serves `kubectl port-forward` for a
pod that has a PortForward object (the sim cluster enables that CRD). Tests and benchmarks use
it to run the kube target's real port-forward path against the shop, or a fake Harbor, running
as local processes.
"""

from __future__ import annotations

from testbed.kube.api import KubeAPI
from testbed.manifests_gen.spec import GRPC_PORT, WEB_PORT

PORTFORWARD_API = "kwok.x-k8s.io/v1alpha1"


def forward_pod(api: KubeAPI, namespace: str, pod: str, pod_port: int, local_port: int) -> None:
    """Connections to `pod`:`pod_port` go to 127.0.0.1:`local_port`."""
    api.create({"apiVersion": PORTFORWARD_API, "kind": "PortForward", "metadata": {"name": pod, "namespace": namespace},
                "spec": {"forwards": [{"ports": [pod_port], "target": {"port": local_port, "address": "127.0.0.1"}}]}})


def forward_shop_pods(api: KubeAPI, namespace: str, ports: dict[str, int]) -> int:
    """A PortForward for every live shop pod that lacks one: its service port -> that service's local port.

    `ports` maps a service name (the pods' `app.kubernetes.io/name`) to its local process's port;
    returns how many were created.
    """
    have = {pf["metadata"]["name"] for pf in api.list(PORTFORWARD_API, "PortForward", namespace=namespace)}
    created = 0
    for pod in api.list("v1", "Pod", namespace=namespace):
        name = pod["metadata"]["name"]
        service = (pod["metadata"].get("labels") or {}).get("app.kubernetes.io/name")
        if service not in ports or name in have or pod["metadata"].get("deletionTimestamp"):
            continue
        forward_pod(api, namespace, name, WEB_PORT if service == "web" else GRPC_PORT, ports[service])
        created += 1
    return created
