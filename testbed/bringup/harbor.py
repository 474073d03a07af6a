"""Harbor bootstrap: the project for the shop's images and the robot accounts CI and the shop pull with.

Runs once Harbor is healthy (the bring-up step `harbor:bootstrap`, after Harbor's waits), and on a
real cluster on every `testbed up` (Step.every_run): a robot secret rotated, deleted or expired in
Harbor, or scan settings changed in its UI, are invisible to the cluster, so only asking Harbor
finds them (a handful of GETs and 0 changed when nothing is wrong). It talks
to Harbor's API v2.0 (testbed.bringup.harbor_api) as the admin whose password the
bring-up generated (Secret harbor/harbor-admin), with the payloads the harbor step applied
(ConfigMap harbor/harbor-bootstrap: project.json, robot-<name>.json), and is idempotent:

- the project: GET /projects?name=, POST /projects when absent (201; 409 = someone else made it),
  PUT /projects/{id} when its scan settings (auto_scan, prevent_vul, severity) drifted;
- each robot `robot$<project>+<name>` (the pull robot is one per env, `pull-<env>`, as its Secret is
  one per shop namespace: envs sharing a cluster never rotate each other's credential, and each has
  only its own to lose): its secret is returned only by POST /robots (201) or PATCH
  /robots/{id} (refresh), so the Kubernetes Secret is its only copy. A Secret that still logs in
  (GET /users/current/permissions as the robot answers 200) is left alone; a missing or stale one
  gets a fresh secret through PATCH /robots/{id} {"secret": ...} and is rewritten;
- Harbor's CA (GET /systeminfo/getcert) into harbor-ca; 404 means Harbor serves plain HTTP and
  harbor-ca stays empty.

Harbor is reached at kube.harbor_url (its ingress external URL; an https URL trusts the chart's
ingress CA) or, when that is unset, through a port-forward to svc/harbor-core:80 run by the plan's
kubectl (KubeTarget.kubectl(): binaries.kubectl, PATH, the sim build cache).

Secrets never appear in messages: a failed call is ProvisioningFailed("harbor", "<METHOD> <path>:
HTTP <status> <Harbor's error message>") (harbor_api).
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from testbed.bringup.harbor_api import API, HarborAPI
from testbed.errors import ProvisioningFailed
from testbed.kube.api import KubeAPI
from testbed.kube.portforward import PortForwards

ROBOT_PREFIX = "robot$"  # Harbor's default robot_name_prefix
MARKER = "harbor-bootstrap"  # annotation on a Secret the bootstrap wrote: "ci"/"pull" (its robot) or "ca"
CORE_SERVICE, CORE_PORT = "svc/harbor-core", 80
SCAN_SETTINGS = ("auto_scan", "prevent_vul", "severity")
DOCKERCONFIG = "kubernetes.io/dockerconfigjson"
Obj = dict[str, Any]


def bootstrap_refs(env: str, shop_namespace: str) -> list[dict[str, str]]:
    """What the bootstrap reads and writes (the plan step's `secrets`). A robot ref's `robot` names its
    payload (robot-<robot>.json) and marker; `robot_name`, when set, is the robot's name in Harbor."""
    return [
        {"role": "admin", "namespace": "harbor", "name": "harbor-admin"},
        {"role": "payloads", "namespace": "harbor", "name": "harbor-bootstrap"},
        {"role": "robot", "robot": "ci", "format": "dockerconfig+basic", "namespace": "testbed-ci", "name": "harbor-robot-ci"},
        {"role": "robot", "robot": "pull", "robot_name": f"pull-{env}", "format": "dockerconfig", "namespace": shop_namespace,
         "name": "harbor-pull"},
        {"role": "ca", "namespace": "testbed-ci", "name": "harbor-ca"},
    ]


def bootstrap_waits(refs: list[dict[str, str]]) -> list[Obj]:
    """Checks that the bootstrap has written its Secrets (`testbed status`); the step runs every time anyway."""
    return [{"apiVersion": "v1", "kind": "Secret", "namespace": r["namespace"], "name": r["name"], "selector": None,
             "for": f"jsonpath={{.metadata.annotations.{MARKER}}}={_marker(r)}", "timeout_s": 60.0, "simulated": False}
            for r in refs if r["role"] in ("robot", "ca")]


def _marker(ref: Mapping[str, str]) -> str:
    return ref["robot"] if ref["role"] == "robot" else "ca"


def robot_secret() -> str:
    """A robot secret Harbor accepts (isValidSec: 8+ characters, an upper, a lower and a digit)."""
    chars = [secrets.choice(string.ascii_uppercase), secrets.choice(string.ascii_lowercase), secrets.choice(string.digits)]
    chars += [secrets.choice(string.ascii_letters + string.digits) for _ in range(29)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def dockerconfig(registry: str, username: str, password: str) -> str:
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {registry: {"username": username, "password": password, "auth": auth}}})


