"""Which plan steps have something to do: the check that makes a re-run a fast no-op.

Every object bring-up applies carries the digest of its desired document
(`testbed.io/applied-digest`). A step is in sync when each of its objects exists, carries
the current digest, still holds every field the document sets (nobody changed them since),
and every wait of the step holds. Steps not in sync run in full (apply, then wait); when all
are in sync the playbook applies nothing and reports 0 changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from testbed.bringup.readiness import evaluate
from testbed.errors import TestbedError
from testbed.kube.api import KubeAPI
from testbed.kube.objects import Obj, manifest_label

DIGEST_ANNOTATION = "testbed.io/applied-digest"


def digest(doc: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


def stamp(doc: Obj) -> Obj:
    """Add the digest annotation to a desired document (computed without it)."""
    meta = doc.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(DIGEST_ANNOTATION, None)
    meta["annotations"] = annotations or None
    value = digest({**doc, "metadata": {k: v for k, v in meta.items() if v is not None}})
    meta["annotations"] = {**annotations, DIGEST_ANNOTATION: value}
    return doc


def holds(desired: Any, live: Any) -> bool:
    """Does `live` hold every field `desired` sets (server defaults may add more)?"""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(holds(v, live.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(live) == len(desired) and all(holds(d, x) for d, x in zip(desired, live))
    if desired is None:
        return True
    return desired == live or str(desired) == str(live)


def step_in_sync(api: KubeAPI, docs: Sequence[Mapping[str, Any]], waits: Sequence[Mapping[str, Any]]) -> tuple[bool, str]:
    """(in sync, why not) for one step's documents and waits."""
    for doc in docs:
        meta = doc.get("metadata") or {}
        try:
            live = api.get(doc["apiVersion"], doc["kind"], meta["name"], meta.get("namespace"))
        except TestbedError as err:
            return False, err.message
        where = manifest_label(doc)
        if live is None:
            return False, f"{where} does not exist"
        want = (meta.get("annotations") or {}).get(DIGEST_ANNOTATION)
        if ((live.get("metadata") or {}).get("annotations") or {}).get(DIGEST_ANNOTATION) != want:
            return False, f"{where} differs from the manifests"
        body = {k: v for k, v in doc.items() if k not in ("metadata", "apiVersion", "kind")}
        if not holds(body, live) or not holds({"labels": meta.get("labels")}, live.get("metadata")):
            return False, f"{where} was changed in the cluster"
    for wait in waits:
        bad = [t for t in evaluate(api, wait) if not t.ready]
        if bad:
            return False, f"{bad[0].ref}: {bad[0].detail}"
    return True, "in sync"
