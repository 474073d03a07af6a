"""Every profile x env render passes `kubectl apply --dry-run=server` against the REAL upstream CRDs.

The stand-in bundle's CRDs have open schemas, so they accept anything; here the CRDs of the
pinned Rook, Contour, ArgoCD, CloudNativePG and Tekton releases (fetched and sha256-checked by
`testbed bundle --crds-only`) are applied to a sim cluster of this module's own, so our
CephCluster, HTTPProxy, Application, Cluster, Pipeline, EventListener, ... are checked by a
real API server against the real schemas, CEL rules and defaults. Only redis-operator's kinds
keep a stand-in CRD: its CRDs are not obtainable here (manifests/upstream/versions.yaml).

Own cluster, not the session one: the bring-up tests apply stand-in CRDs of the same names to
the session cluster and delete them afterwards.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.bringup.standin import crd as stand_in_crd
from testbed.bringup.upstream import UPSTREAMS
from testbed.manifests_gen.spec import ENVS, PROFILES
from testbed.testing.sim_fixtures import require

from upstream_bundle import REAL, REPO

pytestmark = [pytest.mark.integration, pytest.mark.sim, pytest.mark.network]
STAND_IN_ONLY = ("redis-operator",)  # no CRD source reachable: see versions.yaml


@pytest.fixture(scope="module")
def crd_cluster(real_crds: Path) -> Iterator[tuple[list[str], dict[tuple[str, str], str]]]:
    """(kubectl argv, served (apiVersion, kind) -> CRD origin) of a one-node sim cluster with the real CRDs Established."""
    from testbed.sim.binaries import BUILD_HINT, locate, missing_binaries
    from testbed.sim.cluster import SimCluster
    from testbed.sim.config import SimClusterSpec

    missing = missing_binaries()
    require(not missing, f"sim binaries missing: {', '.join(missing)}; {BUILD_HINT}")
    cluster = SimCluster(f"upstream-crds-{secrets.token_hex(3)}")
    cluster.up(SimClusterSpec(name=cluster.name, nodes=1), timeout_s=180)
    try:
        kubectl = [str(locate()["kubectl"]), "--kubeconfig", str(cluster.kubeconfig)]
        files = sorted(real_crds.glob("*/crds.yaml"))
        stand_ins = real_crds.parent / "stand-in-crds.yaml"
        kinds = [k for u in UPSTREAMS if u.name in STAND_IN_ONLY for k in u.kinds]
        stand_ins.write_text(yaml.safe_dump_all([stand_in_crd(k) for k in kinds]))
        files.append(stand_ins)
        args = [a for f in files for a in ("-f", str(f))]
        apply = subprocess.run([*kubectl, "apply", "--server-side", *args], capture_output=True, text=True, timeout=180)
        assert apply.returncode == 0, apply.stderr[-2000:]
        wait = subprocess.run([*kubectl, "wait", "--for=condition=Established", "--timeout=120s", *args],
                              capture_output=True, text=True, timeout=150)
        assert wait.returncode == 0, wait.stderr[-2000:]
        served: dict[tuple[str, str], str] = {}
        for path in files:
            origin = "stand-in" if path == stand_ins else path.parent.name
            for doc in yaml.safe_load_all(path.read_text()):
                for version in (doc or {}).get("spec", {}).get("versions", []):
                    if version.get("served"):
                        served[(f"{doc['spec']['group']}/{version['name']}", doc["spec"]["names"]["kind"])] = origin
        yield kubectl, served
    finally:
        cluster.down()


def _custom(doc: dict[str, Any]) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def test_the_real_crds_cover_every_custom_kind_we_render(crd_cluster: tuple[list[str], dict[tuple[str, str], str]]) -> None:
    _, served = crd_cluster
    rendered = set()
    for profile in PROFILES:
        out = subprocess.run([sys.executable, "-m", "testbed.cli.main", "render", "--profile", profile, "--env", "dev"],
                             capture_output=True, text=True, timeout=120, cwd=REPO)
        assert out.returncode == 0, out.stderr
        rendered |= {(d["apiVersion"], d["kind"]) for d in yaml.safe_load_all(out.stdout) if d and _custom(d)}
    assert rendered and rendered <= set(served), sorted(rendered - set(served))
    origins = {served[k] for k in rendered}
    assert origins - {"stand-in"} <= set(REAL)
    stand_in = sorted(k for k in rendered if served[k] == "stand-in")
    assert all(kind.startswith("redis.") for kind, _ in stand_in), stand_in
    for must in [("ceph.rook.io/v1", "CephCluster"), ("projectcontour.io/v1", "HTTPProxy"), ("argoproj.io/v1alpha1", "Application"),
                 ("postgresql.cnpg.io/v1", "Cluster"), ("tekton.dev/v1", "Pipeline"), ("triggers.tekton.dev/v1beta1", "EventListener")]:
        assert must in rendered and served[must] != "stand-in", must


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("env", ENVS)
def test_render_passes_server_dry_run_against_real_crds(profile: str, env: str, tmp_path: Path,
                                                       crd_cluster: tuple[list[str], dict[tuple[str, str], str]]) -> None:
    kubectl, _ = crd_cluster
    rendered = subprocess.run([sys.executable, "-m", "testbed.cli.main", "render", "--profile", profile, "--env", env],
                              capture_output=True, text=True, timeout=120, cwd=REPO)
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    # namespaced objects need their namespace to exist for a server-side dry run (the render's own
    # Namespaces are only dry-run here; upstream ones come from the bundle); the cluster is this module's
    namespaces = {d["metadata"]["namespace"] for d in docs if d["metadata"].get("namespace")}
    namespaces |= {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    ns_docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in sorted(namespaces)]
    if ns_docs:
        made = subprocess.run([*kubectl, "apply", "--server-side", "-f", "-"], input=yaml.safe_dump_all(ns_docs),
                              capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
    manifest = tmp_path / f"{profile}-{env}.yaml"
    manifest.write_text(rendered.stdout)
    proc = subprocess.run([*kubectl, "apply", "--dry-run=server", "--server-side", "-f", str(manifest)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"{profile}-{env}: {proc.stderr[-3000:]}"
    assert proc.stdout.count("(server dry run)") == len(docs)
    assert "unknown field" not in proc.stderr, proc.stderr[-3000:]


def test_the_real_schemas_reject_what_the_stand_ins_accept(tmp_path: Path,
                                                           crd_cluster: tuple[list[str], dict[tuple[str, str], str]]) -> None:
    """Control: the dry run above can fail. A misspelt field and a bad enum value in our own CephCluster and HTTPProxy."""
    kubectl, _ = crd_cluster
    rendered = subprocess.run([sys.executable, "-m", "testbed.cli.main", "render", "--profile", "full", "--env", "dev"],
                              capture_output=True, text=True, timeout=120, cwd=REPO)
    docs = {d["kind"]: d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] in ("CephCluster", "HTTPProxy")}
    docs["CephCluster"]["spec"]["mon"]["count"] = "three"
    docs["HTTPProxy"]["spec"]["routes"][0]["servicez"] = docs["HTTPProxy"]["spec"]["routes"][0].pop("services")
    expected = {"CephCluster": ".spec.mon.count: expected numeric", "HTTPProxy": "servicez"}
    for kind, doc in docs.items():
        doc["metadata"]["namespace"] = "default"
        bad = tmp_path / f"{kind}.yaml"
        bad.write_text(yaml.safe_dump(doc))
        proc = subprocess.run([*kubectl, "apply", "--dry-run=server", "--server-side", "-f", str(bad)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0, f"{kind} with a bad field passed the server dry run"
        assert expected[kind] in proc.stderr, proc.stderr
