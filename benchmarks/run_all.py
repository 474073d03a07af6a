"""Run every benchmark in turn and print their tables (the README's benchmark section).

    python benchmarks/run_all.py [NAME ...]     # names: services local sim policy bringup

Benchmarks run one at a time: on a 2-core machine anything else running skews the figures,
so run this on an otherwise idle machine.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ("services", "local", "sim", "policy", "bringup", "kube_access")


def main(argv: list[str]) -> int:
    names = argv or [n for n in ORDER if (HERE / f"{n}.py").exists()]
    unknown = [n for n in names if not (HERE / f"{n}.py").exists()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(n for n in ORDER if (HERE / f'{n}.py').exists())}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"\n### {name}  ({time.strftime('%Y-%m-%d %H:%M:%S')} UTC)\n", flush=True)
        if subprocess.run([sys.executable, str(HERE / f"{name}.py")]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
