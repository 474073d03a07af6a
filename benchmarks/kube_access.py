"""What reaching the shop through `kubectl port-forward` costs on the kube target.

    python benchmarks/kube_access.py [--access-runs 5] [--calls 2000] [--rate 100] [--conform-runs 3] [--json PATH]

The set-up is the one of tests/integration/kube_access/conftest.py: a sim cluster of this run's
own, the minimal profile brought up by `testbed up --target sim` (HPAs deleted so the pod set
stays put), the shop's code running as local processes (local target on a temp state dir), and
for every shop pod a kwok PortForward object carrying the pod's port to the matching local
process. A forward then runs as on a real cluster: kubectl -> kube-apiserver -> kwok -> process.

Figures and their anchors, all measured in the same run:
- the kube target's access() (cluster check + 10 forwards to ready), median of --access-runs;
  anchors: one `kubectl port-forward svc/product` to ready, and one `kubectl get ns` round trip;
- product.GetProduct p50 / p99 at a fixed rate (open loop, latency from the scheduled send time)
  through the forward; anchor: the same calls straight to the local product process, in
  alternating halves so both paths see the same machine load;
- `testbed conform --suite e2e --target kube` wall time; anchor: the same suite on the local
  target (same processes behind it), runs alternating.
Everything started here is stopped at the end, and the end checks that nothing is left.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testbed.config import load_config  # noqa: E402
from testbed.errors import TestbedError  # noqa: E402
from testbed.kube.api import KubeAPI  # noqa: E402
from testbed.kube.portforward import PortForwards, find_kubectl  # noqa: E402
from testbed.kube.workloads import wait_for_rollout  # noqa: E402
from testbed.manifests_gen.spec import GRPC_PORT  # noqa: E402
from testbed.testing.kwok_forward import forward_shop_pods  # noqa: E402
from testbed.shop.topology import ALL_SERVICES  # noqa: E402
from testbed.shop.v1 import product_pb2, product_pb2_grpc  # noqa: E402
from testbed.sim.cluster import SimCluster  # noqa: E402
from testbed.targets.kube import KubeTarget  # noqa: E402
from testbed.targets.local import LocalTarget  # noqa: E402
from testbed.targets.sim import SimTarget  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ENV = "dev"
NAMESPACE = f"testbed-{ENV}-shop"
CONFORM_TIMEOUT_S = 600


@dataclass
class Rig:
    """The cluster, the local shop behind it, and where each run writes."""

    cluster: SimCluster
    local: LocalTarget
    root: Path
    local_ports: dict[str, int]

    def kube_target(self) -> KubeTarget:
        """The kube target as another machine would use it: a state dir that never saw `up`."""
        flags = {"target": "kube", "state_dir": str(self.root / "elsewhere"), "reports_dir": str(self.root / "reports"),
                 "kube": {"kubeconfig": str(self.cluster.kubeconfig), "env": ENV, "profile": "minimal"}}
        return KubeTarget(load_config(Path(os.devnull), flags=flags, environ={}))


# -- the rig ---------------------------------------------------------------------------------
@contextmanager
def rig() -> Iterator[Rig]:
    root = Path(tempfile.mkdtemp(prefix="testbed-bench-kacc-"))
    cluster = SimCluster(f"bench-kacc-{os.getpid()}")
    local: LocalTarget | None = None
    try:
        cluster.up(timeout_s=180)
        flags = {"target": "sim", "state_dir": str(root / "sim-state"), "reports_dir": str(root / "reports"),
                 "kube": {"sim_cluster": cluster.name, "profile": "minimal", "env": ENV}}
        SimTarget(load_config(Path(os.devnull), flags=flags, environ={})).up()
        with KubeAPI(cluster.kubeconfig) as api:
            for hpa in api.list("autoscaling/v2", "HorizontalPodAutoscaler", namespace=NAMESPACE):
                api.delete("autoscaling/v2", "HorizontalPodAutoscaler", hpa["metadata"]["name"], namespace=NAMESPACE)
            for service in ALL_SERVICES:
                wait_for_rollout(api, service, NAMESPACE, timeout_s=60)
        local = LocalTarget(load_config(Path(os.devnull), flags={"state_dir": str(root / "local")}, environ={}))
        endpoints = local.up().endpoints
        ports = {s: int((endpoints.web_url if s == "web" else endpoints.grpc[s]).rsplit(":", 1)[1]) for s in ALL_SERVICES}
        with KubeAPI(cluster.kubeconfig) as api:
            if forward_shop_pods(api, NAMESPACE, ports) < len(ALL_SERVICES):
                raise RuntimeError("fewer shop pods than services: the minimal profile did not come up whole")
        yield Rig(cluster, local, root, ports)
    finally:
        if local is not None:
            local.down(purge=True)
        cluster.down()
        shutil.rmtree(root, ignore_errors=True)


def leftovers(*needles: str, every: bool = False) -> list[str]:
    """Live processes whose command line names one of `needles` (all of them with `every`)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (all if every else any)(n in cmdline for n in needles):
            found.append(f"{proc.name}: {cmdline[:140]}")
    return found


