"""The bootstrap as the bring-up runs it: site.yml through ansible-runner (drift check, role harbor,
module testbed_harbor), against the fake Harbor and the sim cluster's real API.

The plan holds the harbor step (the harbor-bootstrap ConfigMap) and harbor:bootstrap, both in
this test's namespace, as testbed.bringup.plan builds them. Checks what the record says (changed,
note, duration, the failure's one line), that a re-run does nothing, and that no secret value
reaches the runner's artifacts.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml
from fake_harbor import fake_harbor
from harbor_cluster import PAYLOADS, harbor_core_forwarded_to, prepare, recording_kubectl, robot_secret_of

from testbed.bringup.drift import stamp
from testbed.bringup.harbor import bootstrap_waits, read_secret
from testbed.bringup.plan import MANAGED_LABEL, MANAGED_VALUE, PLAN_FILE, Plan, Step
from testbed.bringup.record import Recorder
from testbed.bringup.runner import run_playbook
from testbed.bringup.secrets import ensure_secrets
from testbed.kube.api import KubeAPI

pytestmark = [pytest.mark.integration, pytest.mark.sim]
MODULE = Path(__file__).resolve().parents[3] / "playbooks" / "library" / "testbed_harbor.py"


def write_plan(tmp: Path, api: KubeAPI, namespace: str, refs: list[dict[str, str]], *, sim: bool, url: str | None,
               kubectl: Path | None = None) -> Path:
    config_map = stamp({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "harbor-bootstrap", "namespace": namespace, "labels": {MANAGED_LABEL: MANAGED_VALUE}},
                        "data": {f.name: f.read_text() for f in sorted(PAYLOADS.glob("*.json"))}})
    (tmp / "plan").mkdir(parents=True, exist_ok=True)
    step_file = tmp / "plan" / "00-harbor.yaml"
    step_file.write_text(yaml.safe_dump_all([config_map], sort_keys=False))
    steps = [Step("harbor", "harbor", "registry", "harbor", file=str(step_file),
                  objects=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "harbor-bootstrap", "namespace": namespace}]),
             Step("harbor:bootstrap", "harbor", "registry", "harbor", secrets=refs, waits=[] if sim else bootstrap_waits(refs),
                  every_run=not sim)]
    plan = Plan("full", "dev", sim, str(api.kubeconfig.resolve()), None, steps, None, str(tmp / "plan"), url,
                str(kubectl) if kubectl else None)
    path = tmp / "plan" / PLAN_FILE
    path.write_text(json.dumps(asdict(plan), indent=1))
    return path


def run(tmp: Path, plan: Path, n: int) -> Recorder:
    return run_playbook("site.yml", plan_file=plan, workdir=tmp / f"run{n}", ident=f"harbor-{n}")


def secret_values(api: KubeAPI, namespace: str) -> set[str]:
    """Every secret value held in the namespace: whole values, and passwords inside dockerconfigjson."""
    values = set()
    for obj in api.list("v1", "Secret", namespace=namespace):
        for raw in (obj.get("data") or {}).values():
            text = base64.b64decode(raw).decode()
            values.add(text)
            if text.startswith("{"):
                for entry in (json.loads(text).get("auths") or {}).values():
                    values |= {entry["password"], entry["auth"]}
    return {v for v in values if len(v) >= 12 and not v.startswith(("robot$", "-----BEGIN"))}


def leaked(root: Path, values: set[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            found += [f"{path.relative_to(root)}" for v in values if v in text]
    return found


def test_bootstrap_step_in_the_playbook(sim_api: KubeAPI, sim_namespace: str, tmp_path: Path) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password) as (url, state):
        plan = write_plan(tmp_path, sim_api, sim_namespace, refs, sim=False, url=url)
        first = run(tmp_path, plan, 1)
        assert first.status == "successful", first.failure
        step = first.steps["harbor:bootstrap"]
        assert step.result == "ok" and step.changed == 1 and step.duration_s > 0
        assert "project testbed created" in step.note and "robot robot$testbed+ci created" in step.note

        calls = len(state.calls)
        second = run(tmp_path, plan, 2)
        assert second.status == "successful" and second.changed == 0, [s.step for s in second.steps.values() if s.changed]
        # Harbor is asked every time (only it knows whether a robot secret still works), and writes nothing
        assert list(second.steps) == ["harbor:bootstrap"] and second.steps["harbor:bootstrap"].result == "ok"
        asked = state.calls[calls:]
        assert ("GET", "/api/v2.0/users/current/permissions") in asked
        assert not [c for c in asked if c[0] in ("POST", "PUT", "PATCH", "DELETE")], asked

        old = robot_secret_of(state, "testbed+ci")
        sim_api.delete("v1", "Secret", "harbor-robot-ci", namespace=sim_namespace)
        sim_api.wait_until_gone("v1", "Secret", "harbor-robot-ci", namespace=sim_namespace, timeout_s=30)
        # as on a real re-run: the secrets step puts its placeholder back first; the bootstrap replaces it
        ensure_secrets(sim_api, [{"namespace": sim_namespace, "name": "harbor-robot-ci"}])
        third = run(tmp_path, plan, 3)
        assert third.status == "successful" and third.steps["harbor:bootstrap"].changed == 1
        assert "secret refreshed" in third.steps["harbor:bootstrap"].note
        assert len(state.calls_of("PATCH", "/api/v2.0/robots")) == 1 and robot_secret_of(state, "testbed+ci") != old
        robot_secrets = {r["secret"] for r in state.robots.values()} | {old}
    values = secret_values(sim_api, sim_namespace) | robot_secrets | {password}
    assert robot_secrets <= values and len(values) >= 4
    assert leaked(tmp_path, values) == []
    assert leaked(tmp_path, {"robot$testbed+ci created"})  # the search does read the module results
    bringup = json.loads(first.write(tmp_path / "bringup.json").read_text())
    assert [s for s in bringup["steps"] if s["step"] == "harbor:bootstrap"][0]["changed"] == 1


def test_failure_is_one_line_naming_the_call(sim_api: KubeAPI, sim_namespace: str, tmp_path: Path) -> None:
    refs = prepare(sim_api, sim_namespace)
    with fake_harbor("NotTheGeneratedOne1") as (url, _state):
        record = run(tmp_path, write_plan(tmp_path, sim_api, sim_namespace, refs, sim=False, url=url), 1)
    assert record.failure is not None and record.failure.step == "harbor:bootstrap"
    assert record.failure.component == "harbor"
    assert record.failure.message == "harbor: GET /api/v2.0/users/current: HTTP 401 UNAUTHORIZED: UnAuthorized"
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    assert leaked(tmp_path, {password}) == []


def test_on_sim_the_step_is_a_visible_simulated_skip(sim_api: KubeAPI, sim_namespace: str, tmp_path: Path) -> None:
    refs = prepare(sim_api, sim_namespace)
    seen: list[tuple[str, str]] = []
    plan = write_plan(tmp_path, sim_api, sim_namespace, refs, sim=True, url=None)
    record = run_playbook("site.yml", plan_file=plan, workdir=tmp_path / "run", ident="harbor-sim",
                          progress=lambda step, phase: seen.append((step, phase)))
    assert record.status == "successful"
    step = record.steps["harbor:bootstrap"]
    assert step.result == "ok" and step.changed == 0
    assert step.note == "simulated: skipped, no Harbor API on sim"
    assert step.simulated == ["harbor bootstrap: simulated: skipped, no Harbor API on sim"]
    assert ("harbor:bootstrap", "simulated: skipped, no Harbor API on sim") in seen
    ci = sim_api.get("v1", "Secret", "harbor-robot-ci", sim_namespace)
    assert ci is not None and "harbor-bootstrap" not in (ci["metadata"].get("annotations") or {})  # nothing pretended


def test_module_takes_and_returns_no_secret(sim_api: KubeAPI, sim_namespace: str, tmp_path: Path) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password) as (url, state):
        out = []
        for _ in range(2):
            args = tmp_path / "args.json"
            args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
                "step": "harbor:bootstrap", "refs": refs, "kubeconfig": str(sim_api.kubeconfig), "harbor_url": url}}))
            proc = subprocess.run([sys.executable, str(MODULE), str(args)], capture_output=True, text=True, timeout=120)
            out.append((proc.stdout, json.loads(proc.stdout)))
        secrets_now = {r["secret"] for r in state.robots.values()}
    (first_text, first), (second_text, second) = out
    assert first["changed"] is True and second["changed"] is False, (first, second)
    assert second["note"].startswith("in sync") or "getcert: 404" in second["note"]
    for text in (first_text, second_text):
        assert not [s for s in secrets_now | {password} if s in text]



def test_bad_input_fails_the_module_in_one_line_not_a_traceback(sim_api: KubeAPI, sim_namespace: str, tmp_path: Path) -> None:
    refs = prepare(sim_api, sim_namespace)
    sim_api.patch("v1", "ConfigMap", "harbor-bootstrap", {"data": {"project.json": '{"public": false}'}}, namespace=sim_namespace)
    with fake_harbor("unused") as (url, state):
        args = tmp_path / "args.json"
        args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
            "step": "harbor:bootstrap", "refs": refs, "kubeconfig": str(sim_api.kubeconfig), "harbor_url": url}}))
        proc = subprocess.run([sys.executable, str(MODULE), str(args)], capture_output=True, text=True, timeout=120)
    result = json.loads(proc.stdout)
    assert result["failed"] is True and "Traceback" not in proc.stdout + proc.stderr
    assert result["msg"] == f"harbor: ConfigMap {sim_namespace}/harbor-bootstrap: project.json has no 'project_name'"
    assert state.calls == []  # checked before Harbor is asked anything


def test_without_harbor_url_it_port_forwards_with_the_configured_kubectl(sim_api: KubeAPI, sim_namespace: str,
                                                                         tmp_path: Path) -> None:
    """The port-forward path end to end: role -> module -> PortForwards -> the plan's kubectl -> kube-apiserver
    -> kwok's kubelet (a PortForward object) -> the fake Harbor."""
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    kubectl, log = recording_kubectl(tmp_path)
    with fake_harbor(password) as (url, state):
        harbor_core_forwarded_to(sim_api, sim_namespace, int(url.rsplit(":", 1)[1]))
        record = run(tmp_path, write_plan(tmp_path, sim_api, sim_namespace, refs, sim=False, url=None, kubectl=kubectl), 1)
    assert record.status == "successful", record.failure
    step = record.steps["harbor:bootstrap"]
    assert step.changed == 1 and "robot robot$testbed+ci created" in step.note, step.note
    assert ("GET", "/api/v2.0/health") in state.calls
    runs = log.read_text().splitlines()
    assert any("port-forward" in line and "svc/harbor-core" in line and sim_namespace in line for line in runs), runs


