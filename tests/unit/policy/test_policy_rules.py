"""Every built-in per-document rule: a positive case (it fires) and negative cases (it does not)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policy_helpers import Check, find, rule_ids

pytestmark = pytest.mark.unit

Obj = dict[str, Any]


def web(objs: list[Obj]) -> Obj:
    return find(objs, "Deployment", "web")


def pod(objs: list[Obj]) -> Obj:
    return web(objs)["spec"]["template"]["spec"]


def ctr(objs: list[Obj]) -> Obj:
    return pod(objs)["containers"][0]


def sc(objs: list[Obj]) -> Obj:
    return ctr(objs)["securityContext"]


def test_compliant_corpus_has_no_findings(good: list[Obj], check: Check) -> None:
    report = check(good)
    assert report.findings == []


POSITIVE: list[tuple[str, str, Callable[[list[Obj]], None]]] = [
    ("TB-IMAGE-TAG", "latest", lambda o: ctr(o).update(image="registry.k8s.io/pause:latest")),
    ("TB-IMAGE-TAG", "untagged", lambda o: ctr(o).update(image="registry.k8s.io/pause")),
    ("TB-IMAGE-TAG", "port-no-tag", lambda o: ctr(o).update(image="localhost:5000/pause")),
    ("TB-IMAGE-REGISTRY", "other-registry", lambda o: ctr(o).update(image="evil.example.com/app:1.0")),
    ("TB-RESOURCES-REQUESTS", "no-requests", lambda o: ctr(o)["resources"].pop("requests")),
    ("TB-RESOURCES-REQUESTS", "no-memory-request", lambda o: ctr(o)["resources"]["requests"].pop("memory")),
    ("TB-RESOURCES-LIMITS", "no-limits", lambda o: ctr(o)["resources"].pop("limits")),
    ("TB-RESOURCES-LIMITS", "no-cpu-limit", lambda o: ctr(o)["resources"]["limits"].pop("cpu")),
    ("TB-RESOURCES-RATIO", "cpu-ratio", lambda o: ctr(o)["resources"]["limits"].update(cpu="2")),
    ("TB-RESOURCES-RATIO", "memory-ratio-binary", lambda o: ctr(o)["resources"]["limits"].update(memory="1Gi")),
    ("TB-RESOURCES-RATIO", "limit-below-request", lambda o: ctr(o)["resources"]["limits"].update(memory="32Mi")),
    ("TB-RESOURCES-QUANTITY", "bad-quantity", lambda o: ctr(o)["resources"]["limits"].update(cpu="lots")),
    ("TB-PROBE-READINESS", "no-readiness", lambda o: ctr(o).pop("readinessProbe")),
    ("TB-PROBE-LIVENESS", "no-liveness", lambda o: ctr(o).pop("livenessProbe")),
    ("TB-SEC-NON-ROOT", "no-non-root", lambda o: [pod(o)["securityContext"].pop(k) for k in ("runAsNonRoot", "runAsUser")]),
    ("TB-SEC-NON-ROOT", "uid-0", lambda o: sc(o).update(runAsUser=0)),
    ("TB-SEC-PRIVILEGED", "privileged", lambda o: sc(o).update(privileged=True)),
    ("TB-SEC-PRIVILEGE-ESCALATION", "escalation-unset", lambda o: sc(o).pop("allowPrivilegeEscalation")),
    ("TB-SEC-PRIVILEGE-ESCALATION", "escalation-true", lambda o: sc(o).update(allowPrivilegeEscalation=True)),
    ("TB-SEC-READONLY-ROOTFS", "rw-root", lambda o: sc(o).update(readOnlyRootFilesystem=False)),
    ("TB-SEC-CAPABILITIES", "no-drop", lambda o: sc(o).pop("capabilities")),
    ("TB-SEC-CAPABILITIES", "drop-some", lambda o: sc(o).update(capabilities={"drop": ["NET_RAW"]})),
    ("TB-SEC-SECCOMP", "no-seccomp", lambda o: pod(o)["securityContext"].pop("seccompProfile")),
    ("TB-SEC-SECCOMP", "unconfined", lambda o: sc(o).update(seccompProfile={"type": "Unconfined"})),
    ("TB-HOST-PATH", "hostpath", lambda o: pod(o).update(volumes=[{"name": "h", "hostPath": {"path": "/"}}])),
    ("TB-HOST-NETWORK", "hostnetwork", lambda o: pod(o).update(hostNetwork=True)),
    ("TB-HOST-PID", "hostpid", lambda o: pod(o).update(hostPID=True)),
    ("TB-HOST-IPC", "hostipc", lambda o: pod(o).update(hostIPC=True)),
    ("TB-HOST-PORT", "hostport", lambda o: ctr(o)["ports"][0].update(hostPort=8080)),
    ("TB-LABELS-REQUIRED", "object-labels", lambda o: web(o)["metadata"]["labels"].pop("app.kubernetes.io/part-of")),
    ("TB-LABELS-REQUIRED", "template-labels",
     lambda o: web(o)["spec"]["template"]["metadata"]["labels"].pop("app.kubernetes.io/part-of")),
    ("TB-TERMINATION-GRACE", "grace", lambda o: pod(o).update(terminationGracePeriodSeconds=600)),
]


@pytest.mark.parametrize(("rule", "case", "mutate"), POSITIVE, ids=[f"{r}-{c}" for r, c, _ in POSITIVE])
def test_rule_fires(rule: str, case: str, mutate: Callable[[list[Obj]], None], good: list[Obj], check: Check) -> None:
    mutate(good)
    report = check(good)
    hits = [f for f in report.findings if f.rule_id == rule]
    assert hits, f"{rule} did not fire for {case}: {[f.rule_id for f in report.findings]}"
    finding = hits[0]
    assert (finding.kind, finding.namespace, finding.name) == ("Deployment", "shop", "web")
    assert finding.source == "mem.yaml" and finding.index == 0
    assert finding.path and finding.fix


NEGATIVE: list[tuple[str, str, Callable[[list[Obj]], None]]] = [
    ("TB-IMAGE-TAG", "digest-only", lambda o: ctr(o).update(image="registry.k8s.io/pause@sha256:" + "a" * 64)),
    ("TB-IMAGE-TAG", "registry-port-with-tag", lambda o: ctr(o).update(image="localhost:5000/pause:3.10")),
    ("TB-SEC-NON-ROOT", "uid-only", lambda o: pod(o)["securityContext"].pop("runAsNonRoot")),
    ("TB-SEC-NON-ROOT", "container-level", lambda o: (pod(o)["securityContext"].pop("runAsNonRoot"),
                                                       pod(o)["securityContext"].pop("runAsUser"),
                                                       sc(o).update(runAsNonRoot=True))),
    ("TB-SEC-SECCOMP", "localhost-profile",
     lambda o: pod(o)["securityContext"].update(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"})),
    ("TB-SEC-CAPABILITIES", "lowercase-all", lambda o: sc(o).update(capabilities={"drop": ["all"]})),
    ("TB-RESOURCES-RATIO", "exponent-equal", lambda o: ctr(o)["resources"]["limits"].update(cpu="4e-1")),
    ("TB-TERMINATION-GRACE", "at-bound", lambda o: pod(o).update(terminationGracePeriodSeconds=120)),
    ("TB-IMAGE-REGISTRY", "configured", lambda o: ctr(o).update(image="mirror.internal/app:1.0")),
]


@pytest.mark.parametrize(("rule", "case", "mutate"), NEGATIVE, ids=[f"{r}-{c}" for r, c, _ in NEGATIVE])
def test_rule_stays_quiet(rule: str, case: str, mutate: Callable[[list[Obj]], None], good: list[Obj],
                          check: Check) -> None:
    mutate(good)
    registries = ("registry.k8s.io", "ghcr.io", "quay.io", "docker.io", "localhost", "mirror.internal")
    report = check(good, allowed_registries=registries)
    assert rule not in rule_ids(report), [f.message for f in report.findings]


POD_SPEC = {
    "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                    "securityContext": {"privileged": True}}],
}


def _wrap(kind: str) -> Obj:
    meta = {"name": "x", "labels": {"app.kubernetes.io/name": "x", "app.kubernetes.io/part-of": "t"}}
    template = {"metadata": {"labels": dict(meta["labels"])}, "spec": dict(POD_SPEC)}
    api = {"Pod": "v1", "ReplicationController": "v1", "PodTemplate": "v1", "Job": "batch/v1",
           "CronJob": "batch/v1"}.get(kind, "apps/v1")
    obj: Obj = {"apiVersion": api, "kind": kind, "metadata": meta}
    if kind == "Pod":
        obj["spec"] = dict(POD_SPEC)
    elif kind == "PodTemplate":
        obj["template"] = template
    elif kind == "CronJob":
        obj["spec"] = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        obj["spec"] = {"selector": {"matchLabels": {"app.kubernetes.io/name": "x"}}, "template": template}
    return obj


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                                  "ReplicationController", "Job", "CronJob", "PodTemplate"])
def test_pod_rules_cover_every_workload_kind(kind: str, check: Check) -> None:
    report = check([_wrap(kind)])
    privileged = [f for f in report.findings if f.rule_id == "TB-SEC-PRIVILEGED"]
    assert len(privileged) == 1
    assert privileged[0].path.endswith("containers[0].securityContext.privileged")
    probes = {"TB-PROBE-READINESS", "TB-PROBE-LIVENESS"} & rule_ids(report)
    assert (not probes) == (kind in ("Job", "CronJob")), probes


def test_init_containers_are_checked_and_sidecars_need_probes(good: list[Obj], check: Check) -> None:
    init = {"name": "sidecar", "image": "registry.k8s.io/pause:3.10", "restartPolicy": "Always",
            "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}, "limits": {"cpu": "10m", "memory": "8Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}, "privileged": True}}
    pod(good)["initContainers"] = [init]
    report = check(good)
    paths = {(f.rule_id, f.path) for f in report.findings}
    assert ("TB-SEC-PRIVILEGED", "spec.template.spec.initContainers[0].securityContext.privileged") in paths
    assert ("TB-PROBE-READINESS", "spec.template.spec.initContainers[0]") in paths


def test_plaintext_secret(check: Check) -> None:
    labels = {"app.kubernetes.io/name": "s", "app.kubernetes.io/part-of": "t"}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": labels},
              "stringData": {"password": "hunter2"}}
    empty = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "e", "labels": labels}, "type": "Opaque"}
    report = check([secret, empty])
    hits = [f for f in report.findings if f.rule_id == "TB-SECRET-PLAINTEXT"]
    assert [(f.name, f.path) for f in hits] == [("s", "stringData")]


def test_required_labels_are_configurable(good: list[Obj], check: Check) -> None:
    report = check(good, required_labels=("team",))
    assert {f.rule_id for f in report.findings} == {"TB-LABELS-REQUIRED"}
    assert all("team" in f.message for f in report.findings)


def test_ratio_bound_is_configurable(good: list[Obj], check: Check) -> None:
    ctr(good)["resources"]["limits"]["cpu"] = "300m"  # 3x the 100m request
    assert "TB-RESOURCES-RATIO" not in rule_ids(check(good))
    assert "TB-RESOURCES-RATIO" in rule_ids(check(good, max_limit_request_ratio=2.0))


def test_disabled_rules_do_not_run(good: list[Obj], check: Check) -> None:
    ctr(good).update(image="registry.k8s.io/pause:latest")
    assert "TB-IMAGE-TAG" not in rule_ids(check(good, disabled_rules=frozenset({"TB-IMAGE-TAG"})))
