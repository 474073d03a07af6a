"""The root Application's kustomize patches and the HTTPProxies' TLS, against the REAL upstream CRDs.

`testbed bundle --crds-only --only argocd,contour` (a real subprocess; the Go module proxy or the
upstream cache) gives the CRDs of the pinned Argo CD v2.13.1 and Contour v1.30.0; they are
applied to a one-node sim cluster of this module's own (the session cluster carries stand-in
CRDs of the same names). A real kube-apiserver then checks the render with and without
`--gitops-repo`: a server-side dry run must accept every object, and the object it returns
must still hold `spec.source.kustomize.patches` and `virtualhost.tls` (a structural schema
silently prunes fields it does not know, so "accepted" alone would prove nothing). The TLS
Secret the bring-up generates is created for real on the same API server.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509

from testbed.bringup.ingress_tls import load_or_create_ca
from testbed.bringup.plan import tls_secrets
from testbed.bringup.secrets import ensure_secrets
from testbed.kube.api import KubeAPI
from testbed.manifests_gen.spec import GITOPS_REPO_URL, INGRESS_TLS_SECRET
from testbed.testing.sim_fixtures import require

pytestmark = [pytest.mark.integration, pytest.mark.sim, pytest.mark.network]
REPO = Path(__file__).resolve().parents[3]
REPO_URL = "https://github.com/example/testbed.git"
COMPONENTS = ("argocd", "contour")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], Path]]:
    """(kubectl argv, kubeconfig) of a one-node sim cluster with the real Argo CD and Contour CRDs Established."""
    from testbed.sim.binaries import BUILD_HINT, locate, missing_binaries
    from testbed.sim.cluster import SimCluster
    from testbed.sim.config import SimClusterSpec

    bundle = tmp_path_factory.mktemp("gitops-crds") / "bundle"
    fetched = subprocess.run([sys.executable, "-m", "testbed.cli.main", "bundle", str(bundle), "--crds-only",
                              "--only", ",".join(COMPONENTS)], capture_output=True, text=True, timeout=300, cwd=REPO)
    require(fetched.returncode == 0, "cannot fetch the upstream CRDs (is $GOPROXY reachable? `bash ci/fetch-upstream.sh` "
                                     f"warms the cache): {fetched.stderr.strip()[-600:]}")
    index = yaml.safe_load((bundle / "bundle.yaml").read_text())
    assert all(e["crdsFrom"] == "upstream" for e in index["upstream"])  # the real CRDs, not the stand-in ones
    missing = missing_binaries()
    require(not missing, f"sim binaries missing: {', '.join(missing)}; {BUILD_HINT}")
    sim = SimCluster(f"gitops-crds-{secrets.token_hex(3)}")
    sim.up(SimClusterSpec(name=sim.name, nodes=1), timeout_s=180)
    try:
        kubectl = [str(locate()["kubectl"]), "--kubeconfig", str(sim.kubeconfig)]
        args = [a for c in COMPONENTS for a in ("-f", str(bundle / c / "crds.yaml"))]
        for verb in (["apply", "--server-side"], ["wait", "--for=condition=Established", "--timeout=120s"]):
            proc = subprocess.run([*kubectl, *verb, *args], capture_output=True, text=True, timeout=180)
            assert proc.returncode == 0, proc.stderr[-2000:]
        yield kubectl, sim.kubeconfig
    finally:
        sim.down()


def _render(*extra: str, env: str = "stg") -> list[dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "testbed.cli.main", "render", "--profile", "full", "--env", env, *extra],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def _dry_run(kubectl: list[str], docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """kind/name -> the object as the API server would store it (defaults applied, unknown fields pruned)."""
    namespaces = sorted({d["metadata"]["namespace"] for d in docs if d["metadata"].get("namespace")})
    made = subprocess.run([*kubectl, "apply", "--server-side", "-f", "-"], capture_output=True, text=True, timeout=60,
                          input=yaml.safe_dump_all([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
                                                    for n in namespaces]))
    assert made.returncode == 0, made.stderr
    proc = subprocess.run([*kubectl, "apply", "--dry-run=server", "--server-side", "-o", "json", "-f", "-"],
                          input=yaml.safe_dump_all(docs), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "unknown field" not in proc.stderr, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    items = out["items"] if out.get("kind") == "List" else [out]
    assert len(items) == len(docs)
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in items}


def _component(docs: list[dict[str, Any]], component: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["metadata"].get("labels", {}).get("testbed.io/component") == component]


@pytest.mark.parametrize("override", [False, True], ids=["placeholder", "gitops-repo"])
def test_root_app_with_kustomize_patches_passes_the_real_argo_cd_crd(cluster: tuple[list[str], Path], override: bool) -> None:
    kubectl, _ = cluster
    docs = _component(_render(*(["--gitops-repo", REPO_URL, "--gitops-revision", "release-1"] if override else [])), "argocd")
    sent = {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}
    stored = _dry_run(kubectl, docs)
    assert stored.keys() == sent.keys() and "Application/stg-root" in stored and "AppProject/testbed-stg" in stored
    repo, revision = (REPO_URL, "release-1") if override else (GITOPS_REPO_URL, "stg")
    for key, obj in stored.items():
        if obj["kind"] == "Application":
            assert (obj["spec"]["source"]["repoURL"], obj["spec"]["source"]["targetRevision"]) == (repo, revision), key
    assert stored["AppProject/testbed-stg"]["spec"]["sourceRepos"] == [repo]
    root = stored["Application/stg-root"]["spec"]["source"]
    if override:  # kept by the real schema, not pruned: Argo CD will apply these patches to every child
        assert root["kustomize"]["patches"] == sent["Application/stg-root"]["spec"]["source"]["kustomize"]["patches"]
        assert REPO_URL in root["kustomize"]["patches"][0]["patch"]
    else:
        assert "kustomize" not in root


def test_httpproxies_with_tls_pass_the_real_contour_crd(cluster: tuple[list[str], Path]) -> None:
    kubectl, _ = cluster
    docs = _component(_render(env="prd"), "contour")
    stored = _dry_run(kubectl, docs)
    for name in ("shop-web", "shop-grpc"):
        vhost = stored[f"HTTPProxy/{name}"]["spec"]["virtualhost"]
        assert vhost["tls"]["secretName"] == INGRESS_TLS_SECRET and vhost["fqdn"].endswith(".prd.testbed.internal")
    routes = stored["HTTPProxy/shop-grpc"]["spec"]["routes"]
    assert {s["protocol"] for r in routes for s in r["services"]} == {"h2c"}


def test_generated_tls_secret_is_a_valid_kubernetes_tls_secret_and_is_kept(cluster: tuple[list[str], Path],
                                                                          tmp_path: Path) -> None:
    _, kubeconfig = cluster
    wanted = tls_secrets(_component(_render(env="dev"), "contour"))
    assert len(wanted) == 1 and len(wanted[0]["hosts"]) == 2
    namespace = wanted[0]["namespace"]
    with KubeAPI(kubeconfig) as api:
        if api.get("v1", "Namespace", namespace) is None:
            api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        assert ensure_secrets(api, wanted, tmp_path / "ca") == [f"{namespace}/{INGRESS_TLS_SECRET}"]
        first = api.get("v1", "Secret", INGRESS_TLS_SECRET, namespace)
        assert ensure_secrets(api, wanted, tmp_path / "ca") == []  # re-run: nothing created, nothing changed
        again = api.get("v1", "Secret", INGRESS_TLS_SECRET, namespace)
    assert first is not None and again is not None
    assert first["type"] == "kubernetes.io/tls" and again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    leaf = x509.load_pem_x509_certificate(base64.b64decode(first["data"]["tls.crt"]))
    leaf.verify_directly_issued_by(load_or_create_ca(tmp_path / "ca").cert)
    assert sorted(leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                  .get_values_for_type(x509.DNSName)) == sorted(wanted[0]["hosts"])
