"""Every profile x env render is accepted by a real API server (`kubectl apply --dry-run=server`).

Built-in kinds only: custom resources need the upstream CRDs, which the bring-up's stand-in
bundle provides (its own tests dry-run those). Namespaced objects are moved into this test's
namespace, so nothing depends on the testbed's namespaces existing and nothing is persisted.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.manifests_gen.spec import ENVS, PROFILES
from testbed.render import documents, render

pytestmark = [pytest.mark.integration, pytest.mark.sim]
MANIFESTS = Path(__file__).resolve().parents[3] / "manifests"


def _builtin(doc: dict[str, Any]) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("env", ENVS)
def test_render_passes_server_dry_run(profile: str, env: str, sim_cluster: Any, sim_namespace: str) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl is needed (it is on PATH wherever the sim cluster runs)"
    docs = []
    for doc in documents(render(profile, env, root=MANIFESTS)):
        if doc["kind"] == "Namespace" or not _builtin(doc):
            continue
        if doc["metadata"].get("namespace"):
            doc["metadata"]["namespace"] = sim_namespace
        docs.append(doc)
    proc = subprocess.run([kubectl, "--kubeconfig", str(sim_cluster.kubeconfig), "apply", "--dry-run=server",
                           "-f", "-"], input=yaml.safe_dump_all(docs), capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("(server dry run)") == len(docs)
