"""Cluster suite: component readiness of the testbed on the kube or sim target. Every test carries `cluster`.

The checks are the waits of the last bring-up's plan (manifests/components.yaml): CRDs
Established, operators Available, instances healthy, Applications Synced/Healthy, shop
rollouts complete, plus every Service in the testbed's namespaces with endpoints. A check
whose status is set by a stand-in kwok Stage on sim (no operator runs there) carries
"simulated" in its id and the user property simulated=<what it stands for>.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from testbed.bringup.plan import Plan

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.cluster)


def _plan() -> Plan | None:
    from testbed.config import load_config
    from testbed.errors import TestbedError
    from testbed.targets import get_target

    try:
        target: Any = get_target(load_config())
        return target.session().saved_plan() if hasattr(target, "session") else None
    except TestbedError:
        return None


def category(step_name: str, stage: str, kind: str) -> str:
    if step_name == "crds":
        return "crds"
    if step_name.endswith(":upstream"):
        return "operators"
    if kind == "Application":
        return "applications"
    if step_name == "shop":
        return "shop"
    if step_name == "namespaces":
        return "namespaces"
    return "instances"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cluster_check" not in metafunc.fixturenames:
        return
    wanted = metafunc.function.__name__.removeprefix("test_")
    plan = _plan()
    params, ids = [], []
    for step in plan.steps if plan else []:
        for wait in step.waits:
            if category(step.name, step.stage, wait["kind"]) != wanted:
                continue
            what = wait.get("name") or f"[{wait.get('selector')}]"
            ident = f"{step.component}:{wait['kind']}/{what}:{wait['for']}" + (":simulated" if wait.get("simulated") else "")
            params.append((step.component, wait))
            ids.append(ident)
    if not params:
        params, ids = [None], ["no-plan"]
    metafunc.parametrize("cluster_check", params, ids=ids)


@pytest.fixture(scope="session")
def cluster_api(testbed_target: Any) -> Any:
    from testbed.errors import TargetUnreachable

    if not hasattr(testbed_target, "session"):
        pytest.skip(f"the cluster suite applies to the kube and sim targets, not {testbed_target.name}")
    try:
        session = testbed_target.session()
        session.preflight()
    except TargetUnreachable as err:
        pytest.exit(f"testbed: {err.message}", returncode=3)
    if session.saved_plan() is None:
        pytest.exit(f"testbed: nothing brought up on {testbed_target.name}; run `testbed up --target {testbed_target.name}`",
                    returncode=3)
    api = session.api()
    yield api
    api.close()


@pytest.fixture(scope="session")
def testbed_namespaces(testbed_target: Any) -> list[str]:
    plan = testbed_target.session().saved_plan() if hasattr(testbed_target, "session") else None
    return plan.namespaces() if plan else []
