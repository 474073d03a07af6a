"""The ASGI application: routes, middleware and how failures become pages.

Kept apart from server.py so tests and other hosts can build the app around any `Shop`
without binding sockets or installing signal handlers.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import grpc
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from testbed.shop.web import pages, session
from testbed.shop.web.backends import Shop
from testbed.shop.web.failures import ServiceFailure
from testbed.shop.web.requestlog import RequestLogMiddleware
from testbed.shop.web.views import account, cart, catalog, health, orders

log = logging.getLogger(__name__)
SESSION_MAX_AGE_S = 7 * 24 * 3600

ROUTES = [
    Route("/", catalog.product_list, methods=["GET"], name="products"),
    Route("/products/{product_id}", catalog.product_page, methods=["GET"], name="product"),
    Route("/products/{product_id}/cart", cart.add_to_cart, methods=["POST"], name="add_to_cart"),
    Route("/products/{product_id}/rate", catalog.rate_product, methods=["POST"], name="rate"),
    Route("/products/{product_id}/comments", catalog.post_comment, methods=["POST"], name="comment"),
    Route("/products/{product_id}/comments/{comment_id}/delete", catalog.delete_comment, methods=["POST"], name="delete_comment"),
    Route("/images/{image_id}", catalog.product_image, methods=["GET"], name="image"),
    Route("/signup", account.signup_page, methods=["GET"], name="signup_page"),
    Route("/signup", account.signup, methods=["POST"], name="signup"),
    Route("/login", account.login_page, methods=["GET"], name="login_page"),
    Route("/login", account.login, methods=["POST"], name="login"),
    Route("/logout", account.logout, methods=["POST"], name="logout"),
    Route("/cart", cart.cart_page, methods=["GET"], name="cart"),
    Route("/cart/items/{product_id}/remove", cart.remove_from_cart, methods=["POST"], name="remove_from_cart"),
    Route("/cart/checkout", cart.checkout, methods=["POST"], name="checkout"),
    Route("/orders", orders.orders_page, methods=["GET"], name="orders"),
    Route("/orders/{order_id}", orders.order_page, methods=["GET"], name="order"),
    Route("/orders/{order_id}/cancel", orders.cancel_order, methods=["POST"], name="cancel_order"),
    Route("/points", orders.points_page, methods=["GET"], name="points"),
    Route("/healthz", health.healthz, methods=["GET"], name="healthz"),
    Route("/readyz", health.readyz, methods=["GET"], name="readyz"),
    Mount("/static", app=StaticFiles(directory=str(pages.HERE / "static")), name="static"),
]


def build_app(shop: Shop, *, session_secret: str, secure_cookie: bool = False) -> Starlette:
    """The app over `shop`; `secure_cookie` adds the Secure flag (only when served over TLS)."""
    middleware = [
        Middleware(RequestLogMiddleware),
        Middleware(
            SessionMiddleware, secret_key=session_secret, session_cookie=session.COOKIE_NAME, max_age=SESSION_MAX_AGE_S, same_site="lax", https_only=secure_cookie
        ),
    ]
    handlers = {
        ServiceFailure: on_service_failure,
        pages.LoginRequired: on_login_required,
        pages.BadCsrf: on_bad_csrf,
        pages.FormTooLarge: on_form_too_large,
        HTTPException: on_http_exception,
        Exception: on_crash,
    }
    app = Starlette(routes=ROUTES, middleware=middleware, exception_handlers=handlers)  # type: ignore[arg-type]
    app.state.shop = shop
    return app


def error_page(request: Request, status_code: int, title: str, message: str, *, service: str = "") -> Response:
    return pages.render(request, "error.html", {"title": title, "message": message, "service": service, "status": status_code}, status_code=status_code)


async def on_service_failure(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceFailure)
    if exc.code == grpc.StatusCode.UNAUTHENTICATED:
        session.log_out(request, reason=exc.user_message())
        return pages.redirect("/login?" + urlencode({"next": _here(request)}))
    if exc.is_outage or exc.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        log.warning("dependency unavailable", extra={"fields": {"dep": exc.service, "rpc": exc.method, "code": exc.code.name, "request_id": _rid(request)}})
        return error_page(request, 503, "Service unavailable", exc.user_message(), service=exc.service)
    if exc.http_status == 502:
        log.error("dependency failed", extra={"fields": {"dep": exc.service, "rpc": exc.method, "code": exc.code.name, "details": exc.details, "request_id": _rid(request)}})
    titles = {400: "Cannot do that", 403: "Not yours", 404: "Not found", 409: "Cannot do that", 502: "Something went wrong"}
    return error_page(request, exc.http_status, titles.get(exc.http_status, "Cannot do that"), exc.user_message(), service=exc.service)


async def on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, pages.LoginRequired)
    session.flash(request, "info", "Please log in to continue.")
    return pages.redirect("/login?" + urlencode({"next": exc.back}))


async def on_bad_csrf(request: Request, exc: Exception) -> Response:
    return error_page(request, 403, "Form expired", "This form has expired. Go back, reload the page and try again.")


async def on_form_too_large(request: Request, exc: Exception) -> Response:
    return error_page(request, 413, "Too large", "The submitted form is too large.")


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "There is no such page.", 405: "That page does not accept this kind of request."}
    message = messages.get(exc.status_code, "The request could not be handled.")
    return error_page(request, exc.status_code, "Not found" if exc.status_code == 404 else "Cannot do that", message)


async def on_crash(request: Request, exc: Exception) -> Response:
    """Last resort: log the traceback with the request id; the shopper sees a plain page."""
    log.error("unhandled error", exc_info=exc, extra={"fields": {"path": request.url.path, "request_id": _rid(request)}})
    body = "<!doctype html><title>Error</title><h1 id='error-title' data-testid='error-title'>Something went wrong</h1><p id='error-message' data-testid='error-message'>Please try again.</p>"
    return HTMLResponse(body, status_code=500)


def _here(request: Request) -> str:
    if request.method != "GET":
        return "/"
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _rid(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))
