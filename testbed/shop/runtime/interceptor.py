"""The server interceptor every shop service runs behind.

Per RPC it: takes or creates the request id, makes it and the caller's credentials
available to outgoing calls and echoes it in the *trailing* metadata; answers malformed request bytes with INVALID_ARGUMENT instead
of gRPC's default INTERNAL; maps `RpcError`s to their status and unexpected exceptions to
INTERNAL (logged with traceback); writes one JSON log line; records Prometheus metrics.
The wrapped handler of a method is built once and reused: per-call data (request id,
credentials) is read from the call's own context, never captured when wrapping.

The request id goes back in trailing metadata, not initial metadata, on purpose: sending
initial metadata commits the RPC, and a committed RPC is never retried by the client's
retryPolicy (testbed/shop/runtime/clients.py). Trailers leave an UNAVAILABLE retryable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from testbed.shop.runtime import context, metrics
from testbed.shop.runtime.jsonlog import log
from testbed.shop.runtime.status import InvalidArgument, RpcError


class _Malformed:
    """Stands in for a request whose bytes did not parse."""


MALFORMED = _Malformed()


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:  # any parse failure of untrusted bytes means "malformed", nothing more
            return MALFORMED

    return parse


def _checked_stream(requests: Iterator[Any]) -> Iterator[Any]:
    for request in requests:
        if request is MALFORMED:
            raise InvalidArgument("request", "malformed protobuf message")
        yield request


def _metadata(ctx: grpc.ServicerContext) -> dict[str, str]:
    return {k: v for k, v in (ctx.invocation_metadata() or ()) if isinstance(v, str)}


class ShopServerInterceptor(grpc.ServerInterceptor):
    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        # method -> wrapped handler. Only methods a servicer serves get in (an unknown method
        # returns None and is not kept), so the cache is bounded by the services' methods.
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None], details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method: str = details.method
        # The cache key is the method alone: this assumes the continuation's handler depends only
        # on details.method (true for grpc's generic handlers), never on a call's metadata.
        cached = self._handlers.get(method)
        if cached is not None:
            return cached
        handler = continuation(details)
        if handler is None:
            return None
        wrapped = self._wrap_handler(method, handler)
        self._handlers[method] = wrapped  # a concurrent first call may wrap twice; both results are equal
        return wrapped

    def _wrap_handler(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if handler.unary_unary is not None:
            behavior = self._wrap(method, handler.unary_unary, streaming=False)
            return handler._replace(unary_unary=behavior, request_deserializer=_tolerant(handler.request_deserializer))
        if handler.stream_unary is not None:
            behavior = self._wrap(method, handler.stream_unary, streaming=True)
            return handler._replace(stream_unary=behavior, request_deserializer=_tolerant(handler.request_deserializer))
        return handler  # server-streaming health Watch and reflection: left as gRPC provides them

    def _wrap(self, method: str, behavior: Callable[[Any, grpc.ServicerContext], Any], *, streaming: bool) -> Callable[[Any, grpc.ServicerContext], Any]:
        def handle(request: Any, ctx: grpc.ServicerContext) -> Any:
            metadata = _metadata(ctx)
            rid = metadata.get(context.REQUEST_ID_KEY) or context.new_request_id()
            rid_token = context.request_id.set(rid)
            auth_token = context.authorization.set(metadata.get(context.AUTHORIZATION_KEY, ""))
            start = time.perf_counter()
            code = grpc.StatusCode.OK
            message = ""
            try:
                # Trailers, not initial metadata: that would commit the call and disable client retries.
                ctx.set_trailing_metadata(((context.REQUEST_ID_KEY, rid),))
                if streaming:
                    request = _checked_stream(request)
                elif request is MALFORMED:
                    raise InvalidArgument("request", "malformed protobuf message")
                return behavior(request, ctx)
            except RpcError as err:
                code, message = err.code, err.message
            except Exception:
                code, message = grpc.StatusCode.INTERNAL, "internal error"
                self._logger.exception("unhandled exception", extra={"fields": {"method": method, "request_id": rid}})
            finally:
                elapsed = time.perf_counter() - start
                if ctx.code() not in (None, grpc.StatusCode.OK) and code is grpc.StatusCode.OK:
                    code = ctx.code()  # a servicer that set the code itself
                metrics.observe(method, code.name, elapsed)
                log(self._logger, logging.INFO if code is grpc.StatusCode.OK else logging.WARNING, "rpc",
                    method=method, code=code.name, latency_ms=round(elapsed * 1000, 3), request_id=rid,
                    **({"error": message} if message else {}))
                context.request_id.reset(rid_token)
                context.authorization.reset(auth_token)
            ctx.abort(code, message)

        return handle
