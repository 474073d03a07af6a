"""How a failed gRPC call becomes something a shopper can read.

A view catches `ServiceFailure` only where it can do better than the default (a form that
re-renders with the field message, a login that says "wrong password"). Everything else
reaches the app's exception handler, which uses `http_status` and `user_message` here:
INVALID_ARGUMENT shows the service's field message, UNAUTHENTICATED logs the user out,
UNAVAILABLE and DEADLINE_EXCEEDED become a 503 page naming the service. No traceback is
ever shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import grpc

# service dependency name -> the words a shopper sees
SERVICE_TITLES: dict[str, str] = {
    "user": "account",
    "product": "catalogue",
    "cart": "cart",
    "order": "order",
    "payment": "payment",
    "point": "points",
    "delivery": "delivery",
    "comment": "comments",
    "rate": "ratings",
}

OUTAGE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
# Codes whose details are written for the caller and safe to show as they are.
CALLER_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.ABORTED,
    }
)
MAX_DETAIL_CHARS = 300
# Services phrase INVALID_ARGUMENT details as "<field>: <problem>".
_FIELD_PREFIX = re.compile(r"^([a-z_][a-z0-9_]*): ")

_HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 503,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}


@dataclass
class ServiceFailure(Exception):
    """An RPC to `service` failed with `code`; `details` is the service's own message."""

    service: str
    method: str
    code: grpc.StatusCode
    details: str

    def __post_init__(self) -> None:
        super().__init__(f"{self.service}.{self.method}: {self.code.name}: {self.details}")

    @classmethod
    def from_rpc_error(cls, service: str, method: str, err: grpc.RpcError) -> ServiceFailure:
        if isinstance(err, grpc.Call):
            return cls(service, method, err.code(), err.details() or "")
        return cls(service, method, grpc.StatusCode.UNKNOWN, str(err))

    @property
    def is_outage(self) -> bool:
        return self.code in OUTAGE_CODES

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.code, 502)

    @property
    def service_title(self) -> str:
        return SERVICE_TITLES.get(self.service, self.service)

    @property
    def field(self) -> str:
        """The request field an INVALID_ARGUMENT names, or ""."""
        match = _FIELD_PREFIX.match(self.details) if self.code == grpc.StatusCode.INVALID_ARGUMENT else None
        return match.group(1) if match else ""

    def form_errors(self, fields: Iterable[str], fallback: str) -> dict[str, str]:
        """{field: message} when the failure names one of the form's `fields`, else {fallback: message}."""
        key = self.field if self.field and self.field in set(fields) else fallback
        return {key: self.user_message()}

    def user_message(self) -> str:
        """One sentence for the page; never internals of a server-side failure."""
        if self.code in CALLER_CODES:
            return _clip(self.details) or f"The {self.service_title} service refused the request."
        if self.code == grpc.StatusCode.NOT_FOUND:
            return "We could not find that. It may have been removed."
        if self.code == grpc.StatusCode.PERMISSION_DENIED:
            return "That belongs to another account."
        if self.code == grpc.StatusCode.UNAUTHENTICATED:
            return "Your session has expired. Please log in again."
        if self.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return f"The {self.service_title} service is busy. Please try again in a moment."
        if self.is_outage:
            return f"The {self.service_title} service is not answering right now. Please try again in a moment."
        return f"The {self.service_title} service failed to handle the request."


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"
