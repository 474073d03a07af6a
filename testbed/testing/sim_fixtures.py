"""pytest fixtures that give tests a real Kubernetes API: the sim cluster.

- `sim_cluster` (session): one cluster per test run, shared by all pytest-xdist workers of
  that run and deleted by the last one to finish. Set TESTBED_SIM_CLUSTER=<name> to use a
  cluster you brought up yourself (`testbed sim up --name <name>`); it is left running.
- `sim_api` (session): a `KubeAPI` connected to it.
- `sim_namespace`: a fresh namespace for one test, deleted afterwards without waiting.
  Every test marked `sim` gets one automatically; its name is in `sim_namespace`.

Missing binaries fail the test when CI=true and skip it otherwise, with a message saying
how to build them.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testbed.testing.prereqs import require

if TYPE_CHECKING:  # imported lazily at run time, so registering the plugin stays cheap
    from testbed.kube.api import KubeAPI
    from testbed.sim.cluster import SimCluster

SIM_CLUSTER_ENV = "TESTBED_SIM_CLUSTER"
NAMESPACE_LABEL = "testbed.io/test-namespace"
SESSION_UP_TIMEOUT_S = 180.0
SERVICE_ACCOUNT_TIMEOUT_S = 30.0
REGISTRY_LOCK_TIMEOUT_S = 2 * SESSION_UP_TIMEOUT_S + 60.0


@pytest.fixture(scope="session")
def sim_cluster(request: pytest.FixtureRequest) -> Iterator[SimCluster]:
    """The session's sim cluster (a `testbed.sim.cluster.SimCluster`), Ready with 3 nodes."""
    from testbed.errors import TestbedError
    from testbed.sim.binaries import BUILD_HINT, missing_binaries
    from testbed.sim.cluster import SimCluster
    from testbed.sim.status import SimState

    reuse = os.environ.get(SIM_CLUSTER_ENV)
    if reuse:
        cluster = SimCluster(reuse)
        status = cluster.status()
        if status.state is not SimState.HEALTHY:
            pytest.fail(
                f"{SIM_CLUSTER_ENV}={reuse}: that sim cluster is {status.state.value} ({'; '.join(status.problems)}); "
                f"run `testbed sim up --name {reuse}` or unset {SIM_CLUSTER_ENV}",
                pytrace=False,
            )
        yield cluster
        return

    missing = missing_binaries()
    require(not missing, f"sim binaries missing: {', '.join(missing)}; {BUILD_HINT}")
    cluster = SimCluster(_session_cluster_name(request.config))
    registry = cluster.state / "pytest-sessions" / cluster.name
    with _registry_lock(cluster.state):
        _down_abandoned_sessions(cluster.state)
        registry.mkdir(parents=True, exist_ok=True)
        (registry / str(os.getpid())).touch()
        try:
            cluster.up(timeout_s=SESSION_UP_TIMEOUT_S)
        except TestbedError as err:
            (registry / str(os.getpid())).unlink(missing_ok=True)
            pytest.fail(f"sim cluster {cluster.name!r} did not come up: {err.message}", pytrace=False)
    try:
        yield cluster
    finally:
        with _registry_lock(cluster.state):
            (registry / str(os.getpid())).unlink(missing_ok=True)
            if not _live_users(registry):
                cluster.down()
                _remove_tree(registry)


@pytest.fixture(scope="session")
def sim_api(sim_cluster: SimCluster) -> Iterator[KubeAPI]:
    """A `testbed.kube.api.KubeAPI` for the session's sim cluster."""
    from testbed.kube.api import KubeAPI

    api = KubeAPI(sim_cluster.kubeconfig)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def sim_namespace(request: pytest.FixtureRequest, sim_api: KubeAPI) -> Iterator[str]:
    """A namespace of this test's own, ready for pods (its default ServiceAccount exists)."""
    api = sim_api
    name = namespace_name(request.node.name)
    labels = {NAMESPACE_LABEL: "true"}
    api.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}])
    api.wait_for(
        f"ServiceAccount {name}/default (created by kube-controller-manager)",
        "v1",
        "ServiceAccount",
        "default",
        lambda sa: (sa is not None, "present" if sa else "absent"),
        namespace=name,
        timeout_s=SERVICE_ACCOUNT_TIMEOUT_S,
        interval_s=0.1,
    )
    try:
        yield name
    finally:
        api.delete("v1", "Namespace", name)  # returns at once; the namespace controller finishes


@pytest.fixture(autouse=True)
def _sim_namespace_for_marked_tests(request: pytest.FixtureRequest) -> None:
    """Give every test marked `sim` its own namespace without asking for it."""
    if request.node.get_closest_marker("sim") is not None:
        request.getfixturevalue("sim_namespace")


def namespace_name(test_name: str) -> str:
    """A unique DNS-1123 label derived from the test's name."""
    slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:48].strip("-") or "test"
    return f"t-{slug}-{secrets.token_hex(3)}"


def _session_cluster_name(config: pytest.Config) -> str:
    """One name per test run, the same in every xdist worker of that run."""
    workerinput = getattr(config, "workerinput", None)
    run_id = workerinput["testrunuid"][:10] if workerinput else f"{os.getpid()}"
    return f"pytest-{run_id}".lower()


@contextmanager
def _registry_lock(state: Path) -> Iterator[None]:
    """Serialise session bring-ups and teardowns across the xdist workers of all runs."""
    from testbed.kube.wait import Seen, wait_until

    state.mkdir(parents=True, exist_ok=True)
    with (state / "pytest-sessions.lock").open("a+") as lock:

        def acquire() -> Seen[None]:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return Seen(False, "another test process is bringing a sim cluster up or down")
            return Seen(True, "acquired")

        wait_until(f"lock {lock.name}", acquire, timeout_s=REGISTRY_LOCK_TIMEOUT_S, interval_s=0.2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _live_users(registry: Path) -> list[int]:
    users = []
    for marker in registry.glob("*"):
        try:
            pid = int(marker.name)
            os.kill(pid, 0)
            users.append(pid)
        except (ValueError, ProcessLookupError):
            marker.unlink(missing_ok=True)
        except PermissionError:
            users.append(int(marker.name))
    return users


def _down_abandoned_sessions(state: Path) -> None:
    """Delete session clusters whose test processes all died without tearing them down."""
    from testbed.sim.cluster import SimCluster

    for registry in sorted((state / "pytest-sessions").glob("pytest-*")):
        if registry.is_dir() and not _live_users(registry):
            SimCluster(registry.name).down()
            _remove_tree(registry)


def _remove_tree(path: Path) -> None:
    for child in path.glob("*"):
        child.unlink(missing_ok=True)
    path.rmdir()