@dataclass
class Report:
    changed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def change(self, what: str) -> None:
        self.changed.append(what)


# -- Kubernetes side -------------------------------------------------------------------------
def _secret_value(obj: Obj | None, key: str) -> str | None:
    """The decoded value of `key`; ValueError (binascii.Error, UnicodeDecodeError) when it is not base64 UTF-8."""
    raw = ((obj or {}).get("data") or {}).get(key)
    return base64.b64decode(raw, validate=True).decode() if raw else None


def _readable_value(obj: Obj | None, key: str, where: str) -> str | None:
    """_secret_value, a hand-edited value that does not decode named as ProvisioningFailed."""
    try:
        return _secret_value(obj, key)
    except ValueError:
        raise ProvisioningFailed("harbor", f"Secret {where}: {key!r} is not base64-encoded UTF-8 text "
                                           "(edited by hand?): fix or delete it") from None


def read_secret(api: KubeAPI, namespace: str, name: str, key: str, *, fallback: str | None = None) -> str:
    obj = api.get("v1", "Secret", name, namespace)
    where = f"{namespace}/{name}"
    value = _readable_value(obj, key, where) or (_readable_value(obj, fallback, where) if fallback else None)
    if not value:
        raise ProvisioningFailed("harbor", f"Secret {namespace}/{name} has no {key!r}: run the secrets step first")
    return value


def write_secret(api: KubeAPI, namespace: str, name: str, kind: str, data: Mapping[str, str], marker: str) -> bool:
    """Make the Secret hold exactly `data` (type `kind`, annotation MARKER); False when it already did."""
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    live = api.get("v1", "Secret", name, namespace)
    meta = {"name": name, "namespace": namespace, "annotations": {MARKER: marker},
            "labels": {"app.kubernetes.io/part-of": "testbed", "testbed.io/generated": "harbor-bootstrap"}}
    if live is not None and live.get("type") == kind:
        held = (live.get("metadata") or {}).get("annotations") or {}
        if (live.get("data") or {}) == encoded and held.get(MARKER) == marker:
            return False
        stale = {k: None for k in (live.get("data") or {}) if k not in encoded}
        api.patch("v1", "Secret", name, {"data": {**stale, **encoded}, "metadata": {"annotations": {MARKER: marker}}},
                  namespace=namespace)
        return True
    if live is not None:  # a Secret's type is immutable: replace it
        api.delete("v1", "Secret", name, namespace=namespace)
        api.wait_until_gone("v1", "Secret", name, namespace=namespace, timeout_s=30)
    api.create({"apiVersion": "v1", "kind": "Secret", "type": kind, "data": encoded, "metadata": meta})
    return True


def _credential(live: Obj | None, ref: Mapping[str, str], registry: str) -> tuple[str, str] | None:
    """(username, password) the Secret holds for `registry`, if any."""
    if live is None:
        return None
    try:  # a value that does not decode, or JSON of another shape, is a credential we do not have
        if "basic" in ref["format"]:
            user, password = _secret_value(live, "username"), _secret_value(live, "password")
            return (user, password) if user and password else None
        auths = json.loads(_secret_value(live, ".dockerconfigjson") or "{}").get("auths") or {}
        entry = auths.get(registry) or {}
        user, password = entry.get("username"), entry.get("password")
    except (ValueError, AttributeError):
        return None
    return (user, password) if isinstance(user, str) and isinstance(password, str) and user and password else None


def _robot_data(ref: Mapping[str, str], registry: str, username: str, password: str) -> dict[str, str]:
    data = {".dockerconfigjson": dockerconfig(registry, username, password)}
    if "basic" in ref["format"]:
        data |= {"username": username, "password": password}
    return data


