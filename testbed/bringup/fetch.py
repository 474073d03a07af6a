"""Fetching one pinned upstream file: verified against its pin, cached, and with a record of where it came from.

Order: the cache (by the pinned sha256), the file's own URL, then its Go-module-proxy mirror
(testbed.bringup.gomod) when versions.yaml gives one. The bytes are checked against the pinned
sha256 whatever their source; a mismatch is refused (exit 4) naming the file and both hashes.
A host that failed once is not asked again in the same run, so an unreachable release site
costs one timeout, not one per file. Cache: $TESTBED_CACHE/upstream (default
~/.cache/testbed/upstream): `files/<sha256>` (+ `.origin`) and the proxy's zips under `gomod/`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.bringup import gomod
from testbed.errors import ConfigError, ProvisioningFailed, TestbedError

UNVERIFIED = "unverified"
URL_TIMEOUT_S = 15.0
MAX_URL_BYTES = 64 << 20


class FetchFailed(TestbedError):
    """No source gave us the file; one line naming the file and why each source failed."""


class ChecksumMismatch(ProvisioningFailed):
    """Bytes that differ from the pin: never bundled, never installed (exit 4)."""


@dataclass(frozen=True)
class GoModRef:
    module: str
    version: str
    path: str

    @property
    def key(self) -> str:
        return f"{self.module}@{self.version}"

    def __str__(self) -> str:
        return f"{self.key}/{self.path}"


@dataclass(frozen=True)
class Pin:
    """One file of versions.yaml: its URL, its pinned sha256 (or "unverified") and its gomod mirror."""

    url: str
    sha256: str
    gomod: GoModRef | None = None
    unverified: str | None = None
    """Why no checksum could be pinned (versions.yaml's `unverified` field)."""

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    @classmethod
    def parse(cls, raw: Any, where: str) -> Pin:
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise ConfigError("each entry needs a url", source="manifests/upstream/versions.yaml", field=where)
        ref = raw.get("gomod")
        mirror = None
        if ref is not None:
            if not isinstance(ref, dict) or not all(isinstance(ref.get(k), str) for k in ("module", "version", "path")):
                raise ConfigError("gomod needs module, version and path", source="manifests/upstream/versions.yaml",
                                  field=f"{where}.gomod")
            mirror = GoModRef(ref["module"], ref["version"], ref["path"])
        return cls(raw["url"], str(raw.get("sha256", UNVERIFIED)), mirror, raw.get("unverified"))


@dataclass(frozen=True)
class ModuleHash:
    h1: str
    sumdb: bool


@dataclass(frozen=True)
class Fetched:
    data: bytes
    sha256: str
    source: str
    """url | gomod | cache"""
    origin: str
    """Where the bytes came from first: the URL, or `<proxy zip URL>#<path>`."""


def upstream_cache() -> Path:
    """$TESTBED_CACHE/upstream, else ~/.cache/testbed/upstream."""
    from testbed.sim.versions import cache_root

    return cache_root() / "upstream"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@dataclass
class Fetcher:
    cache: Path
    proxy: str
    modules: dict[str, ModuleHash] = field(default_factory=dict)
    record: bool = False
    url_timeout_s: float = URL_TIMEOUT_S
    zip_timeout_s: float = gomod.ZIP_TIMEOUT_S
    dead_hosts: dict[str, str] = field(default_factory=dict)
    zips_downloaded: list[str] = field(default_factory=list)

    def cached(self, pin: Pin) -> Fetched | None:
        """The pinned file from the cache alone (no network), or None."""
        if pin.sha256 == UNVERIFIED:
            return None
        path = self.cache / "files" / pin.sha256
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != pin.sha256:  # a damaged cache entry: fetch again
            path.unlink(missing_ok=True)
            return None
        origin_file = path.with_suffix(".origin")
        origin = origin_file.read_text().strip() if origin_file.is_file() else "cache"
        return Fetched(data, pin.sha256, "cache", origin)

    def local(self, pin: Pin) -> Fetched | None:
        """The pinned file with no network at all: the file cache, else a module zip already in the cache."""
        hit = self.cached(pin)
        if hit is not None or pin.gomod is None or pin.sha256 == UNVERIFIED:
            return hit
        ref = pin.gomod
        zip_path = gomod.zip_cache_path(self.cache, ref.module, ref.version)
        if not zip_path.is_file():
            return None
        try:
            data = gomod.read_file(zip_path, ref.module, ref.version, ref.path)
        except gomod.ProxyError:
            return None
        if hashlib.sha256(data).hexdigest() != pin.sha256:
            return None
        origin = f"{gomod.zip_url(self.proxy, ref.module, ref.version)}#{ref.path}"
        _write_atomic(self.cache / "files" / pin.sha256, data)
        _write_atomic(self.cache / "files" / f"{pin.sha256}.origin", f"{origin}\n".encode())
        return Fetched(data, pin.sha256, "cache", origin)

    def fetch(self, component: str, pin: Pin) -> Fetched:
        """The verified bytes of one pinned file; FetchFailed (one line) when no source has it."""
        hit = self.cached(pin)
        if hit is not None:
            return hit
        failures: list[str] = []
        got = self._from_url(pin, failures)
        if got is None and pin.gomod is not None:
            got = self._from_gomod(component, pin.gomod, failures)
        if got is None:
            why = f" (pin: {pin.unverified})" if pin.unverified and not pin.gomod else ""
            raise FetchFailed(f"{component}: cannot download {pin.name}: {'; '.join(failures)}{why}")
        data, source, origin = got
        digest = hashlib.sha256(data).hexdigest()
        if pin.sha256 == UNVERIFIED and not self.record:
            raise ConfigError(f"{component}: {pin.url} has no pinned checksum (sha256: unverified); rerun with "
                              f"--record-checksums to trust what was fetched (sha256 {digest}) and commit it to "
                              "manifests/upstream/versions.yaml")
        if pin.sha256 not in (UNVERIFIED, digest):
            raise ChecksumMismatch(component, f"checksum mismatch for {pin.name} (from {origin}): pinned {pin.sha256}, "
                                   f"fetched {digest}; refusing to bundle it")
        _write_atomic(self.cache / "files" / digest, data)
        _write_atomic(self.cache / "files" / f"{digest}.origin", f"{origin}\n".encode())
        return Fetched(data, digest, source, origin)

    def _from_url(self, pin: Pin, failures: list[str]) -> tuple[bytes, str, str] | None:
        host = urllib.parse.urlsplit(pin.url).netloc
        if host in self.dead_hosts:
            failures.append(f"{pin.url}: {host} unreachable ({self.dead_hosts[host]})")
            return None
        try:
            with urllib.request.urlopen(pin.url, timeout=self.url_timeout_s) as resp:  # noqa: S310 (pinned https URLs)
                data = resp.read(MAX_URL_BYTES + 1)
        except urllib.error.HTTPError as err:
            failures.append(f"{pin.url}: HTTP {err.code}")
            return None
        except (urllib.error.URLError, OSError) as err:
            reason = str(getattr(err, "reason", err))
            self.dead_hosts[host] = reason
            failures.append(f"{pin.url}: {reason}")
            return None
        if len(data) > MAX_URL_BYTES:
            failures.append(f"{pin.url}: larger than {MAX_URL_BYTES} bytes")
            return None
        return data, "url", pin.url

    def _from_gomod(self, component: str, ref: GoModRef, failures: list[str]) -> tuple[bytes, str, str] | None:
        try:
            zip_path, downloaded = gomod.fetch_zip(ref.module, ref.version, cache_root=self.cache, proxy=self.proxy,
                                                   timeout_s=self.zip_timeout_s)
            if downloaded:
                self.zips_downloaded.append(ref.key)
                self._check_module(component, ref, zip_path)
            data = gomod.read_file(zip_path, ref.module, ref.version, ref.path)
        except gomod.ProxyError as err:
            failures.append(f"Go module proxy: {err.message}")
            return None
        return data, "gomod", f"{gomod.zip_url(self.proxy, ref.module, ref.version)}#{ref.path}"

    def _check_module(self, component: str, ref: GoModRef, zip_path: Path) -> None:
        """A freshly downloaded zip must have the pinned h1: hash, else it leaves the cache."""
        pinned = self.modules.get(ref.key)
        if pinned is None:
            return
        actual = gomod.h1_hash(zip_path)
        if actual != pinned.h1:
            zip_path.unlink(missing_ok=True)
            raise ChecksumMismatch(component, f"module hash mismatch for {ref.key} (from {self.proxy}): pinned {pinned.h1}, "
                                   f"fetched {actual}; refusing to use it")


def module_hashes(versions: dict[str, Any]) -> dict[str, ModuleHash]:
    """versions.yaml's go_modules: module@version -> its pinned h1: hash."""
    out = {}
    for key, raw in (versions.get("go_modules") or {}).items():
        if not isinstance(raw, dict) or not str(raw.get("h1", "")).startswith("h1:"):
            raise ConfigError("needs h1: 'h1:...'", source="manifests/upstream/versions.yaml", field=f"go_modules.{key}")
        out[str(key)] = ModuleHash(str(raw["h1"]), bool(raw.get("sumdb")))
    return out
