"""Every service answers the standard health check and server reflection."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from testbed.shop.topology import GRPC_NAMES


@pytest.mark.parametrize("service", sorted(GRPC_NAMES))
def test_health_serving_and_reflection(testbed_endpoints, service: str) -> None:
    with grpc.insecure_channel(testbed_endpoints.grpc[service]) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", *GRPC_NAMES[service]):
            assert health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
        assert set(GRPC_NAMES[service]) <= set(ProtoReflectionDescriptorDatabase(channel).get_services())
