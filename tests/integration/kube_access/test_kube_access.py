"""The kube target's access(): e2e and ui suites reach the shop through `kubectl port-forward`.

Through the cluster's real transport (kubectl -> kube-apiserver -> kwok's kubelet server) to
the shop's code running as local processes (see conftest.py for what stands in). One file,
run in order on one worker (CI runs with --dist loadfile): the cluster and shop are shared.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from testbed.errors import TargetUnreachable
from testbed.kube.api import KubeAPI
from testbed.kube.portforward import PortForwards
from testbed.shop.launcher import grpc_serving
from testbed.shop.topology import ALL_SERVICES, GRPC_SERVICES

pytestmark = [pytest.mark.integration, pytest.mark.sim]
REPO = Path(__file__).resolve().parents[3]
Shop = Any  # conftest.ShopThroughCluster (conftest modules are not importable by name)
CONFORM_TIMEOUT_S = 600
TESTBED_LINE = re.compile(r"(testbed: .*?)(?:\s+!+)?\s*$")


def port_forwards_on(kubeconfig: Path) -> list[str]:
    """Live `kubectl port-forward` processes that use this kubeconfig."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "port-forward" in cmdline and str(kubeconfig) in cmdline:
            found.append(f"{proc.name}: {cmdline[:160]}")
    return found


def request_lines(log: Path) -> int:
    """Request log lines a service wrote: one JSON line per RPC ("rpc"), per web request ("http")."""
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text(errors="replace").splitlines() if '"msg":"rpc"' in line or '"msg":"http"' in line)


def conform(shop: Shop, suite: str) -> tuple[subprocess.CompletedProcess[str], dict, float]:
    reports = shop.root / f"reports-{suite}-{time.monotonic_ns()}"
    start = time.monotonic()
    # the cluster comes from flags here (the suite processes must inherit it from conform), not from TESTBED_KUBE__*
    env = {k: v for k, v in shop.kube_environ().items() if not k.startswith("TESTBED_KUBE__")}
    proc = subprocess.run([sys.executable, "-m", "testbed.cli.main", "conform", "--target", "kube", "--suite", suite,
                           "--kubeconfig", str(shop.kubeconfig), "--env", "dev", "--profile", "minimal",
                           "--reports-dir", str(reports)], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=CONFORM_TIMEOUT_S)
    elapsed = time.monotonic() - start
    summaries = sorted(reports.glob("*/summary.json"))
    summary = json.loads(summaries[-1].read_text()) if summaries else {}
    return proc, summary, elapsed


def why(proc: subprocess.CompletedProcess[str], suite: str) -> str:
    """For a failed assertion: conform's output and the failing part of the suite's pytest log."""
    logs = sorted(Path(line.split("report: ", 1)[1]).parent / "pytest" / f"{suite}.log"
                  for line in proc.stdout.splitlines() if line.startswith("report: "))
    suite_log = logs[-1].read_text(errors="replace")[-6000:] if logs and logs[-1].exists() else ""
    return f"{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}\n{suite_log}"


def test_access_gives_loopback_forwards_of_its_own(shop_through_cluster: Shop, record_property) -> None:
    shop = shop_through_cluster
    target = shop.kube_target()
    start = time.monotonic()
    with target.access() as endpoints:
        opened_s = time.monotonic() - start
        addresses = [*endpoints.grpc.values(), (endpoints.web_url or "").removeprefix("http://")]
        assert set(endpoints.grpc) == set(GRPC_SERVICES) and not endpoints.simulated
        assert all(a.startswith("127.0.0.1:") for a in addresses), addresses
        forwarded_ports = {int(a.rsplit(":", 1)[1]) for a in addresses}
        local_ports = {shop.local_port(s) for s in ALL_SERVICES}
        assert len(forwarded_ports) == len(ALL_SERVICES) and not forwarded_ports & local_ports
        assert all(grpc_serving(endpoints.grpc[s], 5.0) for s in GRPC_SERVICES)
        with urllib.request.urlopen(f"{endpoints.web_url}/healthz", timeout=10) as resp:
            assert resp.status == 200
        assert port_forwards_on(shop.kubeconfig)
    record_property("open_all_forwards_s", f"{opened_s:.2f}")
    assert port_forwards_on(shop.kubeconfig) == []


