"""Fixtures that run the real shop as processes on 127.0.0.1: on SQLite, or on real
PostgreSQL, Redis and NATS servers (Debian packages) started for the test module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from testbed.shop.launcher import Datastores, ShopProcesses
from testbed.shop.stubs import Stubs
from testbed.shop.topology import GRPC_SERVICES
from testbed.testing import servers

BACKENDS = [pytest.param("sqlite"), pytest.param("servers", marks=pytest.mark.servers)]


def start_shop(tmp: Path, backend: str, stack: ExitStack, services: tuple[str, ...] = GRPC_SERVICES) -> ShopProcesses:
    datastores = Datastores()
    if backend == "servers":
        pg = stack.enter_context(servers.postgres(databases=tuple(s for s in services if s != "web")))
        datastores = Datastores(postgres_url=pg, redis_url=stack.enter_context(servers.redis()), nats_url=stack.enter_context(servers.nats()))
    shop = ShopProcesses(state_dir=tmp / "state", log_dir=tmp / "logs", datastores=datastores, services=services)
    stack.callback(shop.stop)
    shop.start()
    shop.wait_ready(timeout_s=60)
    return shop


@pytest.fixture(scope="module", params=BACKENDS)
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopProcesses]:
    """The shop's gRPC services, once per module and backend."""
    with ExitStack() as stack:
        yield start_shop(tmp_path_factory.mktemp(f"shop-{request.param}"), request.param, stack)


@pytest.fixture(scope="module")
def sqlite_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopProcesses]:
    """The shop on SQLite only, for tests about RPC semantics rather than datastores."""
    with ExitStack() as stack:
        yield start_shop(tmp_path_factory.mktemp("shop-sqlite"), "sqlite", stack)


@pytest.fixture
def stubs_for() -> Iterator[Callable[[ShopProcesses], Stubs]]:
    made: list[Stubs] = []

    def make(shop: ShopProcesses) -> Stubs:
        made.append(Stubs(shop.addresses()))
        return made[-1]

    yield make
    for s in made:
        s.close()

