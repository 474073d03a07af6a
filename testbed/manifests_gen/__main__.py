"""`python -m testbed.manifests_gen [--check] [ROOT]`: write (or compare) the generated manifests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from testbed.manifests_gen.layout import generate, seeds


def drift(root: Path) -> list[str]:
    """Paths (relative to root) whose committed text differs from the generator's."""
    changed = []
    for rel, text in sorted(generate().items()):
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            changed.append(rel)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.manifests_gen", description=__doc__)
    parser.add_argument("root", nargs="?", type=Path, default=Path("manifests"))
    parser.add_argument("--check", action="store_true", help="exit 1 and list files that differ; write nothing")
    opts = parser.parse_args(argv)
    if opts.check:
        changed = drift(opts.root)
        for rel in changed:
            print(f"out of date: {opts.root / rel}", file=sys.stderr)
        return 1 if changed else 0
    for rel, text in sorted(generate().items()):
        path = opts.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    for rel, text in sorted(seeds().items()):
        path = opts.root / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
