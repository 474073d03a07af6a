"""A made-up upstream for the fetch tests: a release, its module zip, and a fake network serving them.

No network: urllib's urlopen is replaced (fixture `net` in conftest.py) by FakeNet, which serves
a made-up release site and Go module proxy and records every request with its headers.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import yaml

from testbed.bringup.fetch import Fetcher, GoModRef, Pin

MODULE, VERSION = "github.com/Example-Org/widget", "v1.2.0"
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.io"},
       "spec": {"group": "example.io", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced",
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "widget-operator", "namespace": "widget"},
          "spec": {"template": {"spec": {"containers": [{"name": "op", "image": "ghcr.io/example/widget:v1.2.0"}]}}}}
RELEASE = yaml.safe_dump_all([CRD, DEPLOY]).encode()
SHA = hashlib.sha256(RELEASE).hexdigest()
RELEASE_URL = "https://releases.example/widget/v1.2.0/release.yaml"


def module_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, data in files.items():
            zf.writestr(f"{MODULE}@{VERSION}/{path}", data)
    return buf.getvalue()


ZIP = module_zip({"deploy/release.yaml": RELEASE, "go.mod": f"module {MODULE}\n".encode()})
ZIP_URL = f"https://proxy.example/github.com/!example-!org/widget/@v/{VERSION}.zip"


class Truncated(io.BytesIO):
    """An answer whose body ends early: the first read gives some bytes, the next raises IncompleteRead."""

    def read(self, size: int | None = -1) -> bytes:
        if self.tell():
            raise http.client.IncompleteRead(b"", 1000)
        return super().read(10)


class FakeNet:
    """urlopen for a release site and a proxy; answers by URL (bytes, an exception, or an answer object)."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []

    def __call__(self, req: str | urllib.request.Request, timeout: float = 0) -> Any:
        url = req.full_url if isinstance(req, urllib.request.Request) else req
        self.requests.append(url)
        self.headers.append(dict(req.header_items()) if isinstance(req, urllib.request.Request) else {})
        answer = self.routes.get(url, urllib.error.URLError("Name or service not known"))
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, io.IOBase):
            return answer
        return io.BytesIO(answer)


def pin(sha: str = SHA) -> Pin:
    return Pin(RELEASE_URL, sha, GoModRef(MODULE, VERSION, "deploy/release.yaml"))


def fetcher(tmp_path: Path, **kw: Any) -> Fetcher:
    return Fetcher(cache=tmp_path / "cache", proxy="https://proxy.example", **kw)


def write_versions(root: Path, sha: str = SHA, helm: bool = False, helm_sha: str = "unverified",
                   go_modules: dict[str, Any] | None = None) -> Path:
    manifests = root / "manifests"
    (manifests / "upstream").mkdir(parents=True, exist_ok=True)
    comps: list[dict[str, Any]] = [{"name": "widget", "version": VERSION, "install": "manifests", "namespace": "widget",
                                    "manifests": [{"url": RELEASE_URL, "sha256": sha,
                                                   "gomod": {"module": MODULE, "version": VERSION, "path": "deploy/release.yaml"}}]}]
    if helm:
        comps.append({"name": "chart", "version": "1", "install": "helm", "namespace": "chart",
                      "helm": {"repo": "https://charts.example", "chart": "chart", "version": "1", "release": "chart",
                               "values": [], "sha256": helm_sha, "unverified": "not reachable"}})
    doc: dict[str, Any] = {"schema": 1, "components": comps, "ci_images": ["docker.io/library/python:3.12-slim"]}
    if go_modules:
        doc["go_modules"] = go_modules
    (manifests / "upstream" / "versions.yaml").write_text(yaml.safe_dump(doc))
    return manifests
