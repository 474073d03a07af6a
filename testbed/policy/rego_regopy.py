"""Subprocess worker that evaluates Rego with regopy; run as `python -m testbed.policy.rego_regopy`.

Reads one marshal-encoded job on stdin: {"modules": [[name, text]...], "namespaces": {ns: [rule...]},
"inputs": [...]} and writes {"results": {ns: [{rule: value} per input]}, "errors": {ns: message}}
as JSON on stdout. It runs in its own process because regopy can crash natively; the parent
survives and reports. One generated module collects every wanted rule of every namespace, so each
input costs one query; an undefined rule is simply absent from the result.
"""

from __future__ import annotations

import json
import marshal
import sys
from typing import Any

OUT_PACKAGE = "testbed_policy_internal_out"


def collector_module(namespaces: dict[str, list[str]]) -> str:
    lines = [f"package {OUT_PACKAGE}", "", "import rego.v1", ""]
    for namespace, rules in namespaces.items():
        for rule in rules:
            lines.append(f'out["{namespace}"]["{rule}"] := data.{namespace}.{rule}')
    return "\n".join(lines) + "\n"


def evaluate(modules: list[list[str]], namespaces: dict[str, list[str]], inputs: list[Any]) -> dict[str, list[Any]]:
    from regopy import Input, Interpreter, RegoError

    rego = Interpreter()
    for name, text in modules:
        rego.add_module(name, text)
    rego.add_module("testbed-collector", collector_module(namespaces))
    bundle = rego.build(f"x = data.{OUT_PACKAGE}.out")
    per_ns: dict[str, list[Any]] = {ns: [] for ns in namespaces}
    for value in inputs:
        rego.set_input(Input(value))
        output = rego.query_bundle(bundle)
        if not output.ok():
            raise RegoError(str(output))
        # Output has already parsed the result JSON; an undefined result has no bindings.
        result = output.results[0].bindings.get("x", {}) if output.results else {}
        for ns in namespaces:
            per_ns[ns].append(result.get(ns, {}) if isinstance(result, dict) else {})
    return per_ns


def run(job: dict[str, Any]) -> dict[str, Any]:
    from regopy import RegoError

    namespaces: dict[str, list[str]] = job["namespaces"]
    try:
        return {"results": evaluate(job["modules"], namespaces, job["inputs"]), "errors": {}}
    except RegoError:
        pass  # find which package fails, so the others still report
    results: dict[str, list[Any]] = {}
    errors: dict[str, str] = {}
    for ns, rules in namespaces.items():
        try:
            results.update(evaluate(job["modules"], {ns: rules}, job["inputs"]))
        except RegoError as err:
            errors[ns] = " ".join(str(err).split())[:1000]
    return {"results": results, "errors": errors}


def main() -> int:
    job = marshal.loads(sys.stdin.buffer.read())
    json.dump(run(job), sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
