"""Sign up, log in and log out.

A wrong email or password is a message on the login form, never a distinction between
"no such user" and "wrong password". After sign-up the new user is logged in directly.
"""

from __future__ import annotations

import grpc
from starlette.requests import Request
from starlette.responses import Response

from testbed.shop.v1 import user_pb2
from testbed.shop.web import pages, session
from testbed.shop.web.backends import CallContext
from testbed.shop.web.failures import ServiceFailure
from testbed.shop.web.forms import FormInvalid, LoginForm, SignUpForm, safe_next

WRONG_CREDENTIALS = "Wrong email or password."
_REJECTED_LOGIN = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED})


async def login_page(request: Request) -> Response:
    if session.viewer(request) is not None:
        return pages.redirect(safe_next(request.query_params.get("next")))
    return pages.render(request, "login.html", {"next": safe_next(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    data = await pages.read_form(request)
    back = safe_next(data.get("next") if isinstance(data.get("next"), str) else None)  # type: ignore[arg-type]
    values = {"email": data.get("email", "") if isinstance(data.get("email"), str) else ""}
    try:
        form = LoginForm.read(data)
        await _authenticate(request, form.email, form.password)
    except FormInvalid as bad:
        return pages.render(request, "login.html", {"errors": bad.errors, "values": values, "next": back}, status_code=400)
    except ServiceFailure as failure:
        if failure.code in _REJECTED_LOGIN:
            return pages.render(request, "login.html", {"errors": {"form": WRONG_CREDENTIALS}, "values": values, "next": back}, status_code=401)
        if failure.http_status != 400:
            raise
        errors = failure.form_errors(("email", "password"), fallback="form")
        return pages.render(request, "login.html", {"errors": errors, "values": values, "next": back}, status_code=400)
    session.flash(request, "info", "You are logged in.")
    return pages.redirect(back)


async def signup_page(request: Request) -> Response:
    return pages.render(request, "signup.html")


async def signup(request: Request) -> Response:
    data = await pages.read_form(request)
    values = {k: data.get(k, "") if isinstance(data.get(k), str) else "" for k in ("email", "display_name")}
    try:
        form = SignUpForm.read(data)
        ctx = pages.call_context(request)
        await pages.shop(request).call("user", "SignUp", user_pb2.SignUpRequest(email=form.email, password=form.password, display_name=form.display_name), ctx)
    except FormInvalid as bad:
        return pages.render(request, "signup.html", {"errors": bad.errors, "values": values}, status_code=400)
    except ServiceFailure as failure:
        if failure.code == grpc.StatusCode.ALREADY_EXISTS:
            return pages.render(request, "signup.html", {"errors": {"email": "An account with this email already exists."}, "values": values}, status_code=409)
        if failure.http_status not in (400, 409):
            raise
        errors = failure.form_errors(("email", "display_name", "password"), fallback="form")
        return pages.render(request, "signup.html", {"errors": errors, "values": values}, status_code=failure.http_status)
    await _authenticate(request, form.email, form.password)
    session.flash(request, "info", f"Welcome, {form.display_name}! Your account is ready.")
    return pages.redirect("/")


async def logout(request: Request) -> Response:
    await pages.read_form(request)
    session.log_out(request)
    session.flash(request, "info", "You are logged out.")
    return pages.redirect("/")


async def _authenticate(request: Request, email: str, password: str) -> None:
    """Authenticate, fetch the display name, and put both in the session."""
    shop = pages.shop(request)
    ctx = pages.call_context(request)
    auth = await shop.call("user", "Authenticate", user_pb2.AuthenticateRequest(email=email, password=password), ctx)
    expires_at = auth.expires_at.seconds + auth.expires_at.nanos / 1e9 if auth.HasField("expires_at") else 0.0
    user_ctx = CallContext(request_id=ctx.request_id, token=auth.access_token)
    try:
        user = await shop.call("user", "GetUser", user_pb2.GetUserRequest(id=auth.user_id), user_ctx, authenticated=True)
        name = user.display_name or user.email
    except ServiceFailure as failure:
        if failure.is_outage:
            raise
        name = email
    session.log_in(request, user_id=auth.user_id, token=auth.access_token, expires_at=expires_at, display_name=name)
