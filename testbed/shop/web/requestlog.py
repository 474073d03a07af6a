"""One JSON log line per HTTP request, and the request id that ties it to the gRPC calls it made.

The id is taken from an incoming `x-request-id` header when it is well formed, or made
fresh; it is stored in the ASGI scope (views pass it into gRPC metadata), set in the
runtime's context variable, and echoed in the response's `x-request-id` header. The same
outermost middleware adds the security headers every response carries.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from testbed.shop.runtime import context, jsonlog

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
ACCESS_LOGGER = "testbed.shop.web.access"
# Every page is self-contained (no scripts, no external assets), so the policy can be strict.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


def configure_logging(service: str, level: str) -> None:
    """Every log record of the process (ours and uvicorn's) goes to stderr as the shop's JSON lines."""
    jsonlog.configure(service, level if level.upper() in logging.getLevelNamesMapping() else "INFO")
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def request_id_from(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"x-request-id":
            candidate = value.decode("latin-1")
            if REQUEST_ID_RE.match(candidate):
                return candidate
            break
    return context.new_request_id()


class RequestLogMiddleware:
    """Outermost middleware: assigns the request id, times the request, logs one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = rid
        token = context.request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1")), *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            context.request_id.reset(token)
            fields = {
                "method": scope.get("method", ""),
                "path": scope.get("path", ""),
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": rid,
            }
            self.log.info("http", extra={"fields": fields})