def test_e2e_suite_passes_through_the_forwards(shop_through_cluster: Shop, record_property) -> None:
    shop = shop_through_cluster
    logs = {s: shop.local.log_dir / f"{s}.log" for s in GRPC_SERVICES}
    before = {s: request_lines(log) for s, log in logs.items()}

    proc, summary, elapsed = conform(shop, "e2e")

    assert proc.returncode == 0, why(proc, "e2e")
    e2e = summary["suites"]["e2e"]
    assert summary["target"] == "kube" and summary["verdict"] == "pass"
    assert e2e["passed"] > 20 and e2e["failed"] == e2e["errors"] == e2e["skipped"] == 0, e2e
    grew = {s for s in GRPC_SERVICES if request_lines(logs[s]) > before[s]}
    assert {"user", "product", "cart", "order", "payment", "point", "delivery"} <= grew, grew
    assert port_forwards_on(shop.kubeconfig) == []
    record_property("conform_e2e_s", f"{elapsed:.1f}")


@pytest.mark.browser
def test_ui_suite_passes_through_the_forwarded_web(shop_through_cluster: Shop, record_property) -> None:
    shop = shop_through_cluster
    web_log = shop.local.log_dir / "web.log"
    before = request_lines(web_log)

    proc, summary, elapsed = conform(shop, "ui")

    assert proc.returncode == 0, why(proc, "ui")
    ui = summary["suites"]["ui"]
    assert ui["passed"] > 5 and ui["failed"] == ui["errors"] == ui["skipped"] == 0, ui
    assert request_lines(web_log) > before + ui["passed"]
    assert port_forwards_on(shop.kubeconfig) == []
    record_property("conform_ui_s", f"{elapsed:.1f}")


def test_a_kubectl_that_exits_is_restarted_on_the_same_port(shop_through_cluster: Shop) -> None:
    shop = shop_through_cluster
    with PortForwards(shop.kubeconfig, None, shop.namespace) as forwards:
        address = forwards.open("svc/user", 50051)
        assert grpc_serving(address, 5.0)
        forward = forwards.forwards()[0]
        os.kill(forward.run.process.pid, signal.SIGKILL)  # what kubectl does when its pod goes away: exit
        deadline = time.monotonic() + 15
        while forward.restarts == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert forward.restarts == 1
        assert forwards.wait_ready("svc/user", 50051, 15) == address
        assert grpc_serving(address, 5.0)
        assert forward.last_exit.startswith("kubectl exited -9: ")
    assert port_forwards_on(shop.kubeconfig) == []


def test_forward_to_a_missing_service_is_one_line_with_kubectls_error(shop_through_cluster: Shop) -> None:
    shop = shop_through_cluster
    with PortForwards(shop.kubeconfig, None, shop.namespace, ready_timeout_s=10) as forwards:
        with pytest.raises(TargetUnreachable) as caught:
            forwards.open("svc/no-such-service", 50051)
        assert forwards.forwards() == []
    message = caught.value.message
    assert "\n" not in message and caught.value.exit_code == 3
    assert "svc/no-such-service" in message and 'services "no-such-service" not found' in message
    assert port_forwards_on(shop.kubeconfig) == []


@contextmanager
def service_without_pods(shop: Shop, service: str) -> Iterator[None]:
    """The Service exists (so the up-check passes) but selects no pod: a forward to it cannot open."""
    with KubeAPI(shop.kubeconfig) as api:
        selector = api.get("v1", "Service", service, shop.namespace)["spec"]["selector"]
        api.patch("v1", "Service", service, {"spec": {"selector": {"app.kubernetes.io/name": "nothing-runs-this"}}},
                  namespace=shop.namespace)
        try:
            yield
        finally:
            api.patch("v1", "Service", service, {"spec": {"selector": selector}}, namespace=shop.namespace)


