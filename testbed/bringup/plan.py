"""The bring-up plan: what each step applies and waits for, written as files the playbooks read.

Inputs: manifests/components.yaml (components, stages, waits: the contract with manifests/),
the rendered overlay (`testbed render`), and a bundle (upstream CRDs and installs). Output:
one YAML file of whole documents per step, and plan.json listing the steps in the order
namespaces, secrets, CRDs, [sim stand-in operators], storage, ingress, registry, operators,
instances, shop; Applications' Synced/Healthy waits run last (they follow the shop's rollout).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from testbed.bringup.bundle import Bundle, BundleEntry
from testbed.bringup.drift import stamp
from testbed.bringup.harbor import bootstrap_refs, bootstrap_waits
from testbed.bringup.upstream import all_kinds
from testbed.errors import ConfigError
from testbed.kube.objects import Obj, object_label
from testbed.manifests_gen.gitops import placeholder_warning
from testbed.render import by_component, documents, render

STAGES = ("storage", "ingress", "registry", "operators", "instances", "shop")
MANAGED_LABEL = "testbed.io/managed-by"
MANAGED_VALUE = "testbed-bringup"
PLAN_FILE = "plan.json"
_BUILTIN_KINDS = {"Namespace": "v1", "Endpoints": "v1", "Service": "v1", "Deployment": "apps/v1", "StatefulSet": "apps/v1",
                  "DaemonSet": "apps/v1", "CustomResourceDefinition": "apiextensions.k8s.io/v1"}
_CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "StorageClass",
                   "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
                   "IngressClass", "CSIDriver", "RuntimeClass", "PersistentVolume", "ClusterInterceptor",
                   "ClusterTriggerBinding", "GatewayClass", "VolumeSnapshotClass", "ClusterIssuer"}
_KIND_ORDER = {"Namespace": 0, "CustomResourceDefinition": 1, "ServiceAccount": 2, "ConfigMap": 2, "Secret": 2,
               "ClusterRole": 3, "Role": 3, "ClusterRoleBinding": 4, "RoleBinding": 4, "Service": 5}


@dataclass
class Step:
    name: str
    """Unique step name, e.g. "cloudnative-pg:upstream"; the progress and record key."""
    component: str
    stage: str
    role: str
    file: str | None = None
    waits: list[Obj] = field(default_factory=list)
    objects: list[Obj] = field(default_factory=list)  # refs of what `file` holds, for teardown
    secrets: list[dict[str, str]] = field(default_factory=list)
    every_run: bool = False
    """Runs on every bring-up, whatever the drift check sees: what it keeps in sync lives outside the
    cluster (Harbor's robots and project), so no object or wait here can say it is still right."""


@dataclass
class Plan:
    profile: str
    env: str
    sim: bool
    kubeconfig: str
    context: str | None
    steps: list[Step]
    sim_stages: str | None = None
    state_dir: str = ""
    harbor_url: str | None = None  # kube.harbor_url; None: the Harbor bootstrap port-forwards to svc/harbor-core
    kubectl: str | None = None  # the kubectl that port-forward runs (binaries.kubectl, ...); None: the one on PATH
    tls_ca_dir: str = ""  # the testbed CA (ca.crt, ca.key) that signs the ingress certificate; "" = none needed
    warnings: list[str] = field(default_factory=list)  # one line each, shown before the bring-up and recorded

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def namespaces(self) -> list[str]:
        return [o["name"] for s in self.steps for o in s.objects if o["kind"] == "Namespace"]


def load_components(manifests_root: Path) -> list[Obj]:
    path = manifests_root / "components.yaml"
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read the bring-up plan: {err}", source=str(path)) from None
    comps = doc.get("components") if isinstance(doc, dict) else None
    if not isinstance(comps, list):
        raise ConfigError("no components list", source=str(path), field="components")
    return comps


def _role(name: str) -> str:
    return name.replace("-", "_")


def _ref(obj: Mapping[str, Any]) -> Obj:
    meta = obj.get("metadata") or {}
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta.get("name"), "namespace": meta.get("namespace")}


def _label(docs: Iterable[Obj]) -> list[Obj]:
    out = []
    for doc in docs:
        meta = doc.setdefault("metadata", {})
        meta["labels"] = {**(meta.get("labels") or {}), MANAGED_LABEL: MANAGED_VALUE}
        out.append(stamp(doc))
    return sorted(out, key=lambda d: _KIND_ORDER.get(d["kind"], 9))