# -- the job ---------------------------------------------------------------------------------
def _ensure_project(harbor: HarborAPI, payload: Obj, report: Report) -> int:
    name = payload["project_name"]
    project = harbor.project(name)
    if project is None:
        if harbor.create_project(payload):
            report.change(f"project {name} created")
        project = harbor.project(name)
        if project is None:
            raise ProvisioningFailed("harbor", f"GET {API}/projects: project {name} not found after it was created")
    want = {k: str(v) for k, v in (payload.get("metadata") or {}).items() if k in SCAN_SETTINGS}
    live = project.get("metadata")
    have = {k: str((live if isinstance(live, dict) else {}).get(k)) for k in want}
    if have != want:
        harbor.update_project(project["project_id"], {"metadata": payload["metadata"]})
        report.change(f"project {name} scan settings set ({', '.join(f'{k}={v}' for k, v in want.items())})")
    project_id: int = project["project_id"]  # checked by HarborAPI.project
    return project_id


def _ensure_robot(api: KubeAPI, harbor: HarborAPI, ref: Mapping[str, str], payload: Obj, project: str,
                  project_id: int, registry: str, report: Report) -> None:
    name = ref.get("robot_name") or payload["name"]
    full_name = f"{ROBOT_PREFIX}{project}+{name}"
    where = f"{ref['namespace']}/{ref['name']}"
    robot = harbor.robot(project_id, full_name)
    if robot is None:
        body = {**payload, "name": name, "permissions": [{**p, "namespace": project} for p in payload.get("permissions") or []]}
        if name != payload["name"]:
            body["description"] = f"{payload.get('description') or name} ({where})"
        created = harbor.create_robot(body)
        if created is not None:
            username, password = created["name"], created["secret"]  # checked by HarborAPI.create_robot
            write_secret(api, ref["namespace"], ref["name"], DOCKERCONFIG, _robot_data(ref, registry, username, password), _marker(ref))
            report.change(f"robot {username} created, Secret {where} written")
            return
        robot = harbor.robot(project_id, full_name)  # created meanwhile (409): its secret is lost to us
        if robot is None:
            raise ProvisioningFailed("harbor", f"POST {API}/robots: 409 for {full_name} but it is not listed")
    username = str(robot["name"])
    held = _credential(api.get("v1", "Secret", ref["name"], ref["namespace"]), ref, registry)
    if held is not None and held[0] == username and harbor.robot_can_log_in(*held, project_id):
        # still works: make sure the Secret carries the marker and both formats, never rotate
        if write_secret(api, ref["namespace"], ref["name"], DOCKERCONFIG, _robot_data(ref, registry, *held), _marker(ref)):
            report.change(f"Secret {where} marked (credential unchanged)")
        return
    password = robot_secret()
    harbor.refresh_secret(robot["id"], password)
    write_secret(api, ref["namespace"], ref["name"], DOCKERCONFIG, _robot_data(ref, registry, username, password), _marker(ref))
    report.change(f"robot {username} secret refreshed, Secret {where} rewritten"
                  + (" (it was missing)" if held is None else " (it no longer logged in)"))


def _ensure_ca(api: KubeAPI, harbor: HarborAPI, ref: Mapping[str, str], report: Report) -> None:
    pem = harbor.ca_cert()
    if pem is None:
        report.notes.append("Harbor has no CA to download (GET /systeminfo/getcert: 404, plain HTTP): harbor-ca left empty")
    if write_secret(api, ref["namespace"], ref["name"], "Opaque", {"ca.crt": pem or ""}, "ca"):
        report.change(f"Secret {ref['namespace']}/{ref['name']} " + ("holds Harbor's CA" if pem else "marked (empty: plain HTTP)"))


def registry_host(info: Mapping[str, Any], base_url: str) -> str:
    """The host docker/kaniko push to: systeminfo's registry_url, else external_url's host."""
    raw = str(info.get("registry_url") or info.get("external_url") or base_url)
    return urlparse(raw).netloc if "://" in raw else raw.split("/")[0]


