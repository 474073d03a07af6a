"""Kubernetes objects of the shop, derived from testbed/shop/topology.py.

Every service gets a ServiceAccount, a ConfigMap, a Deployment, a Service, an HPA, a PDB and a
NetworkPolicy. The NetworkPolicies are the topology turned inside out: a service admits its
callers (DEPENDENCIES reversed) and may reach only its dependencies and datastores, so a change
to topology.py shows up as a drift the unit tests catch.
"""

from __future__ import annotations

from typing import Any

from testbed.manifests_gen import spec
from testbed.shop.topology import ALL_SERVICES, DEPENDENCIES

Obj = dict[str, Any]


def labels(name: str, **extra: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": spec.PART_OF, **extra}


def pod_labels(service: str) -> dict[str, str]:
    return labels(service, **{spec.TIER_LABEL: "shop"})


def callers_of(service: str) -> tuple[str, ...]:
    """Services whose DEPENDENCIES name `service`, in topology order."""
    return tuple(name for name in ALL_SERVICES if service in DEPENDENCIES[name])


def serving_port(service: str) -> int:
    return spec.WEB_PORT if service == "web" else spec.GRPC_PORT


def service_port(service: str) -> int:
    return spec.WEB_SERVICE_PORT if service == "web" else spec.GRPC_PORT


def _meta(name: str, app: str) -> Obj:
    return {"name": name, "labels": labels(app, **{spec.TIER_LABEL: "shop"})}


def service_account(service: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(service, service),
            "automountServiceAccountToken": False}


def config_map(service: str) -> Obj:
    data: dict[str, str] = {"SHOP_PORT": str(serving_port(service))}
    if service != "web":
        data["SHOP_METRICS_PORT"] = str(spec.METRICS_PORT)
    deps = DEPENDENCIES[service]
    if deps:
        data["SHOP_DEPS"] = ",".join(f"{dep}={dep}:{spec.GRPC_PORT}" for dep in deps)
    if service in spec.NATS_SERVICES:
        data["SHOP_NATS_URL"] = f"nats://{spec.NATS_NAME}:4222"
    if service == "user":
        data["SHOP_JWT_PRIVATE_KEY_FILE"] = f"{spec.JWT_DIR}/private.pem"
    elif service != "web":
        data["SHOP_JWT_PUBLIC_KEY_FILE"] = f"{spec.JWT_DIR}/public.pem"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(f"{service}-config", service), "data": data}


def common_config_map() -> Obj:
    data = {"SHOP_HOST": "0.0.0.0", "SHOP_STATE_DIR": spec.STATE_DIR, "SHOP_GRACE_S": "10", "SHOP_LOG_LEVEL": "INFO"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("shop-common", "shop"), "data": data}


def _secret_env(name: str, secret: str, key: str) -> Obj:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _env(service: str) -> list[Obj]:
    env: list[Obj] = []
    if service in spec.DB_SERVICES:
        # libpq reads PGPASSWORD itself, so the password never appears in the URL.
        env += [_secret_env("PGUSER", spec.POSTGRES_APP_SECRET, "username"),
                _secret_env("PGPASSWORD", spec.POSTGRES_APP_SECRET, "password"),
                {"name": "SHOP_DATABASE_URL",
                 "value": f"postgresql+psycopg://$(PGUSER)@{spec.POSTGRES_RW_SERVICE}:5432/{service}"}]
    if service in spec.REDIS_SERVICES:
        env += [_secret_env("REDIS_PASSWORD", "shop-redis", "password"),
                {"name": "SHOP_REDIS_URL", "value": f"redis://:$(REDIS_PASSWORD)@{spec.REDIS_NAME}:6379/0"}]
    if service == "web":
        env += [_secret_env("SHOP_WEB_SESSION_SECRET", "shop-web-session", "secret")]
    return env


def _probes(service: str) -> Obj:
    if service == "web":
        ready: Obj = {"httpGet": {"path": "/readyz", "port": "http"}}
        live: Obj = {"httpGet": {"path": "/healthz", "port": "http"}}
    else:
        ready = {"grpc": {"port": spec.GRPC_PORT}}
        live = {"grpc": {"port": spec.GRPC_PORT}}
    return {
        "startupProbe": {**live, "periodSeconds": 2, "failureThreshold": 30},
        "readinessProbe": {**ready, "periodSeconds": 5, "failureThreshold": 2, "timeoutSeconds": 2},
        "livenessProbe": {**live, "periodSeconds": 10, "failureThreshold": 6, "timeoutSeconds": 3},
    }


