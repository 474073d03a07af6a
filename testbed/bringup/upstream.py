"""The upstream components the testbed installs, and the parts of them bring-up relies on.

This is what the stand-in bundle imitates (CRDs of the kinds the testbed uses, controller
workloads with their upstream names and namespaces) and what `status` and suites/cluster
check on a real cluster. Versions and download addresses live in manifests' versions file;
only names live here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHOP_NAMESPACE = "testbed-{env}-shop"  # as in manifests/upstream/versions.yaml: charts installed per env


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str = "Deployment"  # or StatefulSet
    service_ports: tuple[int, ...] = ()  # a Service of the same name when not empty


@dataclass(frozen=True)
class Upstream:
    name: str
    """Upstream project name, e.g. cloudnative-pg."""
    component: str
    """The bring-up component it belongs to (testbed.bringup.components)."""
    namespace: str
    profiles: tuple[str, ...]
    kinds: tuple[Kind, ...] = ()
    workloads: tuple[Workload, ...] = field(default_factory=tuple)
    labels: tuple[tuple[str, str], ...] = ()  # extra pod/workload labels upstream sets and waits select on
    chart: bool = False  # installed from a Helm chart (rendered into the bundle) rather than a release manifest


BOTH = ("minimal", "full")
FULL = ("full",)

UPSTREAMS: tuple[Upstream, ...] = (
    Upstream("rook-ceph", "rook-ceph", "rook-ceph", FULL,
             (Kind("ceph.rook.io", "v1", "CephCluster", "cephclusters"), Kind("ceph.rook.io", "v1", "CephBlockPool", "cephblockpools")),
             (Workload("rook-ceph-operator"),)),
    Upstream("contour", "contour", "projectcontour", BOTH,
             (Kind("projectcontour.io", "v1", "HTTPProxy", "httpproxies"),
              Kind("projectcontour.io", "v1", "TLSCertificateDelegation", "tlscertificatedelegations")),
             (Workload("contour", service_ports=(8001,)), Workload("envoy", "DaemonSet", service_ports=(80, 443)))),
    Upstream("harbor", "harbor", "harbor", FULL, (),
             (Workload("harbor-core", service_ports=(80,)), Workload("harbor-portal"), Workload("harbor-registry"),
              Workload("harbor-jobservice"), Workload("harbor-trivy", "StatefulSet"),
              Workload("harbor-database", "StatefulSet"), Workload("harbor-redis", "StatefulSet")), chart=True,
             labels=(("app", "harbor"),)),
    Upstream("cloudnative-pg", "cloudnative-pg", "cnpg-system", BOTH,
             (Kind("postgresql.cnpg.io", "v1", "Cluster", "clusters"), Kind("postgresql.cnpg.io", "v1", "Database", "databases"),
              Kind("postgresql.cnpg.io", "v1", "Pooler", "poolers"), Kind("postgresql.cnpg.io", "v1", "Backup", "backups"),
              Kind("postgresql.cnpg.io", "v1", "ScheduledBackup", "scheduledbackups")),
             (Workload("cnpg-controller-manager"),)),
    Upstream("redis-operator", "redis-operator", "redis-operator", BOTH,
             (Kind("redis.redis.opstreelabs.in", "v1beta2", "Redis", "redis"),
              Kind("redis.redis.opstreelabs.in", "v1beta2", "RedisReplication", "redisreplications")),
             (Workload("redis-operator"),), chart=True),
    Upstream("tekton-pipelines", "tekton", "tekton-pipelines", FULL,
             (Kind("tekton.dev", "v1", "Pipeline", "pipelines"), Kind("tekton.dev", "v1", "Task", "tasks"),
              Kind("tekton.dev", "v1", "PipelineRun", "pipelineruns"), Kind("tekton.dev", "v1", "TaskRun", "taskruns")),
             (Workload("tekton-pipelines-controller"), Workload("tekton-pipelines-webhook"))),
    Upstream("tekton-triggers", "tekton", "tekton-pipelines", FULL,
             (Kind("triggers.tekton.dev", "v1beta1", "EventListener", "eventlisteners"),
              Kind("triggers.tekton.dev", "v1beta1", "TriggerBinding", "triggerbindings"),
              Kind("triggers.tekton.dev", "v1beta1", "TriggerTemplate", "triggertemplates"),
              Kind("triggers.tekton.dev", "v1beta1", "Trigger", "triggers"),
              Kind("triggers.tekton.dev", "v1beta1", "ClusterTriggerBinding", "clustertriggerbindings", namespaced=False),
              Kind("triggers.tekton.dev", "v1alpha1", "ClusterInterceptor", "clusterinterceptors", namespaced=False)),
             (Workload("tekton-triggers-controller"), Workload("tekton-triggers-webhook"),
              Workload("tekton-triggers-core-interceptors"))),
    Upstream("argocd", "argocd", "argocd", FULL,
             (Kind("argoproj.io", "v1alpha1", "Application", "applications"), Kind("argoproj.io", "v1alpha1", "AppProject", "appprojects"),
              Kind("argoproj.io", "v1alpha1", "ApplicationSet", "applicationsets")),
             (Workload("argocd-server", service_ports=(80, 443)), Workload("argocd-repo-server", service_ports=(8081,)),
              Workload("argocd-redis", service_ports=(6379,)), Workload("argocd-applicationset-controller"),
              Workload("argocd-application-controller", "StatefulSet"))),
    Upstream("nats", "nats", SHOP_NAMESPACE, BOTH, (),
             (Workload("nats", "StatefulSet", service_ports=(4222,)),), chart=True),
)


def for_profile(profile: str) -> list[Upstream]:
    return [u for u in UPSTREAMS if profile in u.profiles]


def all_kinds() -> dict[tuple[str, str], Kind]:
    """(apiVersion, kind) -> Kind for every custom kind the testbed uses."""
    return {(k.api_version, k.kind): k for u in UPSTREAMS for k in u.kinds}
