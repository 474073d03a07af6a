"""The Harbor bootstrap against a fake Harbor (fake_harbor.py: Harbor cannot run on this machine)
and a real Kubernetes API (the sim cluster) for the Secrets it reads and writes.

Each test gets its own namespace; every Secret and ConfigMap the bootstrap touches lives there,
created the way the bring-up creates them (testbed.bringup.secrets for the secrets step, the
harbor component's payload files for the ConfigMap the harbor step applies).
"""

from __future__ import annotations

import base64
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fake_harbor import FAKE_CA, PREFIX, fake_harbor
from harbor_cluster import auths, prepare, prepare_refs, robot_secret_of, secret, self_signed_ca_and_server

from testbed.bringup.harbor import MARKER, bootstrap, bootstrap_waits, harbor_endpoint, read_secret
from testbed.bringup.readiness import evaluate
from testbed.bringup.secrets import ensure_secrets
from testbed.errors import ExitCode, ProvisioningFailed
from testbed.kube.api import KubeAPI

pytestmark = [pytest.mark.integration, pytest.mark.sim]


def test_first_bootstrap_creates_project_robots_and_secrets(sim_api: KubeAPI, sim_namespace: str) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password) as (url, state):
        report = bootstrap(sim_api, url, refs)
    project = state.project_named("testbed")
    assert project is not None
    assert {k: project["metadata"][k] for k in ("auto_scan", "prevent_vul", "severity", "public")} == \
        {"auto_scan": "true", "prevent_vul": "true", "severity": "critical", "public": "false"}
    assert sorted(r["name"] for r in state.robots.values()) == ["testbed+ci", "testbed+pull-dev"]
    assert state.calls_of("PATCH", "/api/v2.0/robots") == []  # secrets came from the creation responses
    ci = secret(sim_api, sim_namespace, "harbor-robot-ci")
    assert ci["type"] == "kubernetes.io/dockerconfigjson" and ci["annotations"][MARKER] == "ci"
    assert ci["username"] == f"{PREFIX}testbed+ci" and ci["password"] == robot_secret_of(state, "testbed+ci")
    assert auths(ci)["harbor.testbed.internal"]["password"] == ci["password"]
    pull = secret(sim_api, sim_namespace, "harbor-pull")
    assert pull["type"] == "kubernetes.io/dockerconfigjson" and "username" not in pull
    entry = auths(pull)["harbor.testbed.internal"]
    assert entry["username"] == f"{PREFIX}testbed+pull-dev" and entry["password"] == robot_secret_of(state, "testbed+pull-dev")
    assert base64.b64decode(entry["auth"]).decode() == f"{entry['username']}:{entry['password']}"
    ca = secret(sim_api, sim_namespace, "harbor-ca")
    assert ca["ca.crt"] == "" and ca["annotations"][MARKER] == "ca"
    assert any("getcert: 404" in n and "plain HTTP" in n for n in report.notes)
    assert len(report.changed) == 4, report.changed  # project, two robots, harbor-ca marked
    # what the drift check and `testbed status` read now holds
    assert all(t.ready for w in bootstrap_waits(refs) for t in evaluate(sim_api, w))


def test_second_run_changes_nothing_and_refreshes_no_secret(sim_api: KubeAPI, sim_namespace: str) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password) as (url, state):
        bootstrap(sim_api, url, refs)
        before = secret(sim_api, sim_namespace, "harbor-robot-ci"), secret(sim_api, sim_namespace, "harbor-pull")
        first_calls = len(state.calls)
        report = bootstrap(sim_api, url, refs)
        second = state.calls[first_calls:]
    assert report.changed == []
    assert not [c for c in second if c[0] in ("POST", "PUT", "PATCH", "DELETE")], second
    assert (secret(sim_api, sim_namespace, "harbor-robot-ci"), secret(sim_api, sim_namespace, "harbor-pull")) == before


def test_deleted_secret_gets_a_refreshed_robot_secret(sim_api: KubeAPI, sim_namespace: str) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password) as (url, state):
        bootstrap(sim_api, url, refs)
        old = robot_secret_of(state, "testbed+ci")
        sim_api.delete("v1", "Secret", "harbor-robot-ci", namespace=sim_namespace)
        sim_api.wait_until_gone("v1", "Secret", "harbor-robot-ci", namespace=sim_namespace, timeout_s=30)
        report = bootstrap(sim_api, url, refs)
        ci_id = next(r["id"] for r in state.robots.values() if r["name"] == "testbed+ci")
        assert state.calls_of("PATCH", "/api/v2.0/robots") == [("PATCH", f"/api/v2.0/robots/{ci_id}")]  # pull untouched
        new = robot_secret_of(state, "testbed+ci")
    assert new != old
    ci = secret(sim_api, sim_namespace, "harbor-robot-ci")
    assert ci["password"] == new and auths(ci)["harbor.testbed.internal"]["password"] == new
    assert ci["type"] == "kubernetes.io/dockerconfigjson" and ci["annotations"][MARKER] == "ci"
    assert any("refreshed" in c and "missing" in c for c in report.changed), report.changed


