"""The stand-in bundle: a dry-run aid that lets bring-up run with no network, NEVER for real clusters.

Upstream releases cannot be downloaded everywhere (CI, air-gapped laptops), so this writes,
per upstream component, the CRDs of the kinds the testbed uses (open schemas) and its
controller workloads under their upstream names and namespaces, running an image that does
not exist (`registry.invalid/...`). On a real cluster nothing would run; on `sim` kwok makes
the pods Ready, and the kwok Stages in sim/stages.yaml play the operators' part by setting
the instances' status. Every object it makes up carries `testbed.io/stand-in: "true"`.

With `real_crds` (`testbed bundle --stand-in --real-crds`), a component whose pinned release
files are in the upstream cache (`testbed bundle`, or ci/fetch-upstream.sh) gets its REAL CRDs
instead (sha256-checked, no network), so a bring-up on sim meets the real schemas; bundle.yaml
marks each component's `crdsFrom: upstream|stand-in|upstream+stand-in`. One sim-only change to
the real CRDs: conversion webhooks are dropped (strategy None), as no webhook server runs on
sim. Off by default: the real CRDs (about 5 MB) made the full sim bring-up about 5x slower
(112 s instead of about 21 s) and its no-op re-run as slow as the first run, which the bring-up
tests do not allow; `tests/integration/upstream` checks the render against them instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from testbed.bringup.bundle import BundleEntry, staged, write_manifest
from testbed.bringup.upstream import UPSTREAMS, Kind, Upstream, Workload
from testbed.errors import ConfigError

STAND_IN_LABEL = "testbed.io/stand-in"
STAND_IN_IMAGE = "registry.invalid/testbed-stand-in/{name}:stand-in"
NEVER_READY_ANNOTATION = "testbed.io/sim-never-ready"  # tests: a Stage skips objects carrying it
README = """\
# testbed stand-in bundle (dry-run aid, NEVER for real clusters)

