"""Harbor's REST API v2.0 (goharbor/harbor api/v2.0/swagger.yaml), as the bootstrap uses it.

One client class and the two helpers that turn a failed call into one line: every failure is
ProvisioningFailed("harbor", "<METHOD> <path>: HTTP <status> <Harbor's error message>") or
"... Harbor unreachable at <url>: <innermost cause>". Secrets never appear in messages.
Responses are checked for the fields the bootstrap reads, so a proxy or an odd Harbor is
named, never a traceback.
"""

from __future__ import annotations

from typing import Any

import requests

from testbed.errors import ProvisioningFailed

API = "/api/v2.0"
ADMIN_USER = "admin"
Obj = dict[str, Any]


class HarborAPI:
    """Harbor's REST API v2.0, as the admin; every failure is ProvisioningFailed naming the call."""

    def __init__(self, base_url: str, password: str, *, username: str = ADMIN_USER, timeout_s: float = 15.0,
                 verify: bool | str = True) -> None:
        self.base = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.auth = (username, password)
        self.verify = verify  # passed per request: a session's verify loses to $REQUESTS_CA_BUNDLE
        self.session.headers["Accept"] = "application/json"

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), auth: tuple[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        url = f"{self.base}{API}{path}"
        what = f"{method} {API}{path.split('?')[0]}"
        try:
            resp = self.session.request(method, url, timeout=self.timeout_s, auth=auth, verify=self.verify, **kwargs)
        except requests.RequestException as err:
            raise ProvisioningFailed("harbor", f"{what}: Harbor unreachable at {self.base}: {_reason(err)}") from None
        if resp.status_code not in ok:
            raise ProvisioningFailed("harbor", f"{what}: HTTP {resp.status_code} {harbor_message(resp)}")
        return resp

    def call_json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.call(method, path, **kwargs)
        try:
            return resp.json()
        except ValueError:
            kind = resp.headers.get("Content-Type", "no content type")
            raise ProvisioningFailed("harbor", f"{method} {API}{path}: HTTP {resp.status_code} but not JSON ({kind}): "
                                               f"is {self.base} Harbor?") from None

    # -- reads -----------------------------------------------------------------------------
    def health(self) -> Obj:
        return answer_object(self.call_json("GET", "/health"), f"GET {API}/health")

    def systeminfo(self) -> Obj:
        return answer_object(self.call_json("GET", "/systeminfo"), f"GET {API}/systeminfo")

    def check_admin(self) -> None:
        """GET /users/current: 401 when the admin password is wrong (Harbor falls back to anonymous)."""
        self.call("GET", "/users/current")

    def ca_cert(self) -> str | None:
        """Harbor's default root CA (PEM), None when Harbor has none (plain HTTP: 404)."""
        resp = self.call("GET", "/systeminfo/getcert", ok=(200, 404))
        return resp.text if resp.status_code == 200 else None

    def project(self, name: str) -> Obj | None:
        """The project named `name` ({project_id: int, metadata, ...}), None when absent."""
        what = f"GET {API}/projects"
        found = answer_list(self.call_json("GET", "/projects", params={"name": name, "page_size": 100}), what)
        project = next((p for p in found if p.get("name") == name), None)
        return None if project is None else answer_fields(project, {"project_id": int}, f"{what}: project {name}")

    def robot(self, project_id: int, full_name: str) -> Obj | None:
        """The robot named `full_name` ({id: int, name: str, ...}; never its secret), None when absent."""
        query = f"Level=project,ProjectID={project_id}"
        what = f"GET {API}/robots"
        found = answer_list(self.call_json("GET", "/robots", params={"q": query, "page_size": 100}), what)
        robot = next((r for r in found if r.get("name") == full_name), None)
        return None if robot is None else answer_fields(robot, {"id": int, "name": str}, f"{what}: robot {full_name}")

    def robot_can_log_in(self, username: str, password: str, project_id: int) -> bool:
        """Does this robot credential authenticate? A wrong secret is anonymous, and anonymous is 401 here."""
        resp = self.call("GET", "/users/current/permissions", ok=(200, 401), auth=(username, password),
                         params={"scope": f"/project/{project_id}", "relative": "true"})
        return resp.status_code == 200

    # -- writes ----------------------------------------------------------------------------
    def create_project(self, payload: Obj) -> bool:
        """True when created, False when it already existed (409)."""
        return self.call("POST", "/projects", ok=(201, 409), json=payload).status_code == 201

    def update_project(self, project_id: int, payload: Obj) -> None:
        self.call("PUT", f"/projects/{project_id}", json=payload)

    def create_robot(self, payload: Obj) -> Obj | None:
        """RobotCreated {id, name, secret}; None when a robot of that name already exists (409)."""
        resp = self.call("POST", "/robots", ok=(201, 409), json=payload)
        if resp.status_code == 409:
            return None
        what = f"POST {API}/robots: HTTP 201"
        try:
            created = resp.json()
        except ValueError:
            raise ProvisioningFailed("harbor", f"{what} without the created robot") from None
        return answer_fields(answer_object(created, what), {"name": str, "secret": str}, what)

    def refresh_secret(self, robot_id: int, secret: str) -> None:
        self.call("PATCH", f"/robots/{robot_id}", json={"secret": secret})


def answer_object(body: Any, what: str) -> Obj:
    if not isinstance(body, dict):
        raise ProvisioningFailed("harbor", f"{what}: Harbor answered {type(body).__name__}, not an object")
    return body


def answer_list(body: Any, what: str) -> list[Obj]:
    """A listing's items (null is an empty list); anything but a list of objects is named."""
    if body is None:
        return []
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise ProvisioningFailed("harbor", f"{what}: Harbor answered {type(body).__name__}, not a list of objects")
    return body


def answer_fields(obj: Obj, fields: dict[str, type], what: str) -> Obj:
    """`obj` when each of `fields` is there, non-empty and of its type; else ProvisioningFailed naming the field."""
    for key, kind in fields.items():
        value = obj.get(key)
        if value is None or value == "":
            raise ProvisioningFailed("harbor", f"{what}: Harbor's answer has no {key!r}")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ProvisioningFailed("harbor", f"{what}: Harbor's {key!r} is {type(value).__name__}, not {kind.__name__}")
    return obj


def _reason(err: requests.RequestException) -> str:
    """The innermost cause in one line: "ConnectionError: [Errno 111] Connection refused", "SSLError: ... verify failed"."""
    cause: BaseException = err
    while True:
        inner = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else (
            getattr(cause, "reason", None) or cause.__cause__ or cause.__context__)
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    text = str(cause).split(": ", 1)[-1] if "Max retries" in str(cause) else str(cause)
    return f"{type(err).__name__}: {text.splitlines()[0] if text else type(cause).__name__}"[:300]


def harbor_message(resp: requests.Response) -> str:
    """Harbor's own error text ({"errors": [{"code", "message"}]}), else the reason phrase."""
    try:
        errors = resp.json().get("errors") or []
        text = "; ".join(f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors)
    except (ValueError, AttributeError):
        text = ""
    return text or resp.reason or "no message"
