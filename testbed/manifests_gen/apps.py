"""ArgoCD app-of-apps per environment: one Application per platform component and per shop service.

The root Application (apps/<env>/root) is applied by the bring-up; it syncs apps/<env>, which
holds the child Applications. Each child points at a directory of this repository on the
environment's branch (the GitOps model: dev, stg and prd are branches). Upstream installs
(CRDs, operators, Helm charts) are not Argo-managed: the bring-up installs them from
upstream/versions.yaml before ArgoCD exists.
"""

from __future__ import annotations

from typing import Any

from testbed.manifests_gen import spec
from testbed.manifests_gen.layout import dump, kustomization
from testbed.shop.topology import ALL_SERVICES

Obj = dict[str, Any]

# child app name -> (repository path, destination namespace; None = the env's shop namespace)
PLATFORM_APPS: dict[str, tuple[str, str | None]] = {
    "rook-ceph": ("manifests/envs/{env}/platform/rook-ceph", "rook-ceph"),
    "contour": ("manifests/envs/{env}/ingress", None),
    "harbor": ("manifests/components/harbor", "harbor"),
    "tekton": ("manifests/components/tekton", spec.CI_NAMESPACE),
    "postgres": ("manifests/envs/{env}/data/postgres", None),
    "redis": ("manifests/envs/{env}/data/redis", None),
    "nats": ("manifests/envs/{env}/data/nats", None),
}


WAIVER = {spec.WAIVE_ANNOTATION: "TB-SCHEMA-MISSING: the Argo CD CRDs come from the pinned Argo CD release "
                                  "(upstream/versions.yaml), applied before this object"}


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": spec.PART_OF}


def application(env: spec.EnvSpec, name: str, path: str, namespace: str, *, kind: str) -> Obj:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": f"{env.name}-{name}", "namespace": spec.ARGOCD_NAMESPACE,
                     "labels": {**_labels(name), "testbed.io/env": env.name, "testbed.io/app-kind": kind},
                     "annotations": dict(WAIVER)},
        "spec": {
            "project": f"testbed-{env.name}",
            "source": {"repoURL": spec.GITOPS_REPO_URL, "targetRevision": env.gitops_branch, "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["ServerSideApply=true", "PruneLast=true", "CreateNamespace=false"],
                "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}},
            },
        },
    }


def children(env: spec.EnvSpec) -> list[Obj]:
    apps = [application(env, name, path.format(env=env.name), namespace or env.shop_namespace, kind="platform")
            for name, (path, namespace) in PLATFORM_APPS.items()]
    for name in ("common", *ALL_SERVICES):
        apps.append(application(env, f"shop-{name}", f"manifests/envs/{env.name}/shop/{name}", env.shop_namespace,
                                kind="shop"))
    return apps


def project(env: spec.EnvSpec) -> Obj:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": f"testbed-{env.name}", "namespace": spec.ARGOCD_NAMESPACE,
                     "labels": {**_labels(f"testbed-{env.name}"), "testbed.io/env": env.name},
                     "annotations": dict(WAIVER)},
        "spec": {
            "description": f"The testbed's {env.name} environment (branch {env.gitops_branch}).",
            "sourceRepos": [spec.GITOPS_REPO_URL],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": ns} for ns in
                             (env.shop_namespace, spec.CI_NAMESPACE, "harbor", "rook-ceph", spec.ARGOCD_NAMESPACE)],
            "clusterResourceWhitelist": [{"group": "storage.k8s.io", "kind": "StorageClass"},
                                         {"group": "rbac.authorization.k8s.io", "kind": "ClusterRoleBinding"}],
        },
    }


def app_of_apps(env: spec.EnvSpec) -> dict[str, str]:
    root = application(env, "root", f"manifests/apps/{env.name}", spec.ARGOCD_NAMESPACE, kind="root")
    return {
        f"apps/{env.name}/kustomization.yaml": dump(kustomization(resources=["applications.yaml"], component="argocd")),
        f"apps/{env.name}/applications.yaml": dump(*children(env)),
        f"apps/{env.name}/root/kustomization.yaml": dump(kustomization(resources=["root.yaml"], component="argocd")),
        f"apps/{env.name}/root/root.yaml": dump(project(env), root),
    }
