"""The one adapter between testbed and the Kubernetes API.

This is the only module that imports the `kubernetes` client. It speaks in plain dicts
(the API's own JSON shape) so callers never see client model classes, and it turns
client exceptions into testbed's: an API that cannot be reached is `TargetUnreachable`,
any other refused request is a `TestbedError` naming the verb, the object and the
server's reason. Every wait is deadline-bound (see `testbed.kube.wait`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from testbed.errors import ConfigError, TargetUnreachable, TestbedError
from testbed.kube.objects import Obj, condition_status, desired_state, load_manifest, object_label
from testbed.kube.wait import Seen, wait_until

FIELD_MANAGER = "testbed"


@dataclass(frozen=True)
class Applied:
    """The outcome of server-side applying one object."""

    kind: str
    name: str
    namespace: str | None
    changed: bool  # False when the object's spec, data and metadata are as they were
    resource_version: str


class KubeAPI:
    """A connection to one cluster, built from a kubeconfig file."""

    def __init__(self, kubeconfig: str | Path, *, context: str | None = None, request_timeout_s: float = 15.0) -> None:
        self.kubeconfig = Path(kubeconfig)
        if not self.kubeconfig.is_file():
            raise TargetUnreachable(f"kubeconfig {self.kubeconfig} does not exist")
        try:
            self._client = k8s_config.new_client_from_config(config_file=str(self.kubeconfig), context=context)
        except ConfigException as err:
            raise ConfigError(f"cannot load kubeconfig: {err}", source=str(self.kubeconfig)) from err
        # Fail fast: a refused connection is reported, not retried three times per call.
        self._client.configuration.retries = 1
        self.host: str = self._client.configuration.host
        self.request_timeout_s = request_timeout_s
        self._default_request_timeout()
        self._dynamic: DynamicClient | None = None
        digest = hashlib.sha256(self.host.encode()).hexdigest()[:12]
        self._discovery_cache = Path(tempfile.gettempdir()) / f"testbed-discovery-{digest}-{os.getpid()}.json"

    def _default_request_timeout(self) -> None:
        """Give every request a deadline, including the dynamic client's discovery calls,
        which pass no timeout of their own (urllib3 would then wait forever)."""
        rest = self._client.rest_client
        send = rest.request

        def request_with_deadline(*args: Any, _request_timeout: Any = None, **kwargs: Any) -> Any:
            return send(*args, _request_timeout=_request_timeout or self.request_timeout_s, **kwargs)

        rest.request = request_with_deadline

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self._client.close()
        self._discovery_cache.unlink(missing_ok=True)

    def __enter__(self) -> KubeAPI:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- health ----------------------------------------------------------------------------
    def probe(self, path: str = "/readyz", timeout_s: float = 3.0) -> tuple[bool, str]:
        """GET a raw health path; (True, body) when it answers 200, else (False, why). Never raises."""
        try:
            resp = self._client.call_api(
                *self._client.param_serialize("GET", path, auth_settings=["BearerToken"]),
                _request_timeout=timeout_s,
            )
            resp.read()
            body = resp.data.decode(errors="replace").strip() if resp.data else ""
            return resp.status == 200, body or f"HTTP {resp.status}"
        except ApiException as err:
            return False, f"HTTP {err.status} {err.reason}"
        except (urllib3.exceptions.HTTPError, OSError) as err:
            return False, _short(err)

    # -- objects ---------------------------------------------------------------------------
    def apply(
        self,
        objects: Iterable[Mapping[str, Any]],
        *,
        namespace: str | None = None,
        field_manager: str = FIELD_MANAGER,
        force: bool = True,
    ) -> list[Applied]:
        """Server-side apply each object in order; report per object whether anything changed."""
        results = []
        for obj in objects:
            meta = obj.get("metadata") or {}
            name = meta.get("name")
            if not name:
                raise ConfigError(f"{obj.get('kind')} has no metadata.name")
            resource = self._resource(obj["apiVersion"], obj["kind"])
            ns = (meta.get("namespace") or namespace) if resource.namespaced else None
            before = self.get(obj["apiVersion"], obj["kind"], name, ns)
            body = dict(obj)
            if ns:
                body["metadata"] = {**meta, "namespace": ns}
            with self._errors("apply", object_label(obj["kind"], name, ns)):
                after = self._dyn.server_side_apply(
                    resource,
                    body=body,
                    namespace=ns,
                    field_manager=field_manager,
                    force_conflicts=force,
                    _request_timeout=self.request_timeout_s,
                ).to_dict()
            changed = before is None or desired_state(before) != desired_state(after)
            results.append(Applied(obj["kind"], name, ns, changed, after["metadata"]["resourceVersion"]))
        return results

    def apply_manifest(self, text: str, *, namespace: str | None = None) -> list[Applied]:
        """Server-side apply a multi-document YAML manifest."""
        return self.apply(load_manifest(text), namespace=namespace)

    def create(self, obj: Mapping[str, Any], *, namespace: str | None = None) -> Obj:
        """Create one object (fails if it exists); returns the stored object."""
        resource = self._resource(obj["apiVersion"], obj["kind"])
        ns = (obj.get("metadata", {}).get("namespace") or namespace) if resource.namespaced else None
        with self._errors("create", object_label(obj["kind"], obj.get("metadata", {}).get("name", "?"), ns)):
            created: Obj = self._dyn.create(
                resource, body=dict(obj), namespace=ns, _request_timeout=self.request_timeout_s
            ).to_dict()
        return created

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        """One object as a dict, or None if it does not exist."""
        resource = self._resource(api_version, kind)
        try:
            with self._errors("get", object_label(kind, name, namespace)):
                found: Obj = self._dyn.get(
                    resource, name=name, namespace=namespace, _request_timeout=self.request_timeout_s
                ).to_dict()
                return found
        except _NotFound:
            return None

    def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        """All objects of a kind (in one namespace, or cluster-wide when namespace is None)."""
        resource = self._resource(api_version, kind)
        with self._errors("list", f"{kind} in {namespace or 'all namespaces'}"):
            result = self._dyn.get(
                resource,
                namespace=namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                _request_timeout=self.request_timeout_s,
            ).to_dict()
        return list(result.get("items") or [])

    def patch(
        self, api_version: str, kind: str, name: str, patch: Mapping[str, Any], *, namespace: str | None = None
    ) -> Obj:
        """JSON merge-patch one object (labels, annotations, spec fields)."""
        resource = self._resource(api_version, kind)
        with self._errors("patch", object_label(kind, name, namespace)):
            patched: Obj = self._dyn.patch(
                resource,
                body=dict(patch),
                name=name,
                namespace=namespace,
                content_type="application/merge-patch+json",
                _request_timeout=self.request_timeout_s,
            ).to_dict()
        return patched

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        *,
        namespace: str | None = None,
        propagation: str = "Background",
        grace_period_s: int | None = None,
    ) -> bool:
        """Ask the server to delete an object and return at once; False if it did not exist."""
        resource = self._resource(api_version, kind)
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if grace_period_s is not None:
            body["gracePeriodSeconds"] = grace_period_s
        try:
            with self._errors("delete", object_label(kind, name, namespace)):
                self._dyn.delete(
                    resource, name=name, namespace=namespace, body=body, _request_timeout=self.request_timeout_s
                )
        except _NotFound:
            return False
        return True

    # -- waits -----------------------------------------------------------------------------
    def wait_for(
        self,
        what: str,
        api_version: str,
        kind: str,
        name: str,
        check: Callable[[Obj | None], tuple[bool, str]],
        *,
        namespace: str | None = None,
        timeout_s: float,
        interval_s: float = 0.5,
    ) -> Obj | None:
        """Poll one object until `check(obj)` says done; `check` also describes the state it saw."""

        def probe() -> Seen[Obj]:
            obj = self.get(api_version, kind, name, namespace)
            done, state = check(obj)
            return Seen(done, state, obj)

        return wait_until(what, probe, timeout_s=timeout_s, interval_s=interval_s)

    def wait_for_condition(
        self,
        api_version: str,
        kind: str,
        name: str,
        condition: str,
        *,
        status: str = "True",
        namespace: str | None = None,
        timeout_s: float,
    ) -> Obj:
        """Wait until `status.conditions[type=condition].status == status`; returns the object."""

        def check(obj: Obj | None) -> tuple[bool, str]:
            if obj is None:
                return False, "object does not exist"
            return condition_status(obj, condition) == status, _conditions_summary(obj)

        found = self.wait_for(
            f"{object_label(kind, name, namespace)} condition {condition}={status}",
            api_version,
            kind,
            name,
            check,
            namespace=namespace,
            timeout_s=timeout_s,
        )
        assert found is not None  # check() never reports done for a missing object
        return found

    def wait_until_gone(
        self, api_version: str, kind: str, name: str, *, namespace: str | None = None, timeout_s: float
    ) -> None:
        """Wait until an object no longer exists."""

        def check(obj: Obj | None) -> tuple[bool, str]:
            if obj is None:
                return True, "gone"
            deleting = obj["metadata"].get("deletionTimestamp")
            return False, f"still present (deletionTimestamp={deleting})"

        self.wait_for(
            f"{object_label(kind, name, namespace)} to be deleted",
            api_version,
            kind,
            name,
            check,
            namespace=namespace,
            timeout_s=timeout_s,
        )

    # -- diagnostics -----------------------------------------------------------------------
    def events(self, namespace: str | None = None, *, involved_name: str | None = None) -> list[Obj]:
        """Core events, oldest first, optionally only those about one object."""
        selector = f"involvedObject.name={involved_name}" if involved_name else None
        items = self.list("v1", "Event", namespace=namespace, field_selector=selector)
        return sorted(items, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))

    def pod_logs(
        self, name: str, namespace: str, *, container: str | None = None, tail_lines: int | None = None
    ) -> str:
        """The log of one pod's container (kwok's simulated pods have none unless configured)."""
        with self._errors("read logs of", object_label("Pod", name, namespace)):
            text = k8s_client.CoreV1Api(self._client).read_namespaced_pod_log(
                name,
                namespace,
                container=container,
                tail_lines=tail_lines,
                _request_timeout=self.request_timeout_s,
            )
        return str(text)

    # -- internals -------------------------------------------------------------------------
    @property
    def _dyn(self) -> DynamicClient:
        if self._dynamic is None:
            with self._errors("discover", "API resources"):
                self._dynamic = DynamicClient(self._client, cache_file=str(self._discovery_cache))
        return self._dynamic

    def _resource(self, api_version: str, kind: str) -> Any:
        try:
            with self._errors("discover", f"{kind} in {api_version}"):
                return self._dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError as err:
            raise TestbedError(f"the API server at {self.host} serves no kind {kind} in {api_version}") from err

    @contextmanager
    def _errors(self, verb: str, what: str) -> Iterator[None]:
        try:
            yield
        except NotFoundError as err:
            raise _NotFound(f"{verb} {what}: not found") from err
        except ApiException as err:
            if err.status == 404:
                raise _NotFound(f"{verb} {what}: not found") from err
            if not err.status:
                raise TargetUnreachable(f"cannot reach the Kubernetes API at {self.host}: {err.reason}") from err
            raise TestbedError(f"{verb} {what} failed: HTTP {err.status} {err.reason}: {_api_message(err)}") from err
        except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as err:
            raise TargetUnreachable(f"cannot reach the Kubernetes API at {self.host}: {_short(err)}") from err


class _NotFound(TestbedError):
    """Internal: the server answered 404; public methods turn this into None/False."""


def _api_message(err: ApiException) -> str:
    try:
        body = yaml.safe_load(err.body) if err.body else None
    except yaml.YAMLError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(err.body or "").strip()[:300]


def _short(err: BaseException) -> str:
    reason = getattr(err, "reason", None)
    return str(reason or err).splitlines()[0][:300]


def _conditions_summary(obj: Mapping[str, Any]) -> str:
    conds = (obj.get("status") or {}).get("conditions") or []
    if not conds:
        return "no conditions yet"
    return ", ".join(f"{c.get('type')}={c.get('status')}" + (f" ({c['reason']})" if c.get("reason") else "") for c in conds)
