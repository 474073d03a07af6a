"""The local target's lifecycle and suite times on this machine.

    python benchmarks/local.py [--json reports/bench/local.json]

Figures and their anchors, all measured in the same run:
- `testbed up` to all-healthy (fresh state dir, includes seeding) — anchor: one service
  process (`python -m testbed.shop user`) from spawn to SERVING, the floor every service pays.
- `testbed down` — anchor: SIGTERM to exit of that one process.
- `testbed conform --suite e2e -n auto` and `--suite ui -n auto` — anchor: `pytest --collect-only`
  of the same suite (interpreter, plugin and collection cost).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testbed.shop.launcher import ShopProcesses  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    start = time.perf_counter()
    rc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900).returncode
    return time.perf_counter() - start, rc


def one_process_floor(tmp: Path) -> tuple[float, float]:
    shop = ShopProcesses(state_dir=tmp / "floor", log_dir=tmp / "floor-logs", services=("user",))
    start = time.perf_counter()
    shop.start()
    shop.wait_ready(timeout_s=60)
    up = time.perf_counter() - start
    start = time.perf_counter()
    shop.stop()
    return up, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=Path("reports/bench/local.json"))
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    tb = [sys.executable, "-m", "testbed.cli.main"]
    results: dict[str, dict[str, float]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="testbed-bench-local-"))
    try:
        (tmp / "testbed.yaml").write_text(f"state_dir: {tmp / 'state'}\nreports_dir: {tmp / 'reports'}\n")
        floors = [one_process_floor(tmp) for _ in range(opts.repeat)]
        ups, downs = [], []
        for _ in range(opts.repeat):
            shutil.rmtree(tmp / "state", ignore_errors=True)
            t, rc = timed([*tb, "up"], tmp)
            assert rc == 0, "testbed up failed"
            ups.append(t)
            t, rc = timed([*tb, "down"], tmp)
            assert rc == 0
            downs.append(t)
        results["up"] = {"seconds": min(ups), "anchor": min(f[0] for f in floors), "target": 10.0}
        results["down"] = {"seconds": min(downs), "anchor": min(f[1] for f in floors), "target": 5.0}
        assert timed([*tb, "up"], tmp)[1] == 0
        for suite, target in (("e2e", 60.0), ("ui", 90.0)):
            collect, _ = timed([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(REPO / "suites" / suite)], tmp)
            t, rc = timed([*tb, "conform", "--suite", suite, "-n", "auto"], tmp)
            results[f"conform {suite}"] = {"seconds": t, "anchor": collect, "target": target, "exit_code": rc}
    finally:
        subprocess.run([*tb, "down", "--purge"], cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)
    opts.json.parent.mkdir(parents=True, exist_ok=True)
    opts.json.write_text(json.dumps(results, indent=2))
    print(f"| figure ({os.cpu_count()} cores) | measured | target | anchor (same run) | ratio to anchor |\n|---|---|---|---|---|")
    names = {"up": "`testbed up` to all-healthy (10 processes, seeded)", "down": "`testbed down`",
             "conform e2e": "`testbed conform --suite e2e -n auto`", "conform ui": "`testbed conform --suite ui -n auto`"}
    anchors = {"up": "one service spawn→SERVING", "down": "one service SIGTERM→exit", "conform e2e": "pytest --collect-only", "conform ui": "pytest --collect-only"}
    for key, r in results.items():
        print(f"| {names[key]} | {r['seconds']:.2f} s | ≤ {r['target']:.0f} s | {r['anchor']:.2f} s ({anchors[key]}) | {r['seconds'] / r['anchor']:.1f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
