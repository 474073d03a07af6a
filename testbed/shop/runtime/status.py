"""Errors a servicer raises to end an RPC with a specific gRPC status.

Servicers raise these; the server interceptor turns them into the status. Anything else
that escapes a servicer is a bug: it is logged with its traceback and answered INTERNAL.
"""

from __future__ import annotations

import grpc


class RpcError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(RpcError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class NotFound(RpcError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(RpcError):
    code = grpc.StatusCode.ALREADY_EXISTS


class Unauthenticated(RpcError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(RpcError):
    code = grpc.StatusCode.PERMISSION_DENIED


class FailedPrecondition(RpcError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(RpcError):
    code = grpc.StatusCode.ABORTED


class Unavailable(RpcError):
    code = grpc.StatusCode.UNAVAILABLE


class ResourceExhausted(RpcError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


# Status codes a dependency may answer that this service passes on unchanged: the caller's
# request was wrong in a way the dependency understood. Anything else becomes UNAVAILABLE.
_PASS_THROUGH = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
}


class DependencyError(RpcError):
    """A call to another service failed; carries that service's name."""

    def __init__(self, service: str, err: grpc.RpcError) -> None:
        code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNAVAILABLE
        details = err.details() if isinstance(err, grpc.Call) else str(err)
        self.code = code if code in _PASS_THROUGH else grpc.StatusCode.UNAVAILABLE
        super().__init__(f"{service}: {details}" if self.code in _PASS_THROUGH else f"{service} unavailable: {code.name} {details}")
        self.service = service
        self.upstream_code = code