def test_a_rerun_repairs_what_changed_in_harbor_only(sim_api: KubeAPI, sim_namespace: str, tmp_path: Path) -> None:
    """The Secrets still carry the bootstrap's marker, so nothing in the cluster looks out of sync; Harbor
    itself changed (a robot secret refreshed in its UI, scan on push turned off): the re-run repairs both."""
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password) as (url, state):
        plan = write_plan(tmp_path, sim_api, sim_namespace, refs, sim=False, url=url)
        assert run(tmp_path, plan, 1).status == "successful"
        pull = next(r for r in state.robots.values() if r["name"] == "testbed+pull-dev")
        pull["secret"] = "RotatedInTheUi1"
        state.project_named("testbed")["metadata"]["auto_scan"] = "false"
        second = run(tmp_path, plan, 2)
        assert second.status == "successful", second.failure
        step = second.steps["harbor:bootstrap"]
        assert step.changed == 1 and "no longer logged in" in step.note and "scan settings" in step.note, step.note
        assert state.project_named("testbed")["metadata"]["auto_scan"] == "true" and pull["secret"] != "RotatedInTheUi1"
        held = json.loads(base64.b64decode(sim_api.get("v1", "Secret", "harbor-pull", sim_namespace)["data"][".dockerconfigjson"]))
        assert held["auths"]["harbor.testbed.internal"]["password"] == pull["secret"]