class _Builder:
    def __init__(self, bundle: Bundle, rendered: dict[str, list[Obj]], profile: str, env: str, sim: bool,
                 workdir: Path, timeout_cap_s: float | None) -> None:
        self.bundle, self.rendered, self.profile, self.env, self.sim = bundle, rendered, profile, env, sim
        self.workdir, self.cap = workdir, timeout_cap_s
        self.shop_ns = f"testbed-{env}-shop"
        self.custom = {k.kind: k for k in all_kinds().values()}
        self.entries = {e.name: e for e in bundle.entries}
        self.applied: set[tuple[str, str | None, str]] = set()
        self.steps: list[Step] = []

    def install_docs(self, entry: BundleEntry) -> list[Obj]:
        """The upstream install documents; namespaced ones without a namespace (`helm template`) get the entry's."""
        text = (self.bundle.root / entry.install).read_text().replace("{env}", self.env)
        docs = documents(text)
        namespace = entry.namespace.replace("{env}", self.env)
        for doc in docs:
            meta = doc.setdefault("metadata", {})
            if doc["kind"] not in _CLUSTER_SCOPED and not meta.get("namespace"):
                meta["namespace"] = namespace
        return docs

    def crd_docs(self, entry: BundleEntry) -> list[Obj]:
        return documents((self.bundle.root / entry.crds).read_text()) if entry.crds else []

    def entry(self, name: str, component: str) -> BundleEntry:
        if name not in self.entries:
            raise ConfigError(f"the bundle has no upstream component {name!r} (needed by {component}); "
                              "write a complete bundle with `testbed bundle`", source=str(self.bundle.root))
        return self.entries[name]

    def timeout(self, seconds: float) -> float:
        return min(seconds, self.cap) if self.cap else seconds

    def wait(self, raw: Mapping[str, Any], component_docs: list[Obj]) -> Obj:
        kind = str(raw["kind"])
        ns = raw.get("namespace")
        ns = ns.replace("{shop}", self.shop_ns).replace("{env}", self.env) if isinstance(ns, str) else None
        api_version = _BUILTIN_KINDS.get(kind) or (self.custom[kind].api_version if kind in self.custom else None)
        if api_version is None:
            raise ConfigError(f"no apiVersion known for kind {kind}", field="components.yaml waits")
        timeout = float(raw.get("timeout_s", 300))
        wait: Obj = {"apiVersion": api_version, "kind": kind, "namespace": ns, "name": raw.get("name"),
                     "selector": str(raw["selector"]).replace("{env}", self.env) if raw.get("selector") else None,
                     "for": str(raw["for"]), "timeout_s": self.timeout(timeout),
                     "simulated": self.sim and kind in self.custom}
        if self.sim and kind in ("StatefulSet", "Deployment") and wait["name"] \
                and (kind, ns, wait["name"]) not in self.applied:
            # Made by an operator that does not run on sim: wait for its instance's stand-in status instead.
            for doc in component_docs:
                if doc["kind"] in self.custom and doc["metadata"].get("name") == wait["name"]:
                    return {**wait, **_ref(doc), "for": "jsonpath={.status.phase}=Ready", "simulated": True,
                            "stands_for": f"{object_label(kind, wait['name'], ns)} (operator-created)"}
        return wait

    def add(self, name: str, component: str, stage: str, docs: list[Obj], waits: list[Obj], role: str | None = None) -> None:
        file = None
        docs = _label(docs)
        if docs:
            path = self.workdir / f"{len(self.steps):02d}-{name.replace(':', '-')}.yaml"
            path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
            file = str(path)
            for d in docs:
                self.applied.add((d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]))
        self.steps.append(Step(name, component, stage, role or _role(component), file, waits, [_ref(d) for d in docs]))


