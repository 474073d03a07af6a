"""Benchmark of the bring-up on sim (a figure, never a timed test).

Side by side in one run, on one sim cluster, with the same rendered manifests (full profile,
env dev, stand-in bundle):
- raw floor: per plan step `kubectl apply --server-side -f <step file>` then `kubectl wait` /
  `kubectl rollout status` for the same waits, with the same stand-in operators started after
  the CRDs; no Ansible, no drift check, no record;
- `testbed up --target sim` (the playbooks through ansible-runner): target <= 2x the floor;
- the no-op re-run of `testbed up`: target <= 10 s, and its share of the first run (<= 25 %).
Each figure is also reported against an anchor measured in the same run (SHA-256 of 256 MiB).

Run: python benchmarks/bringup.py [--json]   (TESTBED_SIM_CLUSTER=<name> reuses a cluster)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from testbed.bringup.plan import PLAN_FILE, Plan
from testbed.bringup import sim_operators
from testbed.bringup.runner import run_playbook
from testbed.config import load_config
from testbed.sim.binaries import locate
from testbed.sim.cluster import SimCluster
from testbed.targets.sim import SimTarget

FLOOR_RATIO_TARGET = 2.0
NOOP_TARGET_S = 10.0
NOOP_SHARE_TARGET = 0.25


def anchor_s() -> float:
    block = b"\x5a" * (1 << 20)
    digest = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(256):
        digest.update(block)
    return time.perf_counter() - start


def kubectl_wait(kubectl: list[str], wait: dict[str, Any]) -> list[str]:
    """The kubectl command doing what one plan wait does."""
    target = [f"{wait['kind'].lower()}/{wait['name']}"] if wait.get("name") else [wait["kind"].lower(), "-l", wait["selector"]]
    ns = ["-n", wait["namespace"]] if wait.get("namespace") else []
    timeout = f"--timeout={int(wait['timeout_s'])}s"
    if wait["for"] == "rollout":
        return [*kubectl, "rollout", "status", *ns, *target, timeout]
    if wait["kind"] == "Endpoints":
        return [*kubectl, "wait", *ns, *target, "--for=jsonpath={.subsets[0].addresses[0].ip}", timeout]
    return [*kubectl, "wait", *ns, *target, f"--for={wait['for']}", timeout]


def raw_floor(plan: Plan, kubeconfig: Path) -> float:
    kubectl = [str(locate()["kubectl"]), "--kubeconfig", str(kubeconfig)]
    start = time.monotonic()
    for step in plan.steps:
        if step.file:
            subprocess.run([*kubectl, "apply", "--server-side", "--field-manager=raw-floor", "--force-conflicts",
                            "-f", step.file], check=True, capture_output=True, timeout=300)
        if step.role == "sim_operators" and plan.sim_stages:
            sim_operators.ensure_running(kubeconfig, Path(plan.sim_stages))
        for wait in step.waits:
            subprocess.run(kubectl_wait(kubectl, wait), check=True, capture_output=True, timeout=wait["timeout_s"] + 30)
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reuse = os.environ.get("TESTBED_SIM_CLUSTER")
    cluster = SimCluster(reuse or f"bench-bringup-{os.getpid()}")
    if not reuse:
        cluster.up(timeout_s=180)
    root = Path(tempfile.mkdtemp(prefix="bench-bringup-"))
    flags = {"target": "sim", "state_dir": str(root / "state"), "reports_dir": str(root / "reports"),
             "kube": {"sim_cluster": cluster.name, "profile": "full", "env": "dev"}}
    target = SimTarget(load_config(Path(os.devnull), flags=flags, environ={}))
    try:
        if reuse:
            target.session().clean()  # start from a cluster without the testbed
        anchor = anchor_s()
        # 1. testbed up (first run), 2. the no-op re-run, 3. teardown
        t = time.monotonic()
        target.up()
        first = time.monotonic() - t
        t = time.monotonic()
        target.up()
        noop = time.monotonic() - t
        changed = target.last_record.changed if target.last_record else -1
        t = time.monotonic()
        target.down()
        down = time.monotonic() - t
        # 4. the raw floor on the same step files (copied back: down removed the saved plan)
        plan_file = next((root / "reports").glob("*/bringup/plan/" + PLAN_FILE))
        from testbed.bringup.plan import load_plan

        floor_plan = load_plan(plan_file)
        floor = raw_floor(floor_plan, target.kubeconfig())
        run_playbook("teardown.yml", plan_file=plan_file, workdir=root / "floor-teardown", ident="floor-down")
    finally:
        if not reuse:
            cluster.down()
        shutil.rmtree(root, ignore_errors=True)  # state holds the generated testbed CA key
    figures = {
        "anchor_s": round(anchor, 3),
        "raw_floor_s": round(floor, 2),
        "testbed_up_s": round(first, 2),
        "up_vs_floor": round(first / floor, 2),
        "up_vs_floor_target": FLOOR_RATIO_TARGET,
        "noop_rerun_s": round(noop, 2),
        "noop_rerun_changed": changed,
        "noop_target_s": NOOP_TARGET_S,
        "noop_share_of_first": round(noop / first, 3),
        "noop_share_target": NOOP_SHARE_TARGET,
        "teardown_s": round(down, 2),
        "up_vs_anchor": round(first / anchor, 1),
        "floor_vs_anchor": round(floor / anchor, 1),
    }
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(f"raw floor (kubectl apply --server-side + kubectl wait): {floor:6.1f} s")
        print(f"testbed up --target sim (full):                         {first:6.1f} s  = {first / floor:.2f}x floor (target <= {FLOOR_RATIO_TARGET}x)")
        print(f"no-op re-run:                                           {noop:6.1f} s  ({changed} changed; target <= {NOOP_TARGET_S:.0f} s; "
              f"{noop / first:.0%} of the first run, target <= {NOOP_SHARE_TARGET:.0%})")
        print(f"teardown:                                               {down:6.1f} s")
        print(f"anchor (SHA-256 of 256 MiB):                            {anchor:6.2f} s")
    ok = first / floor <= FLOOR_RATIO_TARGET and noop <= NOOP_TARGET_S and changed == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
