"""Cluster suite: component readiness of the testbed on the kube or sim target. Every test carries `cluster`.

The checks are the waits of the last bring-up's plan (manifests/components.yaml): CRDs
Established, operators Available, instances healthy, Applications Synced/Healthy, shop
rollouts complete, plus every Service in the testbed's namespaces with endpoints. A check
whose status is set by a stand-in kwok Stage on sim (no operator runs there) carries
"simulated" in its id and the user property simulated=<what it stands for>.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.cluster)


def _checks() -> list[tuple[str, str, dict[str, Any]]]:
    """The readiness checks of the target's last bring-up (kube and sim targets have them)."""
    from testbed.config import load_config
    from testbed.errors import TestbedError
    from testbed.targets import get_target

    try:
        target: Any = get_target(load_config())
        return target.readiness_checks() if hasattr(target, "readiness_checks") else []
    except TestbedError:
        return []


def category(step_name: str, kind: str) -> str:
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
    params, ids = [], []
    for step, component, wait in _checks():
        if category(step, wait["kind"]) != wanted:
            continue
        what = wait.get("name") or f"[{wait.get('selector')}]"
        ident = f"{component}:{wait['kind']}/{what}:{wait['for']}" + (":simulated" if wait.get("simulated") else "")
        params.append((component, wait))
        ids.append(ident)
    if not params:
        params, ids = [None], ["no-plan"]
    metafunc.parametrize("cluster_check", params, ids=ids)


@pytest.fixture(scope="session")
def cluster_api(testbed_target: Any) -> Any:
    from testbed.errors import TargetUnreachable

    if not hasattr(testbed_target, "readiness_checks"):
        pytest.skip(f"the cluster suite applies to the kube and sim targets, not {testbed_target.name}")
    try:
        api = testbed_target.cluster_api()
    except TargetUnreachable as err:
        pytest.exit(f"testbed: {err.message}", returncode=3)
    if not testbed_target.readiness_checks():
        api.close()
        pytest.exit(f"testbed: nothing brought up on {testbed_target.name}; run `testbed up --target {testbed_target.name}`",
                    returncode=3)
    yield api
    api.close()


@pytest.fixture(scope="session")
def testbed_namespaces(testbed_target: Any) -> list[str]:
    return testbed_target.testbed_namespaces() if hasattr(testbed_target, "testbed_namespaces") else []