def build_plan(*, bundle: Bundle, manifests_root: Path, profile: str, env: str, sim: bool, kubeconfig: str,
               context: str | None, workdir: Path, timeout_cap_s: float | None = None,
               rendered_text: str | None = None, harbor_url: str | None = None, gitops_repo: str | None = None,
               gitops_revision: str | None = None, tls_ca_dir: Path | None = None, kubectl: Path | None = None) -> Plan:
    """Write the step files into `workdir` and return the plan (also written as workdir/plan.json).

    `gitops_repo`/`gitops_revision` point Argo CD at the user's repository (testbed.render);
    `tls_ca_dir` keeps the testbed CA that signs the ingress certificate (default: workdir/ca).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    comps = [c for c in load_components(manifests_root) if profile in (c.get("profiles") or [])]
    text = rendered_text if rendered_text is not None else render(profile, env, root=manifests_root,
                                                                  gitops_repo=gitops_repo, gitops_revision=gitops_revision)
    rendered = by_component(documents(text))
    b = _Builder(bundle, rendered, profile, env, sim, workdir, timeout_cap_s)

    ups: dict[str, list[BundleEntry]] = {}
    for comp in comps:
        names = comp.get("upstream") or []
        ups[comp["name"]] = [b.entry(n, comp["name"]) for n in ([names] if isinstance(names, str) else names)]

    namespaces: dict[str, Obj] = {}
    for comp in comps:
        for entry in ups[comp["name"]]:
            for d in b.install_docs(entry):
                if d["kind"] == "Namespace":
                    namespaces.setdefault(d["metadata"]["name"], d)
        for d in rendered.get(comp.get("rendered") or "", []):
            if d["kind"] == "Namespace":
                namespaces[d["metadata"]["name"]] = d
    ns_waits = [{"apiVersion": "v1", "kind": "Namespace", "namespace": None, "name": n, "selector": None,
                 "for": "jsonpath={.status.phase}=Active", "timeout_s": b.timeout(60.0), "simulated": False}
                for n in namespaces]
    b.add("namespaces", "namespaces", "namespaces", list(namespaces.values()), ns_waits)

    wanted = []
    for comp in comps:
        for item in comp.get("secrets_before") or []:
            ref, _, cond = str(item).partition(" (")
            if cond.rstrip(")") and cond.rstrip(")") != profile:
                continue
            ns, name = ref.replace("{shop}", b.shop_ns).split("/", 1)
            wanted.append({"namespace": ns, "name": name})
    if any(c["name"] == "postgres" for c in comps):
        wanted.append({"namespace": b.shop_ns, "name": "shop-postgres-app"})
    tls = tls_secrets(rendered.get("contour", []))
    wanted += tls
    b.steps.append(Step("secrets", "secrets", "namespaces", "secrets", secrets=wanted))

    crds = [d for comp in comps for e in ups[comp["name"]] for d in b.crd_docs(e)]
    crd_waits = [{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "namespace": None,
                  "name": d["metadata"]["name"], "selector": None, "for": "condition=Established", "timeout_s": b.timeout(60.0),
                  "simulated": False} for d in crds]
    b.add("crds", "crds", "crds", crds, crd_waits)
    if sim:
        b.steps.append(Step("sim-operators", "sim-operators", "crds", "sim_operators"))

    deferred: list[Obj] = []
    for stage in STAGES:
        for comp in comps:
            name = comp["name"]
            if ups[name] and comp.get("stage") == stage:
                docs = [d for e in ups[name] for d in b.install_docs(e) if d["kind"] != "Namespace"]
                b.add(f"{name}:upstream", name, stage, docs, [])
                b.steps[-1].waits = [b.wait(w, docs) for w in comp.get("operator_waits") or []]
            if comp.get("rendered") and comp.get("rendered_stage") == stage and name != "namespaces":
                docs = [d for d in rendered.get(comp["rendered"], []) if d["kind"] != "Namespace"]
                b.add(name, name, stage, docs, [])
                waits = [b.wait(w, docs) for w in comp.get("ready_waits") or []]
                deferred += [w for w in waits if w["kind"] == "Application"]
                b.steps[-1].waits = [w for w in waits if w["kind"] != "Application"]
            if name == "harbor" and comp.get("rendered_stage") == stage:  # Harbor is up: its project and robots
                refs = bootstrap_refs(env, b.shop_ns)
                b.steps.append(Step("harbor:bootstrap", "harbor", stage, "harbor", secrets=refs,
                                    waits=[] if sim else bootstrap_waits(refs), every_run=not sim))
    if deferred:
        b.steps.append(Step("argocd:applications", "argocd", "shop", "argocd", waits=deferred))
    stages = _sim_stages(bundle, crds, workdir) if sim else None
    warnings = [placeholder_warning(env)] if profile == "full" and not sim and gitops_repo is None else []
    plan = Plan(profile, env, sim, kubeconfig, context, b.steps, stages, str(workdir), harbor_url,
                str(kubectl) if kubectl else None, str(tls_ca_dir or workdir / "ca") if tls else "", warnings)
    (workdir / PLAN_FILE).write_text(json.dumps(plan.to_json(), indent=1))
    return plan


def tls_secrets(docs: Iterable[Obj]) -> list[dict[str, Any]]:
    """The TLS Secrets the HTTPProxies name ({namespace, name, hosts}), each for every fqdn that uses it."""
    hosts: dict[tuple[str, str], list[str]] = {}
    for doc in docs:
        vhost = (doc.get("spec") or {}).get("virtualhost") or {}
        secret = (vhost.get("tls") or {}).get("secretName")
        if doc.get("kind") == "HTTPProxy" and secret and "/" not in secret and vhost.get("fqdn"):
            names = hosts.setdefault((doc["metadata"]["namespace"], secret), [])
            if vhost["fqdn"] not in names:
                names.append(vhost["fqdn"])
    return [{"namespace": ns, "name": name, "hosts": names} for (ns, name), names in hosts.items()]


def _sim_stages(bundle: Bundle, crds: list[Obj], workdir: Path) -> str | None:
    """The bundle's stand-in Stages for the kinds this plan installs (kwok fails on a kind the API does not serve)."""
    if bundle.sim_stages is None:
        return None
    served = {(f"{d['spec']['group']}/{v['name']}", d["spec"]["names"]["kind"]) for d in crds for v in d["spec"]["versions"]}
    stages = [d for d in documents(bundle.sim_stages.read_text())
              if (d["spec"]["resourceRef"]["apiGroup"], d["spec"]["resourceRef"]["kind"]) in served]
    if not stages:
        return None
    path = workdir / "sim-stages.yaml"
    path.write_text(yaml.safe_dump_all(stages, sort_keys=False))
    return str(path)


def load_plan(path: Path) -> Plan:
    raw = json.loads(path.read_text())
    raw["steps"] = [Step(**s) for s in raw["steps"]]
    return Plan(**raw)
