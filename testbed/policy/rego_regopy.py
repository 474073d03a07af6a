"""Subprocess worker that evaluates Rego with regopy; run as `python -m testbed.policy.rego_regopy`.

Reads one JSON job on stdin: {"modules": [[name, text]...], "namespaces": [...], "inputs": [...]}
and writes {"results": {ns: [package value per input]}, "errors": {ns: message}} on stdout.
It runs in its own process because regopy can crash natively; the parent survives and reports.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def run(job: dict[str, Any]) -> dict[str, Any]:
    from regopy import Interpreter, RegoError

    results: dict[str, list[Any]] = {}
    errors: dict[str, str] = {}
    for namespace in job["namespaces"]:
        try:
            rego = Interpreter()
            for name, text in job["modules"]:
                rego.add_module(name, text)
            bundle = rego.build(f"x = data.{namespace}")
            values: list[Any] = []
            for value in job["inputs"]:
                rego.set_input(value)
                output = rego.query_bundle(bundle)
                if not output.ok():
                    raise RegoError(str(output))
                try:
                    values.append(json.loads(output.binding("x").json()))
                except ValueError:
                    values.append(None)  # undefined for this input
            results[namespace] = values
        except RegoError as err:
            errors[namespace] = " ".join(str(err).split())[:1000]
    return {"results": results, "errors": errors}


def main() -> int:
    job = json.load(sys.stdin)
    json.dump(run(job), sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
