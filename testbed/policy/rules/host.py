"""Host-access rules: pods stay out of the node's filesystem, network and process namespaces."""

from __future__ import annotations

from collections.abc import Iterator

from testbed.policy.model import Document, Finding, Severity
from testbed.policy.rules.registry import per_document, rule
from testbed.policy.rules.workloads import containers, pod_spec
from testbed.policy.settings import PolicySettings

HOST_PATH = rule("TB-HOST-PATH", Severity.ERROR, "host",
                 "A hostPath volume exposes the node's filesystem to the pod.",
                 "Use emptyDir, a ConfigMap/Secret, or a PersistentVolumeClaim.")
HOST_NETWORK = rule("TB-HOST-NETWORK", Severity.ERROR, "host",
                    "hostNetwork bypasses NetworkPolicy and exposes node interfaces.",
                    "Remove hostNetwork; expose the pod through a Service.")
HOST_PID = rule("TB-HOST-PID", Severity.ERROR, "host",
                "hostPID lets the pod see and signal every process on the node.",
                "Remove hostPID.")
HOST_IPC = rule("TB-HOST-IPC", Severity.ERROR, "host",
                "hostIPC shares the node's IPC namespace with the pod.",
                "Remove hostIPC.")
HOST_PORT = rule("TB-HOST-PORT", Severity.ERROR, "host",
                 "A hostPort ties the pod to a node port and limits scheduling.",
                 "Remove ports[].hostPort; use a Service (NodePort/LoadBalancer) instead.")

_FLAGS = (("hostNetwork", HOST_NETWORK), ("hostPID", HOST_PID), ("hostIPC", HOST_IPC))


@per_document(HOST_PATH, HOST_NETWORK, HOST_PID, HOST_IPC, HOST_PORT)
def check_host_access(doc: Document, settings: PolicySettings) -> Iterator[Finding]:
    found = pod_spec(doc)
    if found is None:
        return
    spec, spec_path = found
    for field_name, rule_ in _FLAGS:
        if spec.get(field_name) is True:
            yield rule_.at(doc, f"{spec_path}.{field_name}", f"pod sets {field_name}: true")
    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        for i, vol in enumerate(volumes):
            if isinstance(vol, dict) and "hostPath" in vol:
                yield HOST_PATH.at(doc, f"{spec_path}.volumes[{i}].hostPath",
                                   f"volume {vol.get('name', '?')!r} is a hostPath")
    for c in containers(spec, spec_path):
        ports = c.spec.get("ports")
        if not isinstance(ports, list):
            continue
        for i, port in enumerate(ports):
            if isinstance(port, dict) and port.get("hostPort"):
                yield HOST_PORT.at(doc, f"{c.path}.ports[{i}].hostPort",
                                   f"container {c.name!r} binds hostPort {port['hostPort']}")
