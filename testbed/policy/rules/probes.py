"""Probe rules: long-running containers declare readiness and liveness."""

from __future__ import annotations

from collections.abc import Iterator

from testbed.policy.model import Document, Finding, Severity
from testbed.policy.rules.registry import per_document, rule
from testbed.policy.rules.workloads import BATCH_KINDS, containers, pod_spec
from testbed.policy.settings import PolicySettings

READINESS = rule("TB-PROBE-READINESS", Severity.ERROR, "probes",
                 "Without a readiness probe, traffic reaches the container before it can serve.",
                 "Add readinessProbe (httpGet/grpc/tcpSocket on the serving port).")
LIVENESS = rule("TB-PROBE-LIVENESS", Severity.WARNING, "probes",
                "Without a liveness probe, a wedged container is never restarted.",
                "Add livenessProbe with a failureThreshold generous enough not to kill slow starts.")


@per_document(READINESS, LIVENESS)
def check_probes(doc: Document, settings: PolicySettings) -> Iterator[Finding]:
    if doc.kind in BATCH_KINDS or doc.kind == "Pod" and _is_batch_pod(doc):
        return
    found = pod_spec(doc)
    if found is None:
        return
    spec, spec_path = found
    for c in containers(spec, spec_path, ("initContainers", "containers")):
        if c.list_name == "initContainers" and not c.is_sidecar:
            continue
        if "readinessProbe" not in c.spec:
            yield READINESS.at(doc, c.path, f"container {c.name!r} has no readinessProbe")
        if "livenessProbe" not in c.spec:
            yield LIVENESS.at(doc, c.path, f"container {c.name!r} has no livenessProbe")


def _is_batch_pod(doc: Document) -> bool:
    spec = doc.obj.get("spec")
    return isinstance(spec, dict) and spec.get("restartPolicy") in ("Never", "OnFailure")
