"""A full-profile bring-up on a sim cluster of its own with `kube.gitops_repo` set: the Applications in
the cluster follow the repository, the ingress TLS Secret is generated from the CA in the state
dir, and a re-run changes nothing (the Secret and the CA stay as they are).

Own cluster, not the session one: tests/integration/bringup brings up and tears down the same
platform namespaces and CRDs on the session cluster, possibly at the same time.
"""

from __future__ import annotations

import base64
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from testbed.bringup.session import BringUp, ClusterSpec
from testbed.kube.api import KubeAPI
from testbed.manifests_gen.spec import ENV_SPECS, INGRESS_TLS_SECRET
from testbed.testing.sim_fixtures import require

pytestmark = [pytest.mark.integration, pytest.mark.sim]
REPO = Path(__file__).resolve().parents[3]
REPO_URL = "https://github.com/example/testbed.git"
ENV = ENV_SPECS["stg"]


@pytest.fixture(scope="module")
def brought_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Bring the full profile (env stg) up twice with the override; yields both records, the session and the API."""
    from testbed.sim.binaries import BUILD_HINT, missing_binaries
    from testbed.sim.cluster import SimCluster
    from testbed.sim.config import SimClusterSpec

    missing = missing_binaries()
    require(not missing, f"sim binaries missing: {', '.join(missing)}; {BUILD_HINT}")
    root = tmp_path_factory.mktemp("gitops-bringup")
    cluster = SimCluster(f"gitops-up-{secrets.token_hex(3)}")
    cluster.up(SimClusterSpec(name=cluster.name), timeout_s=180)
    try:
        session = BringUp(ClusterSpec(kubeconfig=cluster.kubeconfig, context=None, sim=True, profile="full", env=ENV.name,
                                      bundle=None, manifests_root=REPO / "manifests", reports_dir=root / "reports",
                                      state_dir=root / "state" / "sim", gitops_repo=REPO_URL))
        first = session.up()
        with KubeAPI(cluster.kubeconfig) as api:
            secret = api.get("v1", "Secret", INGRESS_TLS_SECRET, ENV.shop_namespace)
            second = session.up()
            yield {"first": first, "second": second, "session": session, "api": api, "secret": secret}
    finally:
        cluster.down()


def test_applications_in_the_cluster_follow_the_configured_repository(brought_up: dict[str, Any]) -> None:
    api: KubeAPI = brought_up["api"]
    apps = api.list("argoproj.io/v1alpha1", "Application", namespace="argocd", label_selector=f"testbed.io/env={ENV.name}")
    assert len(apps) > 10
    for app in apps:
        source = app["spec"]["source"]
        assert (source["repoURL"], source["targetRevision"]) == (REPO_URL, ENV.gitops_branch), app["metadata"]["name"]
    root = next(a for a in apps if a["metadata"]["name"] == f"{ENV.name}-root")
    assert REPO_URL in root["spec"]["source"]["kustomize"]["patches"][0]["patch"]
    project = api.get("argoproj.io/v1alpha1", "AppProject", f"testbed-{ENV.name}", "argocd")
    assert project is not None and project["spec"]["sourceRepos"] == [REPO_URL]
    assert brought_up["first"].warnings == []  # sim: no warning, and the repository is set anyway


def test_ingress_tls_secret_is_signed_by_the_ca_kept_in_the_state_dir(brought_up: dict[str, Any]) -> None:
    secret = brought_up["secret"]
    assert secret is not None and secret["type"] == "kubernetes.io/tls"
    ca_dir: Path = brought_up["session"].ca_dir
    assert stat.S_IMODE((ca_dir / "ca.key").stat().st_mode) == 0o600
    assert brought_up["first"].ca_cert == str(ca_dir / "ca.crt")
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(names) == sorted([ENV.host("shop"), ENV.host("grpc")])


def test_re_run_changes_nothing_and_keeps_the_secret(brought_up: dict[str, Any]) -> None:
    first, second = brought_up["first"], brought_up["second"]
    assert first.status == second.status == "successful" and first.changed > 0
    assert second.changed == 0, [s.step for s in second.steps.values() if s.changed]
    now = brought_up["api"].get("v1", "Secret", INGRESS_TLS_SECRET, ENV.shop_namespace)
    assert now["metadata"]["resourceVersion"] == brought_up["secret"]["metadata"]["resourceVersion"]
