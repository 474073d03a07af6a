"""Resource rules: requests, limits and a bounded limit/request ratio, on parsed quantities."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from testbed.policy.model import Document, Finding, Severity
from testbed.policy.quantity import QuantityError, parse_quantity
from testbed.policy.rules.registry import per_document, rule
from testbed.policy.rules.workloads import containers, pod_spec
from testbed.policy.settings import PolicySettings

REQUESTS = rule("TB-RESOURCES-REQUESTS", Severity.ERROR, "resources",
                "Without CPU and memory requests the scheduler packs pods blindly and they are evicted first.",
                "Set resources.requests.cpu and resources.requests.memory from measured usage.")
LIMITS = rule("TB-RESOURCES-LIMITS", Severity.ERROR, "resources",
              "Without CPU and memory limits one container can starve its node.",
              "Set resources.limits.cpu and resources.limits.memory.")
RATIO = rule("TB-RESOURCES-RATIO", Severity.WARNING, "resources",
             "A limit far above the request overcommits the node and hides real usage.",
             "Bring limit/request within --max-limit-ratio (default 4), or raise the request.")
QUANTITY = rule("TB-RESOURCES-QUANTITY", Severity.ERROR, "resources",
                "A malformed quantity is rejected by the API server.",
                "Use a Kubernetes quantity: 250m, 0.5, 128Mi, 1Gi, 1e3, 2k.")

_RESOURCES = ("cpu", "memory")


@per_document(REQUESTS, LIMITS, RATIO, QUANTITY)
def check_resources(doc: Document, settings: PolicySettings) -> Iterator[Finding]:
    found = pod_spec(doc)
    if found is None:
        return
    spec, spec_path = found
    for c in containers(spec, spec_path, ("initContainers", "containers")):
        res = c.spec.get("resources")
        res = res if isinstance(res, dict) else {}
        values: dict[str, dict[str, Decimal]] = {"requests": {}, "limits": {}}
        for section in ("requests", "limits"):
            block = res.get(section)
            block = block if isinstance(block, dict) else {}
            for name in _RESOURCES:
                if name not in block:
                    continue
                try:
                    values[section][name] = parse_quantity(block[name])
                except QuantityError as err:
                    yield QUANTITY.at(doc, f"{c.path}.resources.{section}.{name}", f"container {c.name!r}: {err}")
            missing = [n for n in _RESOURCES if n not in block]
            if missing:
                rule_ = REQUESTS if section == "requests" else LIMITS
                yield rule_.at(doc, f"{c.path}.resources.{section}",
                               f"container {c.name!r} has no {section[:-1]} for {' and '.join(missing)}")
        for name in _RESOURCES:
            request = values["requests"].get(name)
            limit = values["limits"].get(name)
            if request is None or limit is None:
                continue
            path = f"{c.path}.resources.limits.{name}"
            if limit < request:
                yield RATIO.at(doc, path, f"container {c.name!r} {name} limit {limit} is below its request {request}")
            elif request > 0 and limit / request > Decimal(str(settings.max_limit_request_ratio)):
                ratio = limit / request
                yield RATIO.at(doc, path,
                               f"container {c.name!r} {name} limit/request is {ratio:.2f}, above "
                               f"{settings.max_limit_request_ratio:g}")
            elif request == 0 and limit > 0:
                yield RATIO.at(doc, path, f"container {c.name!r} {name} request is 0 with a limit set")
