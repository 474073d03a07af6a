"""Who is logged in: the JWT kept in a signed, HttpOnly session cookie, flashes and CSRF tokens.

The cookie is signed (itsdangerous, via Starlette's SessionMiddleware) with a secret taken
from SHOP_WEB_SESSION_SECRET or generated once into the web service's private state
directory; it is never in the repository. The session holds the access token, its expiry
and the user's id and name: the user id is the JWT's `sub`, as returned by Authenticate.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request

from testbed.errors import ConfigError
from testbed.shop.runtime.private_files import create_private_file

SECRET_ENV = "SHOP_WEB_SESSION_SECRET"
SECURE_COOKIE_ENV = "SHOP_WEB_SECURE_COOKIE"  # "1"/"true": add the Secure flag (served behind TLS)
SECRET_FILE = "session-secret"
MIN_SECRET_CHARS = 32
COOKIE_NAME = "shop_session"
CSRF_FIELD = "csrf_token"


def load_secret(private_dir: Path, environ: dict[str, str] | None = None) -> str:
    """The cookie-signing secret: from the environment, else the state file (created on first start)."""
    env = os.environ if environ is None else environ
    value = env.get(SECRET_ENV)
    if value is not None:
        if len(value) < MIN_SECRET_CHARS:
            raise ConfigError(f"must be at least {MIN_SECRET_CHARS} characters", source="environment", field=SECRET_ENV)
        return value
    path = private_dir / SECRET_FILE
    if not path.exists():
        _create_secret_file(path)
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_SECRET_CHARS:
        raise ConfigError(f"holds fewer than {MIN_SECRET_CHARS} characters; delete it to regenerate", source=str(path))
    return value


def _create_secret_file(path: Path) -> None:
    """A new random secret, private from the first byte; a concurrent winner is kept."""
    create_private_file(path, (secrets.token_urlsafe(48) + "\n").encode())


def secure_cookie(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(SECURE_COOKIE_ENV, "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of this request."""

    user_id: str
    token: str
    display_name: str


def viewer(request: Request) -> Viewer | None:
    """The logged-in user, or None; an expired token logs the user out."""
    session = request.session
    token = session.get("token")
    if not isinstance(token, str) or not token:
        return None
    expires_at = session.get("expires_at")
    if isinstance(expires_at, (int, float)) and expires_at and time.time() >= expires_at:
        log_out(request, reason="Your session has expired. Please log in again.")
        return None
    return Viewer(user_id=str(session.get("user_id", "")), token=token, display_name=str(session.get("display_name", "")))


def log_in(request: Request, *, user_id: str, token: str, expires_at: float, display_name: str) -> None:
    csrf = request.session.get(CSRF_FIELD)
    request.session.clear()  # no state carries over from before login (session fixation)
    request.session.update({"user_id": user_id, "token": token, "expires_at": expires_at, "display_name": display_name})
    request.session[CSRF_FIELD] = csrf if isinstance(csrf, str) and csrf else secrets.token_urlsafe(24)


def log_out(request: Request, *, reason: str = "") -> None:
    request.session.clear()
    if reason:
        flash(request, "error", reason)


def flash(request: Request, kind: str, message: str) -> None:
    """A message shown once on the next rendered page; kind is "info" or "error"."""
    items = request.session.get("flash")
    items = items if isinstance(items, list) else []
    items.append({"kind": kind, "message": message})
    request.session["flash"] = items[-5:]


def pop_flashes(request: Request) -> list[dict[str, Any]]:
    items = request.session.pop("flash", None)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(24)
        request.session[CSRF_FIELD] = token
    return token


def csrf_ok(request: Request, submitted: object) -> bool:
    expected = request.session.get(CSRF_FIELD)
    return isinstance(expected, str) and bool(expected) and isinstance(submitted, str) and secrets.compare_digest(expected, submitted)