def lines_from_testbed(text: str) -> list[str]:
    """The `testbed: ...` lines testbed printed (alone, or inside pytest's `! Exit: ... !` banner)."""
    return [match.group(1) for line in text.splitlines() if (match := TESTBED_LINE.search(line))
            and not line.startswith(("ERROR ", "FAILED "))]  # pytest's short summary truncates its lines


@pytest.mark.parametrize("workers", ["0", "2"])
def test_suite_exits_3_naming_the_service_when_its_forward_fails(shop_through_cluster: Shop, workers: str) -> None:
    shop = shop_through_cluster
    with service_without_pods(shop, "rate"):
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers,
                               "suites/e2e"], env=shop.kube_environ(), cwd=REPO,
                              capture_output=True, text=True, timeout=180)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output[-4000:]
    lines = lines_from_testbed(output)
    assert lines and all(line == lines[0] for line in lines), output[-4000:]
    assert lines[0].startswith("testbed: cannot forward svc/rate:50051 ") and f"namespace {shop.namespace}" in lines[0]
    assert "error:" in lines[0]  # kubectl's own line follows ours
    assert "Traceback" not in output and "INTERNALERROR" not in output, output[-4000:]
    assert port_forwards_on(shop.kubeconfig) == []


def test_conform_with_a_service_without_pods_is_exit_3_before_any_suite(shop_through_cluster: Shop) -> None:
    """The up-check passes (every Service and Deployment exists); the forwards conform opens once do not."""
    shop = shop_through_cluster
    with service_without_pods(shop, "rate"):
        proc, summary, _ = conform(shop, "e2e")
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    err = [line for line in proc.stderr.splitlines() if line.startswith("testbed:")]
    assert len(err) == 1 and "cannot forward svc/rate:50051" in err[0] and "error:" in err[0], proc.stderr
    assert summary == {} and "e2e" not in proc.stdout  # no suite ran, no bundle
    assert port_forwards_on(shop.kubeconfig) == []


def test_conform_with_a_service_gone_is_exit_3_before_any_suite(shop_through_cluster: Shop) -> None:
    shop = shop_through_cluster
    with KubeAPI(shop.kubeconfig) as api:
        saved = api.get("v1", "Service", "comment", shop.namespace)
        api.delete("v1", "Service", "comment", namespace=shop.namespace)
        try:
            api.wait_until_gone("v1", "Service", "comment", namespace=shop.namespace, timeout_s=30)
            proc, summary, _ = conform(shop, "e2e")
        finally:
            meta = {k: saved["metadata"][k] for k in ("name", "namespace", "labels") if k in saved["metadata"]}
            spec = {k: v for k, v in saved["spec"].items() if k not in ("clusterIP", "clusterIPs")}
            api.create({"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec})
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    err = [line for line in proc.stderr.splitlines() if line.startswith("testbed:")]  # not logs or warnings
    assert len(err) == 1 and "Service comment" in err[0] and "not up" in err[0], proc.stderr
    assert summary == {}


CHILD = """
import json, sys, time
from pathlib import Path
from testbed.kube.portforward import PortForwards
with PortForwards(Path(sys.argv[1]), None, sys.argv[2]) as forwards:
    forwards.open_many([("svc/user", 50051), ("svc/web", 80)])
    print(json.dumps(forwards.pids()), flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "sigterm", "sigkill"])
def test_no_kubectl_outlives_its_owner(shop_through_cluster: Shop, sig: signal.Signals) -> None:
    shop = shop_through_cluster
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(shop.kubeconfig), shop.namespace],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert child.stdout is not None
        pids = json.loads(child.stdout.readline())
        assert len(pids) == 2 and all(Path(f"/proc/{pid}").exists() for pid in pids)
        child.send_signal(sig)
        child.wait(15)
        deadline = time.monotonic() + 10
        while port_forwards_on(shop.kubeconfig) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert port_forwards_on(shop.kubeconfig) == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