def _volumes(service: str) -> tuple[list[Obj], list[Obj]]:
    volumes: list[Obj] = [{"name": "state", "emptyDir": {"sizeLimit": "256Mi"}},
                          {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    mounts: list[Obj] = [{"name": "state", "mountPath": spec.STATE_DIR}, {"name": "tmp", "mountPath": "/tmp"}]
    if service != "web":
        key = "private.pem" if service == "user" else "public.pem"
        volumes.append({"name": "jwt", "secret": {"secretName": "shop-jwt", "defaultMode": 0o440,
                                                  "items": [{"key": key, "path": key}]}})
        mounts.append({"name": "jwt", "mountPath": spec.JWT_DIR, "readOnly": True})
    return volumes, mounts


def deployment(service: str) -> Obj:
    """No `replicas`: the HPA owns the count (an apply would otherwise reset it)."""
    volumes, mounts = _volumes(service)
    ports = [{"name": "http" if service == "web" else "grpc", "containerPort": serving_port(service), "protocol": "TCP"}]
    if service != "web":
        ports.append({"name": "metrics", "containerPort": spec.METRICS_PORT, "protocol": "TCP"})
    container: Obj = {
        "name": "shop",
        "image": spec.image_name(service),
        "args": [service],
        "ports": ports,
        "envFrom": [{"configMapRef": {"name": "shop-common"}}, {"configMapRef": {"name": f"{service}-config"}}],
        **({"env": _env(service)} if _env(service) else {}),
        **_probes(service),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "400m", "memory": "256Mi"}},
        "securityContext": {
            "runAsNonRoot": True, "runAsUser": spec.RUN_AS, "runAsGroup": spec.RUN_AS,
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "privileged": False,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }
    pod: Obj = {
        "serviceAccountName": service,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 30,
        "securityContext": {"runAsNonRoot": True, "runAsUser": spec.RUN_AS, "runAsGroup": spec.RUN_AS,
                            "fsGroup": spec.RUN_AS, "seccompProfile": {"type": "RuntimeDefault"}},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                       "whenUnsatisfiable": "ScheduleAnyway",
                                       "labelSelector": {"matchLabels": {"app.kubernetes.io/name": service}}}],
        "containers": [container],
        "volumes": volumes,
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(service, service),
        "spec": {
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {"app.kubernetes.io/name": service, spec.TIER_LABEL: "shop"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": pod_labels(service)}, "spec": pod},
        },
    }


def service(service: str) -> Obj:
    target = "http" if service == "web" else "grpc"
    ports: list[Obj] = [{"name": target, "port": service_port(service), "targetPort": target, "protocol": "TCP",
                         **({} if service == "web" else {"appProtocol": "kubernetes.io/h2c"})}]
    if service != "web":
        ports.append({"name": "metrics", "port": spec.METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"})
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(service, service),
            "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": service, spec.TIER_LABEL: "shop"},
                     "ports": ports}}


def hpa(service: str) -> Obj:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": _meta(service, service),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service},
                     "minReplicas": 2, "maxReplicas": 3,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 70}}}]}}


def pdb(service: str) -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(service, service),
            "spec": {"maxUnavailable": 1,
                     "selector": {"matchLabels": {"app.kubernetes.io/name": service, spec.TIER_LABEL: "shop"}}}}


def _shop_peer(name: str) -> Obj:
    return {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name, spec.TIER_LABEL: "shop"}}}


def _ns_peer(namespace: str, pods: dict[str, str] | None = None) -> Obj:
    peer: Obj = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if pods:
        peer["podSelector"] = {"matchLabels": pods}
    return peer


def _tcp(port: int | str) -> list[Obj]:
    return [{"protocol": "TCP", "port": port}]


def network_policy(service: str) -> Obj:
    """Ingress from callers (and Contour, and metrics scrapers); egress to dependencies and datastores."""
    ingress: list[Obj] = []
    callers = [_shop_peer(name) for name in callers_of(service)]
    if service == "web" or service in spec.PUBLIC_GRPC:
        callers.append(_ns_peer(spec.CONTOUR_NAMESPACE, spec.CONTOUR_ENVOY_LABELS))
    if callers:
        ingress.append({"from": callers, "ports": _tcp(serving_port(service))})
    if service != "web":
        ingress.append({"from": [dict(spec.METRICS_SCRAPER_PEER)], "ports": _tcp(spec.METRICS_PORT)})
    egress: list[Obj] = [{"to": [_shop_peer(dep)], "ports": _tcp(spec.GRPC_PORT)} for dep in DEPENDENCIES[service]]
    if service in spec.DB_SERVICES:
        egress.append({"to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": spec.POSTGRES_CLUSTER}}}],
                       "ports": _tcp(5432)})
    if service in spec.REDIS_SERVICES:
        egress.append({"to": [{"podSelector": {"matchLabels": {"app": spec.REDIS_NAME}}}], "ports": _tcp(6379)})
    if service in spec.NATS_SERVICES:
        egress.append({"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "nats"}}}],
                       "ports": _tcp(4222)})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(service, service),
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": service, spec.TIER_LABEL: "shop"}},
                     "policyTypes": ["Ingress", "Egress"], "ingress": ingress, "egress": egress}}


def common_network_policies() -> list[Obj]:
    """Default deny for every shop pod, and DNS for all of them."""
    shop_pods = {"matchLabels": {spec.TIER_LABEL: "shop"}}
    deny = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("shop-default-deny", "shop"),
            "spec": {"podSelector": shop_pods, "policyTypes": ["Ingress", "Egress"]}}
    dns = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("shop-allow-dns", "shop"),
           "spec": {"podSelector": shop_pods, "policyTypes": ["Egress"],
                    "egress": [{"to": [_ns_peer("kube-system", {"k8s-app": "kube-dns"})],
                                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}}
    return [deny, dns]


def service_objects(name: str) -> list[Obj]:
    return [service_account(name), config_map(name), deployment(name), service(name), hpa(name), pdb(name),
            network_policy(name)]

