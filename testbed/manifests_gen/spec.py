"""The numbers and names the shop's manifests are generated from, in one place.

Ports, namespaces, image names, datastore names and the per-environment sizing live here so
the generator, the render command and the tests agree on them (and the README can cite them).
"""

from __future__ import annotations

from dataclasses import dataclass

from testbed.shop.topology import GRPC_SERVICES

PROFILES: tuple[str, ...] = ("minimal", "full")
ENVS: tuple[str, ...] = ("dev", "stg", "prd")

PART_OF = "testbed"
COMPONENT_LABEL = "testbed.io/component"
TIER_LABEL = "testbed.io/tier"
WAIVE_ANNOTATION = "testbed.io/waive"

GRPC_PORT = 50051
METRICS_PORT = 9090
WEB_PORT = 8080
WEB_SERVICE_PORT = 80
RUN_AS = 10001
STATE_DIR = "/var/lib/shop"
JWT_DIR = "/etc/shop/jwt"

# Image names as the shop manifests write them; the env's kustomize `images:` entries rewrite
# them to the registry and the commit tag. One repository per service so CI can move one
# service's tag without touching the others (all built from the same Dockerfile).
IMAGE_PREFIX = "testbed/shop-"
HARBOR_HOST = "harbor.testbed.internal"
HARBOR_PROJECT = "testbed"
HARBOR_PULL_SECRET = "harbor-pull"  # full profile: pull-only robot of the Harbor project, generated at bring-up
LOCAL_REGISTRY = "localhost/testbed"
PLACEHOLDER_TAG = "0" * 40  # "not built yet"; `testbed render --image-tag SHA` and the CI bot replace it
INGRESS_DOMAIN = "testbed.internal"
# kubernetes.io/tls Secret the HTTPProxies name (components/contour); generated at bring-up for
# their fqdns and signed by the testbed CA in the state dir (testbed.bringup.ingress_tls).
INGRESS_TLS_SECRET = "shop-ingress-tls"

# Datastore objects the operators create and the shop connects to (same namespace as the shop).
POSTGRES_CLUSTER = "shop-postgres"
POSTGRES_RW_SERVICE = f"{POSTGRES_CLUSTER}-rw"  # CloudNativePG: read-write Service
POSTGRES_APP_SECRET = f"{POSTGRES_CLUSTER}-app"  # CloudNativePG: generated owner credentials
POSTGRES_OWNER = "app"
REDIS_NAME = "shop-redis"  # OT redis-operator: Service of the same name, port 6379
NATS_NAME = "nats"  # NATS Helm chart release name: Service nats, client port 4222

# Secrets generated at bring-up (never committed): name -> keys.
SHOP_SECRETS: dict[str, tuple[str, ...]] = {
    "shop-jwt": ("private.pem", "public.pem"),
    "shop-web-session": ("secret",),
    "shop-redis": ("password",),
    HARBOR_PULL_SECRET: (".dockerconfigjson",),  # full profile only
}

DB_SERVICES: tuple[str, ...] = GRPC_SERVICES  # each gets its own database named after it
REDIS_SERVICES: tuple[str, ...] = ("cart",)
NATS_SERVICES: tuple[str, ...] = ("order", "point", "delivery")
PUBLIC_GRPC: tuple[str, ...] = GRPC_SERVICES  # routed through Contour as h2c upstreams

# Who may reach the pods from outside the shop (NetworkPolicy peers).
CONTOUR_NAMESPACE = "projectcontour"
CONTOUR_ENVOY_LABELS = {"app": "envoy"}
# Metrics scrapers (Prometheus) may be in any namespace labelled so: `kubectl label namespace
# <prometheus-ns> testbed.io/metrics-scraper=true`. No namespace name is assumed.
METRICS_SCRAPER_LABEL = "testbed.io/metrics-scraper"
METRICS_SCRAPER_PEER = {"namespaceSelector": {"matchLabels": {METRICS_SCRAPER_LABEL: "true"}}}
CNPG_OPERATOR_NAMESPACE = "cnpg-system"


@dataclass(frozen=True)
class EnvSpec:
    """Sizing and naming of one environment."""

    name: str
    hpa_min: int
    hpa_max: int
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    log_level: str
    postgres_instances: int
    postgres_storage: str
    redis_storage: str
    ceph_mons: int
    ceph_pool_size: int
    nats_replicas: int
    gitops_branch: str

    @property
    def shop_namespace(self) -> str:
        return f"testbed-{self.name}-shop"

    def host(self, prefix: str) -> str:
        return f"{prefix}.{self.name}.{INGRESS_DOMAIN}"


ENV_SPECS: dict[str, EnvSpec] = {
    "dev": EnvSpec("dev", 2, 3, "100m", "400m", "128Mi", "256Mi", "DEBUG", 1, "2Gi", "1Gi", 1, 1, 1, "dev"),
    "stg": EnvSpec("stg", 2, 5, "100m", "400m", "128Mi", "256Mi", "INFO", 2, "5Gi", "2Gi", 3, 2, 3, "stg"),
    "prd": EnvSpec("prd", 3, 10, "250m", "1", "256Mi", "512Mi", "INFO", 3, "20Gi", "5Gi", 3, 3, 3, "prd"),
}

CI_NAMESPACE = "testbed-ci"
ARGOCD_NAMESPACE = "argocd"
GITOPS_REPO_URL = "https://git.testbed.internal/testbed/testbed.git"


def image_name(service: str) -> str:
    """The image a service's Deployment names before the env's `images:` rewrite."""
    return f"{IMAGE_PREFIX}{service}"
