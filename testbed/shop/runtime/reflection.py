"""Server reflection that grpcurl, ghz and Postman can use.

grpcio-reflection serves only `grpc.reflection.v1alpha` and cannot resolve a method's name
(`pkg.Service.Method`) to its file, which those clients ask for first. This servicer answers
method names with their service's file, and is registered under both the v1alpha and the v1
service names (the two protocols are the same messages under different packages).
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

V1_SERVICE = "grpc.reflection.v1.ServerReflection"


class _Reflection(reflection.ReflectionServicer):
    def _file_containing_symbol(self, request: reflection_pb2.ServerReflectionRequest, fully_qualified_name: str) -> reflection_pb2.ServerReflectionResponse:
        response = super()._file_containing_symbol(request, fully_qualified_name)
        if not response.HasField("error_response"):
            return response
        service_name, _, method = fully_qualified_name.rpartition(".")
        try:
            service = self._pool.FindServiceByName(service_name)
        except KeyError:
            return response
        if method not in service.methods_by_name:
            return response
        return super()._file_containing_symbol(request, service_name)


def enable(service_names: Sequence[str], server: grpc.Server) -> None:
    names = [*service_names, reflection.SERVICE_NAME, V1_SERVICE]
    servicer = _Reflection(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.method_handlers_generic_handler(V1_SERVICE, {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
        )
    })
    server.add_generic_rpc_handlers((v1,))