Written by `testbed bundle --stand-in`. It imitates the pinned upstream releases so that
`testbed up --target sim --bundle THIS_DIR` runs the whole bring-up with no network:
per upstream component, its CRDs (open-schema stand-ins for the kinds the testbed uses,
`crdsFrom: stand-in` in bundle.yaml; with --real-crds, the real ones of the pinned release when
they were in the upstream cache, `crdsFrom: upstream`, conversion webhooks dropped) and the controller
workloads under their upstream names and namespaces, running the non-existent image
registry.invalid/testbed-stand-in/*.
No operator code is in here. On sim, the kwok Stages in sim/stages.yaml set the status an
operator would (CephCluster HEALTH_OK, Application Synced/Healthy, ...); checks relying on
them are reported as "simulated". For a real cluster use `testbed bundle DIR`.
"""

Obj = dict[str, Any]


def crd(kind: Kind) -> Obj:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{kind.group}", "labels": {STAND_IN_LABEL: "true"}},
        "spec": {
            "group": kind.group,
            "names": {"kind": kind.kind, "plural": kind.plural, "singular": kind.kind.lower(), "listKind": f"{kind.kind}List"},
            "scope": "Namespaced" if kind.namespaced else "Cluster",
            "versions": [{
                "name": kind.version, "served": True, "storage": True, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }],
        },
    }


def _workload(up: Upstream, wl: Workload, namespace: str) -> list[Obj]:
    labels = {"app.kubernetes.io/name": wl.name, "app.kubernetes.io/part-of": up.name, STAND_IN_LABEL: "true", **dict(up.labels)}
    if wl.name == "envoy":
        labels["app"] = "envoy"  # the shop's NetworkPolicies admit Contour's envoy by this label
    selector = {"app.kubernetes.io/name": wl.name, "app.kubernetes.io/part-of": up.name}
    pod = {
        "metadata": {"labels": labels},
        "spec": {
            "serviceAccountName": wl.name,
            "automountServiceAccountToken": False,
            "containers": [{
                "name": wl.name, "image": STAND_IN_IMAGE.format(name=wl.name),
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
                "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
            }],
        },
    }
    meta = {"name": wl.name, "namespace": namespace, "labels": labels}
    spec: Obj = {"replicas": 1, "selector": {"matchLabels": selector}, "template": pod}
    if wl.kind == "StatefulSet":
        spec["serviceName"] = wl.name
    if wl.kind == "DaemonSet":
        del spec["replicas"]
    docs: list[Obj] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta, "automountServiceAccountToken": False},
        {"apiVersion": "apps/v1", "kind": wl.kind, "metadata": meta, "spec": spec},
    ]
    if wl.service_ports:
        ports = [{"name": f"p{p}", "port": p, "targetPort": p} for p in wl.service_ports]
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {"selector": selector, "ports": ports}})
    return docs


def controller_docs(up: Upstream, namespace: str | None = None) -> list[Obj]:
    """The stand-in install documents; `namespace` replaces a per-env namespace pattern (charts into the shop namespace)."""
    ns = namespace or up.namespace
    docs: list[Obj] = []
    if "{" not in up.namespace:  # per-env namespaces are created by the testbed's own manifests
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {STAND_IN_LABEL: "true"}}})
    for wl in up.workloads:
        docs.extend(_workload(up, wl, ns))
    return docs


def _stage(name: str, kind: Kind, not_ready_key: str, ready_values: list[str], status: str,
           main_resource: frozenset[tuple[str, str]] = frozenset()) -> Obj:
    stage = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": f"testbed-stand-in-{name}"},
        "spec": {
            "resourceRef": {"apiGroup": kind.api_version, "kind": kind.kind},
            "selector": {"matchExpressions": [
                {"key": not_ready_key, "operator": "NotIn", "values": ready_values},
                {"key": f'.metadata.annotations["{NEVER_READY_ANNOTATION}"]', "operator": "DoesNotExist"},
                {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
            ]},
            "delay": {"durationMilliseconds": 200},
            "next": {"statusTemplate": status},
        },
    }
    if (kind.api_version, kind.kind) in main_resource:  # its CRD has no status subresource (ArgoCD's Application)
        stage["spec"]["next"]["statusSubresource"] = ""
    return stage


_READY_CONDITION = """\
conditions:
- type: Ready
  status: "True"
  reason: Simulated
  message: set by a testbed stand-in kwok Stage, no operator ran
  lastTransitionTime: {{ Now | Quote }}
"""


def sim_stages(main_resource: frozenset[tuple[str, str]] = frozenset()) -> list[Obj]:
    """kwok Stages that play the operators: each drives one kind's status to what its operator reports when ready.

    `main_resource`: (apiVersion, kind) whose CRD has no status subresource; their Stage patches the object itself.
    """
    kinds = {(k.group, k.kind): k for u in UPSTREAMS for k in u.kinds}
    m = main_resource
    return [
        _stage("cephcluster", kinds["ceph.rook.io", "CephCluster"], ".status.ceph.health", ["HEALTH_OK"],
               "phase: Ready\nstate: Created\nceph:\n  health: HEALTH_OK\n" + _READY_CONDITION, m),
        _stage("cephblockpool", kinds["ceph.rook.io", "CephBlockPool"], ".status.phase", ["Ready"], "phase: Ready\n", m),
        _stage("cnpg-cluster", kinds["postgresql.cnpg.io", "Cluster"], ".status.phase", ["Cluster in healthy state"],
               "phase: Cluster in healthy state\ninstances: {{ .spec.instances }}\nreadyInstances: {{ .spec.instances }}\n"
               + _READY_CONDITION, m),
        _stage("cnpg-database", kinds["postgresql.cnpg.io", "Database"], ".status.applied", ["true"], "applied: true\n", m),
        _stage("redis", kinds["redis.redis.opstreelabs.in", "Redis"], ".status.phase", ["Ready"], "phase: Ready\n" + _READY_CONDITION, m),
        _stage("httpproxy", kinds["projectcontour.io", "HTTPProxy"], ".status.currentStatus", ["valid"],
               "currentStatus: valid\ndescription: Valid HTTPProxy (simulated)\n", m),
        _stage("application", kinds["argoproj.io", "Application"], ".status.sync.status", ["Synced"],
               "sync:\n  status: Synced\nhealth:\n  status: Healthy\n", m),
        _stage("eventlistener", kinds["triggers.tekton.dev", "EventListener"], '.status.conditions.[] | select( .type == "Ready" ) | .status', ["True"],
               _READY_CONDITION, m),
    ]


def _served(crds: list[Obj]) -> set[tuple[str, str]]:
    return {(f"{d['spec']['group']}/{v['name']}", d["spec"]["names"]["kind"])
            for d in crds for v in d["spec"].get("versions") or [] if v.get("served")}


def _for_sim(crd_doc: Obj) -> Obj:
    """A real CRD as sim needs it: without its conversion webhook (no webhook server runs on sim)."""
    spec = crd_doc.get("spec") or {}
    if (spec.get("conversion") or {}).get("strategy") == "Webhook":
        spec["conversion"] = {"strategy": "None"}
    return crd_doc


def upstream_crds(name: str, *, manifests_root: Path | None = None, cache: Path | None = None) -> list[Obj] | None:
    """The real CRDs of an upstream component from the upstream cache alone (no network), or None.

    None when versions.yaml gives no file for it (Helm charts) or any of its files is not cached.
    """
    from testbed.bringup import gomod
    from testbed.bringup.download import load_versions, pins_of
    from testbed.bringup.fetch import Fetcher, module_hashes, upstream_cache
    from testbed.render import default_root

    try:
        versions = load_versions(manifests_root or default_root())
        comp = next((c for c in versions["components"] if c.get("name") == name), None)
        pins = pins_of(comp, crds=True) if comp and comp.get("install") == "manifests" else []
        modules = module_hashes(versions)
        proxy = gomod.proxy_base()  # only to name the zips' origin: nothing is downloaded here
    except ConfigError:
        return None
    if not pins:
        return None
    loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    fetcher = Fetcher(cache=cache or upstream_cache(), proxy=proxy, modules=modules)
    docs: list[Obj] = []
    for pin in pins:
        got = fetcher.local(pin)
        if got is None:
            return None
        docs.extend(_for_sim(d) for d in yaml.load_all(got.data, Loader=loader)
                    if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition")
    return docs or None


def write_stand_in_bundle(directory: Path, *, real_crds: bool = False, manifests_root: Path | None = None,
                          cache: Path | None = None) -> list[BundleEntry]:
    """Write the stand-in bundle into `directory`, replacing it whole (built beside it, then renamed); returns its entries.

    `real_crds`: use a component's real CRDs when the upstream cache holds them (see the module docstring).
    """
    with staged(directory) as build:
        return _write_stand_in(build, real_crds=real_crds, manifests_root=manifests_root, cache=cache)


def _write_stand_in(directory: Path, *, real_crds: bool, manifests_root: Path | None, cache: Path | None) -> list[BundleEntry]:
    dumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    entries = []
    main_resource: set[tuple[str, str]] = set()
    for up in UPSTREAMS:
        sub = directory / up.name
        sub.mkdir()
        crds_file = None
        crds_from = None
        if up.kinds:
            real = (upstream_crds(up.name, manifests_root=manifests_root, cache=cache) if real_crds else None) or []
            served = _served(real)
            missing = [crd(k) for k in up.kinds if (k.api_version, k.kind) not in served]
            crds_from = "upstream" if real and not missing else "stand-in" if not real else "upstream+stand-in"
            (sub / "crds.yaml").write_text(yaml.dump_all(real + missing, Dumper=dumper, sort_keys=False))
            crds_file = f"{up.name}/crds.yaml"
            main_resource |= {(f"{d['spec']['group']}/{v['name']}", d["spec"]["names"]["kind"]) for d in real
                              for v in d["spec"].get("versions") or [] if "status" not in (v.get("subresources") or {})}
        # A per-env namespace ("testbed-{env}-shop") stays a pattern; bring-up fills it in.
        (sub / "install.yaml").write_text(yaml.safe_dump_all(controller_docs(up, up.namespace), sort_keys=False))
        images = [STAND_IN_IMAGE.format(name=w.name) for w in up.workloads]
        entries.append(BundleEntry(up.name, up.component, up.namespace, up.profiles, crds_file, f"{up.name}/install.yaml",
                                   tuple(images), crds_from=crds_from))
    (directory / "sim").mkdir()
    (directory / "sim" / "stages.yaml").write_text(yaml.safe_dump_all(sim_stages(frozenset(main_resource)), sort_keys=False))
    (directory / "README.md").write_text(README)
    write_manifest(directory, entries, stand_in=True, sim_stages="sim/stages.yaml")
    return entries


__all__ = ["NEVER_READY_ANNOTATION", "STAND_IN_LABEL", "sim_stages", "upstream_crds", "write_stand_in_bundle"]
