"""Benchmark of the sim target (a figure, never a timed test).

Measures, on this machine:
- `testbed sim up` with cached binaries until 3 nodes are Ready (target <= 30 s), median of --runs;
- a 100-replica Deployment on the 3 simulated nodes until Available (target <= 60 s);
- the cold build of all binaries, read from the record `testbed sim build` leaves
  (<cache>/sim/<versions>/build.json), compared with CI's 90-minute budget.

Each figure is reported as a ratio to its target, and as a ratio to an anchor measured in
the same run (SHA-256 of 256 MiB: a fixed amount of CPU work), so runs on machines of
different speed can be compared.

Run: python benchmarks/sim.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from testbed.errors import TestbedError
from testbed.kube.workloads import deployment_manifest, wait_for_rollout
from testbed.sim.binaries import locate
from testbed.sim.build import load_record
from testbed.sim.cluster import SimCluster

UP_TARGET_S = 30.0
ROLLOUT_TARGET_S = 60.0
CI_BUDGET_S = 5400.0
REPLICAS = 100


@dataclass(frozen=True)
class Figure:
    name: str
    seconds: float | None
    target_s: float
    anchor_s: float
    note: str = ""

    @property
    def vs_target(self) -> float | None:
        return None if self.seconds is None else self.seconds / self.target_s

    @property
    def vs_anchor(self) -> float | None:
        return None if self.seconds is None else self.seconds / self.anchor_s


def measure_anchor() -> float:
    """Seconds to SHA-256 256 MiB: the same CPU work on every run."""
    block = b"\x5a" * (1 << 20)
    digest = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(256):
        digest.update(block)
    return time.perf_counter() - start


def time_cli_up(name: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "testbed.cli.main", "sim", "up", "--name", name, "--nodes", "3"],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )
    return time.perf_counter() - start


def time_rollout(cluster: SimCluster) -> float:
    namespace = "bench"
    with cluster.api() as api:
        api.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}])
        api.wait_for(
            "ServiceAccount bench/default",
            "v1",
            "ServiceAccount",
            "default",
            lambda sa: (sa is not None, "present" if sa else "absent"),
            namespace=namespace,
            timeout_s=30,
        )
        start = time.perf_counter()
        api.apply([deployment_manifest("bench", replicas=REPLICAS)], namespace=namespace)
        wait_for_rollout(api, "bench", namespace, timeout_s=ROLLOUT_TARGET_S * 5)
        return time.perf_counter() - start


def run(runs: int) -> list[Figure]:
    locate()  # fail early, with the build command, if binaries are missing
    anchor = measure_anchor()
    cluster = SimCluster(f"bench-{os.getpid()}")
    ups = []
    try:
        for index in range(runs):
            cluster.down()
            ups.append(time_cli_up(cluster.name))
            if index < runs - 1:
                cluster.down()
        rollout = time_rollout(cluster)
    finally:
        cluster.down()
    record = load_record()
    cold = record if record and record.cold_go_cache else None
    build_note = (
        f"peak RSS {cold.peak_rss_mib:.0f} MiB, built {len(cold.built)} binaries from an empty Go cache"
        if cold
        else "no cold build recorded: run `testbed sim build` with empty Go and testbed caches"
    )
    return [
        Figure("sim up (cached binaries) to 3 nodes Ready", statistics.median(ups), UP_TARGET_S, anchor,
               f"median of {runs}: " + ", ".join(f"{u:.2f}" for u in ups)),
        Figure(f"{REPLICAS}-replica Deployment Available on 3 nodes", rollout, ROLLOUT_TARGET_S, anchor),
        Figure("cold build of all sim binaries (vs CI budget)", cold.wall_s if cold else None, CI_BUDGET_S,
               anchor, build_note),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="bring-ups to take the median of")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    try:
        figures = run(max(1, args.runs))
    except TestbedError as err:
        print(f"benchmarks/sim.py: {err.message}", file=sys.stderr)
        return int(err.exit_code)
    if args.json:
        print(json.dumps([{**asdict(f), "vs_target": f.vs_target, "vs_anchor": f.vs_anchor} for f in figures], indent=2))
        return 0
    print(f"anchor: sha256 of 256 MiB = {figures[0].anchor_s:.3f}s")
    print(f"{'figure':<50} {'seconds':>9} {'target':>8} {'/target':>8} {'/anchor':>9}  note")
    for f in figures:
        secs = f"{f.seconds:9.2f}" if f.seconds is not None else f"{'-':>9}"
        vt = f"{f.vs_target:8.3f}" if f.vs_target is not None else f"{'-':>8}"
        va = f"{f.vs_anchor:9.1f}" if f.vs_anchor is not None else f"{'-':>9}"
        print(f"{f.name:<50} {secs} {f.target_s:8.0f} {vt} {va}  {f.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