def bootstrap(api: KubeAPI, base_url: str, refs: list[dict[str, str]], *, verify: bool | str = True,
              timeout_s: float = 15.0) -> Report:
    """Ensure the project, each robot and its Secret, and harbor-ca; returns what changed (never a secret)."""
    by_role = {r["role"]: r for r in refs if r["role"] != "robot"}
    admin, payloads = by_role["admin"], by_role["payloads"]
    password = read_secret(api, admin["namespace"], admin["name"], "HARBOR_ADMIN_PASSWORD", fallback="password")
    config = api.get("v1", "ConfigMap", payloads["name"], payloads["namespace"])
    if config is None:
        raise ProvisioningFailed("harbor", f"ConfigMap {payloads['namespace']}/{payloads['name']} (the Harbor API payloads) does not exist")
    docs = payload_documents(config, f"ConfigMap {payloads['namespace']}/{payloads['name']}",
                             [f"robot-{r['robot']}.json" for r in refs if r["role"] == "robot"])
    report = Report()
    harbor = HarborAPI(base_url, password, verify=verify, timeout_s=timeout_s)
    try:
        health = harbor.health()
        if health.get("status") != "healthy":
            parts = health.get("components")
            bad = [f"{c.get('name')}={c.get('status')}" for c in (parts if isinstance(parts, list) else [])
                   if isinstance(c, dict) and c.get("status") != "healthy"]
            raise ProvisioningFailed("harbor", f"GET {API}/health: Harbor is {health.get('status')}: {', '.join(bad) or 'no detail'}")
        harbor.check_admin()
        registry = registry_host(harbor.systeminfo(), base_url)
        project_payload = docs["project.json"]
        project_id = _ensure_project(harbor, project_payload, report)
        for ref in (r for r in refs if r["role"] == "robot"):
            _ensure_robot(api, harbor, ref, docs[f"robot-{ref['robot']}.json"], project_payload["project_name"], project_id,
                          registry, report)
        if "ca" in by_role:
            _ensure_ca(api, harbor, by_role["ca"], report)
    finally:
        harbor.close()
    return report


def payload_documents(config: Obj, where: str, robot_keys: list[str]) -> dict[str, Obj]:
    """The ConfigMap's payloads, each checked for what the bootstrap reads: project.json's project_name
    and metadata, each robot-<name>.json's name and permissions; every problem names the key and the field."""
    data = config.get("data") or {}
    wanted = {"project.json": {"project_name": str}, **{key: {"name": str} for key in robot_keys}}
    docs: dict[str, Obj] = {}
    for key, fields in wanted.items():
        if key not in data:
            raise ProvisioningFailed("harbor", f"{where} has no {key}")
        try:
            doc = json.loads(data[key])
        except ValueError as err:
            raise ProvisioningFailed("harbor", f"{where}: {key} is not JSON: {err}") from None
        if not isinstance(doc, dict):
            raise ProvisioningFailed("harbor", f"{where}: {key} is {type(doc).__name__}, not a JSON object")
        for name, kind in fields.items():
            if not isinstance(doc.get(name), kind) or not doc[name]:
                raise ProvisioningFailed("harbor", f"{where}: {key} has no {name!r}")
        metadata, permissions = doc.get("metadata"), doc.get("permissions")
        if key == "project.json" and metadata is not None and not isinstance(metadata, dict):
            raise ProvisioningFailed("harbor", f"{where}: {key}: 'metadata' is {type(metadata).__name__}, not an object")
        if key != "project.json" and permissions is not None and not (
                isinstance(permissions, list) and all(isinstance(x, dict) for x in permissions)):
            raise ProvisioningFailed("harbor", f"{where}: {key}: 'permissions' is not a list of objects")
        docs[key] = doc
    return docs


@contextmanager
def harbor_endpoint(api: KubeAPI, kubeconfig: Path, context: str | None, harbor_url: str | None,
                    namespace: str = "harbor", *, kubectl: Path | None = None) -> Iterator[tuple[str, bool | str]]:
    """(base URL, TLS verify) to reach Harbor from here: kube.harbor_url, trusting the chart's ingress CA
    (Secret <namespace>/harbor-ingress, certSource auto) when it has one; else a port-forward to svc/harbor-core:80
    run by `kubectl` (the plan's: binaries.kubectl, ...; None: the one on PATH)."""
    if harbor_url:
        ingress = api.get("v1", "Secret", "harbor-ingress", namespace) if harbor_url.startswith("https:") else None
        ca = _readable_value(ingress, "ca.crt", f"{namespace}/harbor-ingress")
        if not ca:
            yield harbor_url.rstrip("/"), True
            return
        with tempfile.TemporaryDirectory(prefix="testbed-harbor-") as tmp:
            bundle = Path(tmp) / "ca.crt"
            bundle.write_text(ca)
            yield harbor_url.rstrip("/"), str(bundle)
        return
    with PortForwards(kubeconfig, context, namespace, kubectl=kubectl) as forwards:
        yield f"http://{forwards.open(CORE_SERVICE, CORE_PORT)}", True