def test_stale_secret_and_drifted_project_are_repaired(sim_api: KubeAPI, sim_namespace: str) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password) as (url, state):
        bootstrap(sim_api, url, refs)
        pull = next(r for r in state.robots.values() if r["name"] == "testbed+pull-dev")
        pull["secret"] = "RotatedInTheUi1"  # someone refreshed it in Harbor: the Secret no longer logs in
        state.project_named("testbed")["metadata"]["auto_scan"] = "false"
        report = bootstrap(sim_api, url, refs)
        assert state.project_named("testbed")["metadata"]["auto_scan"] == "true"
        assert auths(secret(sim_api, sim_namespace, "harbor-pull"))["harbor.testbed.internal"]["password"] == pull["secret"]
    assert pull["secret"] != "RotatedInTheUi1"
    assert any("scan settings" in c for c in report.changed) and any("no longer logged in" in c for c in report.changed)


def test_harbor_ca_is_copied_when_harbor_has_one(sim_api: KubeAPI, sim_namespace: str) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password, tls=True) as (url, _state):
        report = bootstrap(sim_api, url, refs)
        assert bootstrap(sim_api, url, refs).changed == []
    assert secret(sim_api, sim_namespace, "harbor-ca")["ca.crt"] == FAKE_CA
    assert report.notes == []


def test_wrong_admin_password_fails_naming_the_call(sim_api: KubeAPI, sim_namespace: str) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor("Harbor12345") as (url, state), pytest.raises(ProvisioningFailed) as caught:
        bootstrap(sim_api, url, refs)
    err = caught.value
    assert err.exit_code == ExitCode.PROVISIONING and err.component == "harbor"
    assert err.message == "harbor: GET /api/v2.0/users/current: HTTP 401 UNAUTHORIZED: UnAuthorized"
    assert password not in err.message and "\n" not in err.message
    assert state.projects == {} and state.robots == {}


def test_harbor_down_fails_naming_the_call(sim_api: KubeAPI, sim_namespace: str) -> None:
    refs = prepare(sim_api, sim_namespace)
    # a port held bound but never listening: refused, and no other process can take it meanwhile
    # (a just-freed port could be reused by anything on a shared machine)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}"
        with pytest.raises(ProvisioningFailed) as caught:
            bootstrap(sim_api, url, refs, timeout_s=3)
    assert caught.value.exit_code == ExitCode.PROVISIONING and "Connection refused" in caught.value.message
    assert caught.value.message.startswith(f"harbor: GET /api/v2.0/health: Harbor unreachable at {url}: ")


def test_harbor_5xx_fails_with_harbors_message(sim_api: KubeAPI, sim_namespace: str) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password) as (url, state):
        state.fail_with = 503
        with pytest.raises(ProvisioningFailed) as caught:
            bootstrap(sim_api, url, refs)
    assert caught.value.message == "harbor: GET /api/v2.0/health: HTTP 503 UNKNOWN: internal server error: database is unavailable"


def test_https_harbor_url_trusts_the_charts_ingress_ca(sim_api: KubeAPI, sim_namespace: str, tmp_path: Path) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    ca, cert, key = self_signed_ca_and_server(tmp_path)
    with fake_harbor(password, serve_https=(cert, key)) as (url, _state):
        assert url.startswith("https://")
        with pytest.raises(ProvisioningFailed, match="Harbor unreachable at https://.*SSLError"):
            with harbor_endpoint(sim_api, tmp_path, None, url, namespace=sim_namespace) as (base, verify):
                assert verify is True  # no ingress CA yet: the system trust store, which does not know it
                bootstrap(sim_api, base, refs, verify=verify)
        sim_api.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                        "metadata": {"name": "harbor-ingress", "namespace": sim_namespace},
                        "stringData": {"ca.crt": ca, "tls.crt": cert.read_text(), "tls.key": key.read_text()}})
        with harbor_endpoint(sim_api, tmp_path, None, url, namespace=sim_namespace) as (base, verify):
            assert isinstance(verify, str) and Path(verify).read_text() == ca
            report = bootstrap(sim_api, base, refs, verify=verify)
        assert not Path(verify).exists()  # the CA file lived only as long as the endpoint
    assert any("robot$testbed+ci created" in c for c in report.changed)
    assert secret(sim_api, sim_namespace, "harbor-ca")["ca.crt"] == FAKE_CA  # getcert's answer, as Harbor serves it