def leftovers_after(deadline_s: float, *needles: str, every: bool = False) -> list[str]:
    """leftovers() still there after `deadline_s` (processes that are exiting get that long to go)."""
    deadline = time.monotonic() + deadline_s
    while (found := leftovers(*needles, every=every)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


# -- 1. access() against one forward and one API round trip -------------------------------------
def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def time_access(target: KubeTarget) -> float:
    start = time.perf_counter()
    with target.access():
        return time.perf_counter() - start  # to all forwards ready; closing is not counted


def time_one_forward(kubeconfig: Path, kubectl: Path) -> float:
    with PortForwards(kubeconfig, None, NAMESPACE, kubectl=kubectl) as forwards:
        return seconds(lambda: forwards.open("svc/product", GRPC_PORT))


def time_get_ns(kubeconfig: Path, kubectl: Path) -> float:
    return seconds(lambda: subprocess.run([str(kubectl), "--kubeconfig", str(kubeconfig), "get", "ns", "-o", "name"],
                                          check=True, capture_output=True, timeout=30))


# -- 2. GetProduct latency through the forward and straight to the process --------------------
def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def open_loop(stub: product_pb2_grpc.ProductServiceStub, product_id: str, calls: int, rate: float) -> tuple[list[float], int]:
    """`calls` GetProducts at `rate`/s; latency from each call's scheduled time to its completion."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    done = threading.Semaphore(0)
    request = product_pb2.GetProductRequest(id=product_id)
    t0 = time.perf_counter()
    for i in range(calls):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)

        def finished(fut: grpc.Future, scheduled: float = scheduled) -> None:
            elapsed = time.perf_counter() - scheduled
            with lock:
                if fut.exception() is None:
                    latencies.append(elapsed)
                else:
                    errors[0] += 1
            done.release()

        stub.GetProduct.future(request, timeout=10).add_done_callback(finished)
    for _ in range(calls):
        done.acquire(timeout=30)
    return latencies, errors[0]


def latency_pair(direct: str, forwarded: str, calls: int, rate: float) -> dict[str, dict[str, float]]:
    """Both paths in alternating quarters; one channel (one TCP connection) per path, warmed first."""
    channels = {"direct": grpc.insecure_channel(direct), "forwarded": grpc.insecure_channel(forwarded)}
    try:
        stubs = {path: product_pb2_grpc.ProductServiceStub(ch) for path, ch in channels.items()}
        listed = stubs["direct"].ListProducts(product_pb2.ListProductsRequest(page_size=10), timeout=10).products
        if not listed:
            raise RuntimeError("the local shop has no products: seeding did not run")
        product_id = listed[0].id
        for stub in stubs.values():
            for _ in range(50):
                stub.GetProduct(product_pb2.GetProductRequest(id=product_id), timeout=10)
        samples: dict[str, list[float]] = {p: [] for p in stubs}
        errors = dict.fromkeys(stubs, 0)
        for _ in range(2):
            for path, stub in stubs.items():
                lat, err = open_loop(stub, product_id, calls // 2, rate)
                samples[path] += lat
                errors[path] += err
    finally:
        for ch in channels.values():
            ch.close()
    return {p: {"calls": (calls // 2) * 2, "errors": errors[p], "p50_ms": percentile(v, 50) * 1000,
                "p99_ms": percentile(v, 99) * 1000} for p, v in samples.items()}


# -- 3. conform e2e through the kube target and on the local target ---------------------------
def time_conform(rig: Rig, target: str, run: int) -> dict[str, Any]:
    reports = rig.root / f"reports-{target}-{run}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESTBED_")}
    command = [sys.executable, "-m", "testbed.cli.main", "conform", "--target", target, "--suite", "e2e"]
    if target == "kube":
        env["TESTBED_STATE_DIR"] = str(rig.root / "elsewhere")
        command += ["--kubeconfig", str(rig.cluster.kubeconfig), "--env", ENV, "--profile", "minimal"]
    else:
        env["TESTBED_STATE_DIR"] = str(rig.root / "local")
    command += ["--reports-dir", str(reports)]
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=CONFORM_TIMEOUT_S)
    elapsed = time.perf_counter() - start
    summaries = sorted(reports.glob("*/summary.json"))
    e2e = json.loads(summaries[-1].read_text()).get("suites", {}).get("e2e", {}) if summaries else {}
    if proc.returncode != 0:
        raise RuntimeError(f"conform --target {target} exited {proc.returncode}: {proc.stdout[-800:]} {proc.stderr[-800:]}")
    return {"seconds": elapsed, "passed": e2e.get("passed", 0), "failed": e2e.get("failed", 0)}


# -- the run ------------------------------------------------------------------------------------
def measure(opts: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"load_before": os.getloadavg()}
    with rig() as r:
        kubeconfig = r.cluster.kubeconfig
        needles = [str(kubeconfig), str(r.root)]
        target = r.kube_target()
        kubectl = find_kubectl(target.kubectl())  # the kubectl access() runs, for the anchors too
        results["kubectl"] = str(kubectl)
        time_access(target)  # warm: first connection, kubectl's discovery cache
        get_ns, one_forward, access = [], [], []
        for _ in range(opts.access_runs):  # interleaved, so load changes hit all three alike
            get_ns.append(time_get_ns(kubeconfig, kubectl))
            one_forward.append(time_one_forward(kubeconfig, kubectl))
            access.append(time_access(target))
        results["access"] = {"get_ns_s": get_ns, "one_forward_s": one_forward, "access_s": access}
        with target.access() as endpoints:
            results["latency"] = latency_pair(r.local.endpoints().grpc["product"], endpoints.grpc["product"],
                                              opts.calls, opts.rate)
        conform: dict[str, list[dict[str, Any]]] = {"local": [], "kube": []}
        for run in range(opts.conform_runs):  # alternating, and which goes first alternates too
            for name in (("local", "kube") if run % 2 == 0 else ("kube", "local")):
                conform[name].append(time_conform(r, name, run))
        results["conform"] = conform
        results["kubectl_left_before_down"] = leftovers_after(5.0, "port-forward", str(kubeconfig), every=True)
    results["left_after_down"] = leftovers_after(10.0, *needles, r.cluster.name)
    results["load_after"] = os.getloadavg()
    return results


def render(r: dict[str, Any]) -> str:
    a, lat, conf = r["access"], r["latency"], r["conform"]
    med = {k: statistics.median(v) for k, v in a.items()}
    d, f = lat["direct"], lat["forwarded"]
    local_s = statistics.median(x["seconds"] for x in conf["local"])
    kube_s = statistics.median(x["seconds"] for x in conf["kube"])
    runs = len(a["access_s"])
    rows = [
        "| figure | measured | anchor (same run) | ratio to anchor |",
        "|---|---|---|---|",
        f"| kube target `access()`: cluster check + 10 forwards to ready (median of {runs}) | {med['access_s']:.2f} s "
        f"| one `kubectl port-forward svc/product` to ready: {med['one_forward_s']:.2f} s | {med['access_s'] / med['one_forward_s']:.1f}× |",
        f"| (same) | | one `kubectl get ns` round trip: {med['get_ns_s']:.3f} s | {med['access_s'] / med['get_ns_s']:.1f}× |",
        f"| product.GetProduct p50 / p99 through the forward, {f['calls']:,} calls at {r['rate']:.0f} req/s "
        f"| {f['p50_ms']:.2f} / {f['p99_ms']:.2f} ms ({f['errors']} errors) "
        f"| straight to the local process, {d['calls']:,} calls: {d['p50_ms']:.2f} / {d['p99_ms']:.2f} ms ({d['errors']} errors) "
        f"| {f['p50_ms'] / d['p50_ms']:.1f}× / {f['p99_ms'] / d['p99_ms']:.1f}× |",
        f"| `testbed conform --suite e2e --target kube`, one pytest process ({conf['kube'][0]['passed']} passed; median of {len(conf['kube'])}: "
        + ", ".join(f"{x['seconds']:.1f}" for x in conf["kube"]) + f") | {kube_s:.1f} s "
        f"| same suite on the local target (median of {len(conf['local'])}: " + ", ".join(f"{x['seconds']:.1f}" for x in conf["local"])
        + f"): {local_s:.1f} s | {kube_s / local_s:.2f}× |",
    ]
    load = f"load average (1/5/15 min) before {'/'.join(f'{x:.2f}' for x in r['load_before'])}, after {'/'.join(f'{x:.2f}' for x in r['load_after'])}; {os.cpu_count()} cores"
    left = "no kubectl left after the forwards closed, nothing of the run left 10 s after teardown" if not r["left_after_down"] and not r["kubectl_left_before_down"] else \
        f"LEFT RUNNING: {r['kubectl_left_before_down'] + r['left_after_down']}"
    return "\n".join(rows) + f"\n\n{load}; {left}."


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through rig()'s finally: cluster and shop come down


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--access-runs", type=int, default=5, help="access() runs to take the median of")
    parser.add_argument("--calls", type=int, default=2000, help="GetProduct calls per path")
    parser.add_argument("--rate", type=float, default=100.0, help="GetProduct calls per second")
    parser.add_argument("--conform-runs", type=int, default=3, help="e2e runs per target, alternating")
    parser.add_argument("--json", type=Path, default=Path("reports/bench/kube_access.json"))
    opts = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        results = measure(opts)
    except TestbedError as err:
        print(f"benchmarks/kube_access.py: {err.message}", file=sys.stderr)
        return int(err.exit_code)
    except RuntimeError as err:  # a conform run failed, or the rig came up short
        print(f"benchmarks/kube_access.py: {err}", file=sys.stderr)
        return 1
    results["rate"] = opts.rate
    opts.json.parent.mkdir(parents=True, exist_ok=True)
    opts.json.write_text(json.dumps(results, indent=2))
    print(render(results))
    return 0 if not results["left_after_down"] and not results["kubectl_left_before_down"] else 1


if __name__ == "__main__":
    sys.exit(main())
