"""Rendering and the request plumbing every view shares: templates, login guard, CSRF, call context.

Views stay short: `render(request, "cart.html", {...})` adds the logged-in user, flashes and
the CSRF token; `require_viewer(request)` raises `LoginRequired` (the app redirects to the
login page); `read_form(request)` returns the posted fields after checking the CSRF token.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from testbed.shop.web import session
from testbed.shop.web.backends import CallContext, Shop
from testbed.shop.web.forms import valid_id

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
MAX_FORM_FIELDS = 50
MAX_FORM_BYTES = 64 * 1024


class LoginRequired(Exception):
    """The page needs a logged-in user; the app redirects to /login?next=<back>."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


class BadCsrf(Exception):
    """A POST without the session's CSRF token (a stale form or a cross-site post)."""


class FormTooLarge(Exception):
    """A posted body larger than any of the shop's forms can be."""


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def when(ts: Timestamp | None) -> str:
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return ""
    return ts.ToDatetime(tzinfo=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


TEMPLATES.env.filters["money"] = money
TEMPLATES.env.filters["when"] = when


def shop(request: Request) -> Shop:
    return request.app.state.shop


def call_context(request: Request, viewer: session.Viewer | None = None) -> CallContext:
    rid = getattr(request.state, "request_id", "")
    return CallContext(request_id=rid, token=viewer.token if viewer else "")


def path_id(request: Request, name: str) -> str:
    """An id from the URL path; a malformed one is a 404 without any RPC."""
    value = request.path_params[name]
    if not valid_id(value):
        raise HTTPException(404)
    return value


def require_viewer(request: Request, *, back: str | None = None) -> session.Viewer:
    """The logged-in user; otherwise LoginRequired, returning to `back` (default: this GET page, or /)."""
    user = session.viewer(request)
    if user is None:
        if back is None:
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "") if request.method == "GET" else "/"
        raise LoginRequired(back)
    return user


async def read_form(request: Request) -> FormData:
    """The posted form, after the size and CSRF checks; raises FormTooLarge or BadCsrf."""
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        raise FormTooLarge()
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    if not session.csrf_ok(request, form.get(session.CSRF_FIELD)):
        raise BadCsrf()
    return form


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200) -> Response:
    ctx = dict(context or {})
    ctx.setdefault("viewer", session.viewer(request))
    ctx.setdefault("errors", {})
    ctx.setdefault("values", {})
    ctx["flashes"] = session.pop_flashes(request)
    ctx["csrf_token"] = session.csrf_token(request)
    ctx["page_name"] = template.removesuffix(".html")
    ctx["request_id"] = getattr(request.state, "request_id", "")
    return TEMPLATES.TemplateResponse(request, template, ctx, status_code=status_code, headers={"cache-control": "no-store"})


def redirect(url: str) -> RedirectResponse:
    """After a POST: 303 so the browser follows with GET."""
    return RedirectResponse(url, status_code=303)