def test_something_else_at_the_url_is_named_not_a_traceback(sim_api: KubeAPI, sim_namespace: str) -> None:
    refs = prepare(sim_api, sim_namespace)

    class Portal(BaseHTTPRequestHandler):  # e.g. a URL that reaches the Harbor portal or a login page
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = b"<html>portal</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(ProvisioningFailed) as caught:
            bootstrap(sim_api, url, refs)
    finally:
        server.shutdown()
        server.server_close()
    assert caught.value.message == f"harbor: GET /api/v2.0/health: HTTP 200 but not JSON (text/html): is {url} Harbor?"


@pytest.mark.parametrize(("omit", "message"), [
    ({"secret"}, "harbor: POST /api/v2.0/robots: HTTP 201: Harbor's answer has no 'secret'"),
    ({"project_id"}, "harbor: GET /api/v2.0/projects: project testbed: Harbor's answer has no 'project_id'"),
])
def test_an_answer_without_a_field_read_is_named_not_a_traceback(sim_api: KubeAPI, sim_namespace: str, omit: set[str],
                                                                 message: str) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password) as (url, state):
        state.omit = omit
        with pytest.raises(ProvisioningFailed) as caught:
            bootstrap(sim_api, url, refs)
    assert caught.value.message == message


def test_a_hand_edited_robot_secret_is_refreshed(sim_api: KubeAPI, sim_namespace: str) -> None:
    refs = prepare(sim_api, sim_namespace)
    password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    with fake_harbor(password) as (url, state):
        bootstrap(sim_api, url, refs)
        # the API server keeps data valid base64 (and .dockerconfigjson JSON), but any bytes may be in it
        sim_api.patch("v1", "Secret", "harbor-robot-ci", {"data": {"password": base64.b64encode(b"\xff\xfe").decode()}},
                      namespace=sim_namespace)
        report = bootstrap(sim_api, url, refs)
        ci = robot_secret_of(state, "testbed+ci")
    assert secret(sim_api, sim_namespace, "harbor-robot-ci")["password"] == ci
    assert any("harbor-robot-ci" in c and "refreshed" in c for c in report.changed), report.changed


def test_a_second_env_gets_its_own_pull_robot_and_leaves_the_first_ones_alone(sim_api: KubeAPI, sim_namespace: str) -> None:
    """Two envs on one cluster share Harbor, its admin, the payloads and testbed-ci; each has its shop namespace
    and harbor-pull there. Env b's bring-up must not rotate the robot env a's Secret holds."""
    refs_a = prepare(sim_api, sim_namespace, env="a")
    shop_b = f"{sim_namespace}-b"
    sim_api.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": shop_b}}])
    try:
        ensure_secrets(sim_api, [{"namespace": shop_b, "name": "harbor-pull"}])
        refs_b = [{**r, "namespace": shop_b} if r["role"] == "robot" and r["robot"] == "pull" else r
                  for r in prepare_refs(sim_namespace, env="b")]
        password = read_secret(sim_api, sim_namespace, "harbor-admin", "HARBOR_ADMIN_PASSWORD")
        with fake_harbor(password) as (url, state):
            bootstrap(sim_api, url, refs_a)
            held_a = auths(secret(sim_api, sim_namespace, "harbor-pull"))["harbor.testbed.internal"]
            report_b = bootstrap(sim_api, url, refs_b)
            assert state.calls_of("PATCH", "/api/v2.0/robots") == []  # nobody's secret rotated
            assert bootstrap(sim_api, url, refs_a).changed == []  # env a's Secret still logs in
            robots = {r["name"]: r for r in state.robots.values()}
        assert sorted(robots) == ["testbed+ci", "testbed+pull-a", "testbed+pull-b"]
        assert held_a["username"] == f"{PREFIX}testbed+pull-a" and held_a["password"] == robots["testbed+pull-a"]["secret"]
        held_b = auths(secret(sim_api, shop_b, "harbor-pull"))["harbor.testbed.internal"]
        assert held_b["username"] == f"{PREFIX}testbed+pull-b" and held_b["password"] == robots["testbed+pull-b"]["secret"]
        assert robots["testbed+pull-b"]["description"].endswith(f"({shop_b}/harbor-pull)")
        assert report_b.changed == [f"robot {PREFIX}testbed+pull-b created, Secret {shop_b}/harbor-pull written"]
    finally:
        sim_api.delete("v1", "Namespace", shop_b)
