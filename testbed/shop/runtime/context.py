"""Per-RPC context carried across threads: the request id and the caller's credentials.

The server interceptor sets these on entry; the client interceptor reads them so that
outgoing calls propagate the request id and the end user's token without every servicer
threading them through by hand.
"""

from __future__ import annotations

import contextvars
import uuid

REQUEST_ID_KEY = "x-request-id"
AUTHORIZATION_KEY = "authorization"

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
authorization: contextvars.ContextVar[str] = contextvars.ContextVar("authorization", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex


def outgoing_metadata() -> list[tuple[str, str]]:
    """Metadata to attach to a call made while serving an RPC."""
    md: list[tuple[str, str]] = []
    rid = request_id.get()
    if rid:
        md.append((REQUEST_ID_KEY, rid))
    auth = authorization.get()
    if auth:
        md.append((AUTHORIZATION_KEY, auth))
    return md
