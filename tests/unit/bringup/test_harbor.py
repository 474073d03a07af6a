"""The Harbor bootstrap's pure parts: secrets Harbor accepts, registry credentials, error text, the
plan step (after Harbor's waits; checks on real clusters, a simulated skip on sim), the record."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from testbed.bringup.bundle import load_bundle
from testbed.bringup.harbor import MARKER, bootstrap_refs, bootstrap_waits, dockerconfig, registry_host, robot_secret
from testbed.bringup.harbor_api import harbor_message
from testbed.bringup.plan import build_plan
from testbed.bringup.readiness import evaluate_object
from testbed.bringup.record import PHASES, Recorder
from testbed.bringup.secrets import secret_content
from testbed.bringup.standin import write_stand_in_bundle
from testbed.config import load_config
from testbed.errors import ConfigError

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]


def test_robot_secrets_pass_harbors_check() -> None:
    for _ in range(200):  # isValidSec: 8+ characters with an upper, a lower and a digit
        value = robot_secret()
        assert len(value) >= 8 and re.search("[a-z]", value) and re.search("[A-Z]", value) and re.search("[0-9]", value)


def test_dockerconfig_is_what_kubelet_and_kaniko_read() -> None:
    entry = json.loads(dockerconfig("harbor.testbed.internal", "robot$testbed+ci", "S3cretS3cret"))["auths"]["harbor.testbed.internal"]
    assert entry["username"] == "robot$testbed+ci" and entry["password"] == "S3cretS3cret"
    assert base64.b64decode(entry["auth"]).decode() == "robot$testbed+ci:S3cretS3cret"


def response(status: int, body: Any, reason: str = "Unauthorized") -> requests.Response:
    resp = requests.Response()
    resp.status_code, resp.reason = status, reason
    resp._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return resp


def test_harbor_error_message_comes_from_its_errors_array() -> None:
    assert harbor_message(response(401, {"errors": [{"code": "UNAUTHORIZED", "message": "UnAuthorized"}]})) == "UNAUTHORIZED: UnAuthorized"
    two = {"errors": [{"code": "CONFLICT", "message": "exists"}, {"code": "X", "message": "y"}]}
    assert harbor_message(response(409, two)) == "CONFLICT: exists; X: y"
    assert harbor_message(response(502, b"<html>Bad Gateway</html>", "Bad Gateway")) == "Bad Gateway"


@pytest.mark.parametrize(("info", "host"), [
    ({"registry_url": "harbor.testbed.internal"}, "harbor.testbed.internal"),
    ({"external_url": "https://harbor.example.com:8443"}, "harbor.example.com:8443"),
    ({}, "127.0.0.1:9999"),
])
def test_registry_host(info: dict[str, str], host: str) -> None:
    assert registry_host(info, "http://127.0.0.1:9999") == host


def test_generated_placeholders_match_what_the_chart_and_pipeline_read() -> None:
    assert set(secret_content("harbor-admin")[1]) == {"HARBOR_ADMIN_PASSWORD"}  # values.yaml existingSecretAdminPasswordKey
    kind, data = secret_content("harbor-robot-ci")  # kaniko reads .dockerconfigjson, the scan gate username/password
    assert kind == "kubernetes.io/dockerconfigjson" and set(data) == {".dockerconfigjson", "username", "password"}
    assert json.loads(data[".dockerconfigjson"])["auths"]["harbor.testbed.internal"]["password"] == data["password"]


def test_bootstrap_waits_hold_only_once_the_bootstrap_marked_the_secret() -> None:
    waits = bootstrap_waits(bootstrap_refs("dev", "testbed-dev-shop"))
    assert [(w["namespace"], w["name"]) for w in waits] == [("testbed-ci", "harbor-robot-ci"), ("testbed-dev-shop", "harbor-pull"),
                                                            ("testbed-ci", "harbor-ca")]
    placeholder = {"kind": "Secret", "metadata": {"name": "harbor-robot-ci", "annotations": {}}}
    written = {"kind": "Secret", "metadata": {"name": "harbor-robot-ci", "annotations": {MARKER: "ci"}}}
    assert evaluate_object(placeholder, waits[0]["for"])[0] is False
    ok, detail = evaluate_object(written, waits[0]["for"])
    assert ok and MARKER in detail and "'ci'" in detail


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Any]:
    from testbed.render import render

    root = tmp_path_factory.mktemp("harbor-plan")
    write_stand_in_bundle(root / "bundle")
    text = render("full", "dev", root=REPO / "manifests")
    return {sim: build_plan(bundle=load_bundle(root / "bundle"), manifests_root=REPO / "manifests", profile="full", env="dev",
                            sim=sim, kubeconfig="/k", context=None, workdir=root / f"plan-{sim}", rendered_text=text,
                            harbor_url=None if sim else "https://harbor.testbed.internal",
                            kubectl=None if sim else Path("/opt/bin/kubectl"))
            for sim in (True, False)}


def test_bootstrap_step_follows_harbors_waits(plans: dict[bool, Any]) -> None:
    for sim, plan in plans.items():
        names = [s.name for s in plan.steps]
        assert names.index("harbor:upstream") < names.index("harbor") == names.index("harbor:bootstrap") - 1
        step = plan.steps[names.index("harbor:bootstrap")]
        assert (step.component, step.stage, step.role, step.file) == ("harbor", "registry", "harbor", None)
        assert {r["name"] for r in step.secrets} == {"harbor-admin", "harbor-bootstrap", "harbor-robot-ci", "harbor-pull", "harbor-ca"}
        # on sim nothing can be bootstrapped, so nothing may be waited on (a re-run stays a no-op)
        assert bool(step.waits) is not sim
        # on a real cluster it asks Harbor on every run (its state is outside the cluster); on sim never
        assert step.every_run is not sim
    assert plans[False].harbor_url == "https://harbor.testbed.internal" and plans[True].harbor_url is None
    # the port-forward to Harbor runs the configured kubectl: the plan carries it to the role and module
    assert plans[False].kubectl == "/opt/bin/kubectl" and plans[True].kubectl is None
    role = (REPO / "playbooks" / "roles" / "harbor" / "tasks" / "main.yml").read_text()
    assert 'kubectl: "{{ kubectl | default(none) }}"' in role


def test_the_kube_target_hands_its_kubectl_to_the_bring_up(tmp_path: Path) -> None:
    from testbed.targets.kube import KubeTarget

    kubectl = tmp_path / "kubectl"
    kubectl.write_text("#!/bin/sh\n")
    kubectl.chmod(0o755)
    config = load_config(Path(os.devnull), flags={"target": "kube", "binaries": {"kubectl": str(kubectl)}}, environ={})
    assert KubeTarget(config).session().spec.kubectl == kubectl


def test_minimal_profile_has_no_bootstrap(tmp_path: Path) -> None:
    write_stand_in_bundle(tmp_path / "bundle")
    plan = build_plan(bundle=load_bundle(tmp_path / "bundle"), manifests_root=REPO / "manifests", profile="minimal", env="dev",
                      sim=True, kubeconfig="/k", context=None, workdir=tmp_path / "plan")
    assert "harbor:bootstrap" not in [s.name for s in plan.steps]


def test_record_keeps_the_note_and_shows_a_simulated_skip() -> None:
    seen: list[tuple[str, str]] = []
    rec = Recorder(lambda step, phase: seen.append((step, phase)))
    assert "bootstrap" in PHASES
    task = "harbor:bootstrap | bootstrap"
    rec.on_event({"event": "playbook_on_task_start", "event_data": {"task": task}})
    rec.on_event({"event": "runner_on_ok", "event_data": {"task": task, "res": {
        "changed": False, "component": "harbor", "note": "simulated: skipped, no Harbor API on sim",
        "simulated": ["harbor bootstrap: simulated: skipped, no Harbor API on sim"]}}})
    rec.finish("successful", 0, Path("."))
    step = rec.steps["harbor:bootstrap"]
    assert step.result == "ok" and step.changed == 0 and step.note.startswith("simulated")
    assert seen == [("harbor:bootstrap", "bootstrap"), ("harbor:bootstrap", "simulated: skipped, no Harbor API on sim")]
    assert rec.to_json()["steps"][0]["note"] == step.note


def test_harbor_url_is_validated() -> None:
    flags = {"kube": {"harbor_url": "https://harbor.testbed.internal"}}
    assert load_config(Path(os.devnull), flags=flags, environ={}).kube.harbor_url == "https://harbor.testbed.internal"
    assert load_config(Path(os.devnull), flags={}, environ={}).kube.harbor_url is None
    with pytest.raises(ConfigError, match="kube.harbor_url"):
        load_config(Path(os.devnull), flags={"kube": {"harbor_url": "harbor.testbed.internal"}}, environ={})


def test_harbor_url_with_credentials_is_refused() -> None:
    """user:password@ in the URL would show up in every message and in the plan: refused, exit 2."""
    from testbed.errors import ConfigError

    flags = {"kube": {"harbor_url": "https://admin:hunter2@harbor.testbed.internal"}}
    with pytest.raises(ConfigError) as err:
        load_config(Path(os.devnull), flags=flags, environ={})
    assert "kube.harbor_url" in err.value.message and "hunter2" not in err.value.message
