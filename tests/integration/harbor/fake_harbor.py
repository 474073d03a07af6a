"""An in-process fake of Harbor's API v2.0, for the parts the bring-up's bootstrap uses.

Harbor itself cannot run here (no container runtime, no registry), so the bootstrap is tested
against this server. It follows the contract of goharbor/harbor api/v2.0/swagger.yaml and the
handlers behind it, not the client's expectations:

- basic auth: the admin, or a robot `robot$<project>+<name>` with its current secret; a wrong
  password is anonymous (Harbor's security middleware falls through), and anonymous gets 401 on
  every call that requires authentication; errors are {"errors": [{"code", "message"}]};
- POST /projects: 201 + Location, 409 when the name exists; HEAD /projects?project_name=;
  GET /projects?name= (anonymous sees public projects only); PUT /projects/{id} merges metadata;
- POST /robots: the name must match ^[a-z0-9]+(?:[._-][a-z0-9]+)*$, stored as <project>+<name>
  and shown with the prefix "robot$"; 201 + Location + {id, name, secret, ...}: the only time
  the secret is returned; 409 for a duplicate; GET /robots needs q=Level=project,ProjectID=N
  and never returns a secret; PATCH /robots/{id} {"secret": s} checks isValidSec (8+, upper,
  lower, digit) and answers {"secret": ""}, an empty secret is generated and returned;
- GET /users/current/permissions: 401 anonymous, 200 for the admin or a robot that logs in;
- GET /systeminfo/getcert: 404 when Harbor serves plain HTTP, else the CA in PEM.

`calls` records (method, path) of every request; `fail_with` makes every call answer that 5xx;
`omit` drops those fields from every JSON object answered (a proxy or Harbor version that differs).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

PREFIX = "robot$"
NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
FAKE_CA = "-----BEGIN CERTIFICATE-----\nMIIBfakeHarborCAforTests\n-----END CERTIFICATE-----\n"


def valid_secret(value: str) -> bool:
    return (len(value) >= 8 and re.search("[a-z]", value) is not None and re.search("[A-Z]", value) is not None
            and re.search("[0-9]", value) is not None)


@dataclass
class HarborState:
    admin_password: str
    tls: bool = False
    registry_url: str = "harbor.testbed.internal"
    fail_with: int | None = None
    omit: set[str] = field(default_factory=set)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)
    robots: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calls_of(self, method: str, prefix: str) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] == method and c[1].startswith(prefix)]

    def project_named(self, name: str) -> dict[str, Any] | None:
        return next((p for p in self.projects.values() if p["name"] == name), None)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *_args: Any) -> None:  # keep pytest output clean
        return

    # -- plumbing --------------------------------------------------------------------------
    def _send(self, status: int, body: Any = None, *, headers: dict[str, str] | None = None, raw: bytes | None = None,
              content_type: str = "application/json") -> None:
        omit = self.server.state.omit
        if omit and isinstance(body, (dict, list)):
            body = ([{k: v for k, v in x.items() if k not in omit} if isinstance(x, dict) else x for x in body]
                    if isinstance(body, list) else {k: v for k, v in body.items() if k not in omit})
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", secrets.token_hex(8))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null") if length else None

    def _who(self) -> str | None:
        """'admin', a robot's full name, or None (anonymous: no or wrong credentials)."""
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        state = self.server.state
        if user == "admin":
            return "admin" if password == state.admin_password else None
        if user.startswith(PREFIX):
            robot = next((r for r in state.robots.values() if r["name"] == user.removeprefix(PREFIX)), None)
            if robot is not None and robot["secret"] == password and not robot["disable"]:
                return user
        return None

    def _route(self) -> None:
        state = self.server.state
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with state.lock:
            state.calls.append((self.command, url.path))
            if state.fail_with:
                return self._send(state.fail_with, _error("UNKNOWN", "internal server error: database is unavailable"))
            path = url.path.removeprefix("/api/v2.0")
            who = self._who()
            handler = ROUTES.get((self.command, re.sub(r"/\d+$", "/{id}", path)))
            if handler is None:
                return self._send(404, _error("NOT_FOUND", f"{self.command} {url.path} not found"))
            found = re.search(r"/(\d+)$", path)
            handler(self, state, who, query, int(found.group(1)) if found else None)

    do_GET = do_POST = do_PUT = do_PATCH = do_HEAD = do_DELETE = _route

    # -- endpoints -------------------------------------------------------------------------
    def health(self, state: HarborState, who: str | None, query: dict[str, str], _id: int | None) -> None:
        names = ("core", "database", "jobservice", "portal", "redis", "registry", "registryctl", "trivy")
        self._send(200, {"status": "healthy", "components": [{"name": n, "status": "healthy"} for n in names]})

    def systeminfo(self, state: HarborState, who: str | None, query: dict[str, str], _id: int | None) -> None:
        info: dict[str, Any] = {"auth_mode": "db_auth", "harbor_version": "v2.11.0-fake", "self_registration": False}
        if who:  # some attributes are omitted for anonymous requests
            scheme = "https" if state.tls else "http"
            info |= {"registry_url": state.registry_url, "external_url": f"{scheme}://{state.registry_url}",
                     "has_ca_root": state.tls, "project_creation_restriction": "everyone"}
        self._send(200, info)

    def getcert(self, state: HarborState, who: str | None, query: dict[str, str], _id: int | None) -> None:
        if not state.tls:
            return self._send(404, _error("NOT_FOUND", "No certificate found"))
        self._send(200, raw=FAKE_CA.encode(), content_type="application/octet-stream",
                   headers={"Content-Disposition": "attachment; filename=ca.crt"})

    def current_user(self, state: HarborState, who: str | None, query: dict[str, str], _id: int | None) -> None:
        if who != "admin":
            return self._send(401, _error("UNAUTHORIZED", "UnAuthorized"))
        self._send(200, {"user_id": 1, "username": "admin", "sysadmin_flag": True})

    def permissions(self, state: HarborState, who: str | None, query: dict[str, str], _id: int | None) -> None:
        if who is None:
            return self._send(401, _error("UNAUTHORIZED", "UnAuthorized"))
        self._send(200, [{"resource": "repository", "action": "pull"}])

    def head_project(self, state: HarborState, who: str | None, query: dict[str, str], _id: int | None) -> None:
        self._send(200 if state.project_named(query.get("project_name", "")) else 404)

    def list_projects(self, state: HarborState, who: str | None, query: dict[str, str], _id: int | None) -> None:
        found = [p for p in state.projects.values() if (not query.get("name") or p["name"] == query["name"])
                 and (who or p["metadata"].get("public") == "true")]
        self._send(200, found, headers={"X-Total-Count": str(len(found))})

    def create_project(self, state: HarborState, who: str | None, query: dict[str, str], _id: int | None) -> None:
        if who != "admin":
            return self._send(401, _error("UNAUTHORIZED", "UnAuthorized"))
        body = self._body() or {}
        name = body.get("project_name") or ""
        if not re.match(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$", name):
            return self._send(400, _error("BAD_REQUEST", f"project name {name!r} is not valid"))
        if state.project_named(name):
            return self._send(409, _error("CONFLICT", f"The project named {name} already exists"))
        pid = len(state.projects) + 1
        meta = {k: str(v) for k, v in (body.get("metadata") or {}).items()}
        meta.setdefault("public", "true" if body.get("public") else "false")
        state.projects[pid] = {"project_id": pid, "name": name, "owner_name": "admin", "metadata": meta, "repo_count": 0}
        self._send(201, headers={"Location": f"/api/v2.0/projects/{pid}"})

    def get_project(self, state: HarborState, who: str | None, query: dict[str, str], pid: int | None) -> None:
        if who is None:
            return self._send(401, _error("UNAUTHORIZED", "UnAuthorized"))
        project = state.projects.get(pid or 0)
        self._send(200, project) if project else self._send(404, _error("NOT_FOUND", f"project {pid} not found"))

    def update_project(self, state: HarborState, who: str | None, query: dict[str, str], pid: int | None) -> None:
        if who != "admin":
            return self._send(401, _error("UNAUTHORIZED", "UnAuthorized"))
        project = state.projects.get(pid or 0)
        if project is None:
            return self._send(404, _error("NOT_FOUND", f"project {pid} not found"))
        project["metadata"] |= {k: str(v) for k, v in ((self._body() or {}).get("metadata") or {}).items()}
        self._send(200)

    def list_robots(self, state: HarborState, who: str | None, query: dict[str, str], _id: int | None) -> None:
        if who != "admin":
            return self._send(401, _error("UNAUTHORIZED", "UnAuthorized"))
        keywords = dict(kv.split("=", 1) for kv in (query.get("q") or "").split(",") if "=" in kv)
        level = keywords.get("Level", "system")
        if level == "project" and "ProjectID" not in keywords:
            return self._send(400, _error("BAD_REQUEST", "must with project ID when to query project robots"))
        pid = int(keywords.get("ProjectID", 0))
        found = [self._shown(r) for r in state.robots.values() if r["level"] == level and r["project_id"] == pid]
        self._send(200, found, headers={"X-Total-Count": str(len(found))})

    @staticmethod
    def _shown(robot: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in {**robot, "name": PREFIX + robot["name"]}.items() if k not in ("secret", "project_id")}

    def create_robot(self, state: HarborState, who: str | None, query: dict[str, str], _id: int | None) -> None:
        if who != "admin":
            return self._send(401, _error("UNAUTHORIZED", "UnAuthorized"))
        body = self._body() or {}
        if not NAME.match(body.get("name") or ""):
            return self._send(400, _error("BAD_REQUEST", "robot name is not in lower case or contains illegal characters"))
        perms = body.get("permissions") or []
        if body.get("level") != "project" or len(perms) != 1 or not perms[0].get("access"):
            return self._send(400, _error("BAD_REQUEST", "bad request permission"))
        project = state.project_named(perms[0].get("namespace") or "")
        if project is None:
            return self._send(404, _error("NOT_FOUND", f"project {perms[0].get('namespace')} not found"))
        name = f"{project['name']}+{body['name']}"
        if any(r["name"] == name for r in state.robots.values()):
            return self._send(409, _error("CONFLICT", f"robot account {name} already exists"))
        rid = len(state.robots) + 1
        secret = secrets.token_urlsafe(24) + "aA1"
        state.robots[rid] = {"id": rid, "name": name, "secret": secret, "level": "project", "project_id": project["project_id"],
                             "description": body.get("description", ""), "duration": body.get("duration", -1),
                             "disable": bool(body.get("disable")), "editable": True, "expires_at": -1, "permissions": perms}
        self._send(201, {"id": rid, "name": PREFIX + name, "secret": secret, "creation_time": "2026-11-22T21:00:00Z",
                         "expires_at": -1}, headers={"Location": f"/api/v2.0/robots/{rid}"})

    def refresh_robot(self, state: HarborState, who: str | None, query: dict[str, str], rid: int | None) -> None:
        if who != "admin":
            return self._send(401, _error("UNAUTHORIZED", "UnAuthorized"))
        robot = state.robots.get(rid or 0)
        if robot is None:
            return self._send(404, _error("NOT_FOUND", f"robot {rid} not found"))
        wanted = (self._body() or {}).get("secret") or ""
        if wanted and not valid_secret(wanted):
            return self._send(400, _error("BAD_REQUEST", "the secret must longer than 8 chars with at least 1 uppercase "
                                                         "letter, 1 lowercase letter and 1 number"))
        robot["secret"] = wanted or secrets.token_urlsafe(24) + "aA1"
        self._send(200, {"secret": "" if wanted else robot["secret"]})


ROUTES = {
    ("GET", "/health"): _Handler.health,
    ("GET", "/systeminfo"): _Handler.systeminfo,
    ("GET", "/systeminfo/getcert"): _Handler.getcert,
    ("GET", "/users/current"): _Handler.current_user,
    ("GET", "/users/current/permissions"): _Handler.permissions,
    ("HEAD", "/projects"): _Handler.head_project,
    ("GET", "/projects"): _Handler.list_projects,
    ("POST", "/projects"): _Handler.create_project,
    ("GET", "/projects/{id}"): _Handler.get_project,
    ("PUT", "/projects/{id}"): _Handler.update_project,
    ("GET", "/robots"): _Handler.list_robots,
    ("POST", "/robots"): _Handler.create_robot,
    ("PATCH", "/robots/{id}"): _Handler.refresh_robot,
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: HarborState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@contextmanager
def fake_harbor(admin_password: str, *, tls: bool = False, serve_https: tuple[Path, Path] | None = None
                ) -> Iterator[tuple[str, HarborState]]:
    """(base URL, state) of a running fake Harbor on 127.0.0.1; stopped (port closed) on exit.

    tls: Harbor has a CA to download (getcert 200). serve_https: (cert, key) to serve HTTPS with.
    """
    state = HarborState(admin_password=admin_password, tls=tls or serve_https is not None)
    server = _Server(state)
    scheme = "http"
    if serve_https is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*serve_https)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, name="fake-harbor", daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
