"""The Tekton EventListener: one trigger per shop service, its CEL filter derived from source paths.

A push starts a build of a service when a file it is built from changed: its own module
(testbed/shop/services/<name>*, or testbed/shop/web/ for the front end) or code all services
share. Pushes by the bot (its manifest-update commits) and to other branches are dropped.
"""

from __future__ import annotations

from typing import Any

from testbed.manifests_gen import spec
from testbed.shop.topology import ALL_SERVICES

BOT_LOGIN = "testbed-bot"
BOT_COMMIT_PREFIX = "gitops:"
SOURCE_BRANCH = "main"
SHARED_PATHS: tuple[str, ...] = ("testbed/shop/runtime/", "testbed/shop/events/", "testbed/shop/v1/",
                                 "testbed/shop/__main__.py", "testbed/shop/topology.py", "protos/",
                                 "Dockerfile", "pyproject.toml")


def service_paths(service: str) -> tuple[str, ...]:
    own = "testbed/shop/web/" if service == "web" else f"testbed/shop/services/{service}"
    return (own, *SHARED_PATHS)


def cel_filter(service: str) -> str:
    changed = " || ".join(f"p.startsWith('{path}')" for path in service_paths(service))
    return (f"body.ref == 'refs/heads/{SOURCE_BRANCH}' && body.sender.login != '{BOT_LOGIN}' && "
            f"!body.head_commit.message.startsWith('{BOT_COMMIT_PREFIX}') && "
            f"body.commits.exists(c, (c.added + c.modified + c.removed).exists(p, {changed}))")


def trigger(service: str) -> dict[str, Any]:
    return {
        "name": f"build-{service}",
        "interceptors": [
            {"ref": {"name": "github"}, "params": [
                {"name": "secretRef", "value": {"secretName": "gitops-webhook", "secretKey": "secret"}},
                {"name": "eventTypes", "value": ["push"]}]},
            {"ref": {"name": "cel"}, "params": [{"name": "filter", "value": cel_filter(service)}]},
        ],
        "bindings": [{"ref": "shop-push"}, {"name": "service", "value": service}],
        "template": {"ref": "shop-build"},
    }


def event_listener() -> dict[str, Any]:
    waiver = ("TB-SCHEMA-MISSING: the EventListener CRD comes from the pinned Tekton Triggers release "
              "(upstream/versions.yaml), applied before this object")
    return {
        "apiVersion": "triggers.tekton.dev/v1beta1", "kind": "EventListener",
        "metadata": {"name": "shop-push", "labels": {"app.kubernetes.io/name": "shop-push",
                                                     "app.kubernetes.io/part-of": spec.PART_OF},
                     "annotations": {spec.WAIVE_ANNOTATION: waiver}},
        "spec": {"serviceAccountName": "shop-ci-triggers", "triggers": [trigger(name) for name in ALL_SERVICES]},
    }
