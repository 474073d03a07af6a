"""Fetching one pinned upstream file: verified against its pin, cached, and with a record of where it came from.

Order: the cache (by the pinned sha256), a module zip already in the cache (no network), the
file's own URL, then its Go-module-proxy mirror (testbed.bringup.gomod) when versions.yaml gives
one. The bytes are checked against the pinned sha256 whatever their source. Wrong bytes from one
source (a captive portal, a truncated body, a moved tag) are noted and the next source is tried;
only when no source gives the pinned bytes is it refused (ChecksumMismatch, exit 4), naming every
source and what it gave. A host that failed to answer once is not asked again in the same run
(release sites and the proxy alike), so an unreachable host costs one timeout, not one per file.
Cache: $TESTBED_CACHE/upstream (default ~/.cache/testbed/upstream): `files/<sha256>` (+ `.origin`)
and the proxy's zips under `gomod/`.
"""

from __future__ import annotations

import hashlib
import http.client
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.bringup import gomod, partial
from testbed.errors import ChecksumMismatch, ConfigError, FetchFailed, ProxyError

UNVERIFIED = "unverified"
URL_TIMEOUT_S = 15.0
MAX_URL_BYTES = 64 << 20
VERSIONS_FILE = "manifests/upstream/versions.yaml"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

__all__ = ["UNVERIFIED", "ChecksumMismatch", "FetchFailed", "Fetched", "Fetcher", "GoModRef", "ModuleHash", "Pin",
           "check_sha256", "module_hashes", "upstream_cache"]


def check_sha256(value: Any, *, field: str, source: str = VERSIONS_FILE) -> str:
    """A pin's sha256 as written: 64 lower-case hex digits or "unverified"; else ConfigError naming the field.

    The value names a cache file (`files/<sha256>`), so anything else (`../x`) must never get that far.
    """
    if isinstance(value, str) and (value == UNVERIFIED or _SHA256.fullmatch(value)):
        return value
    raise ConfigError(f"must be 64 lower-case hex digits or {UNVERIFIED!r}, not {value!r}", source=source, field=field)


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

    def __post_init__(self) -> None:
        check_sha256(self.sha256, field=f"{self.name}.sha256")

    @classmethod
    def parse(cls, raw: Any, where: str) -> Pin:
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise ConfigError("each entry needs a url", source=VERSIONS_FILE, field=where)
        ref = raw.get("gomod")
        mirror = None
        if ref is not None:
            if not isinstance(ref, dict) or not all(isinstance(ref.get(k), str) for k in ("module", "version", "path")):
                raise ConfigError("gomod needs module, version and path", source=VERSIONS_FILE,
                                  field=f"{where}.gomod")
            mirror = GoModRef(ref["module"], ref["version"], ref["path"])
        sha256 = check_sha256(raw.get("sha256", UNVERIFIED), field=f"{where}.sha256")
        return cls(raw["url"], sha256, mirror, raw.get("unverified"))


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


@dataclass
class Fetcher:
    cache: Path
    proxy: gomod.Proxy | str | None
    """The Go module proxy (gomod.proxy_base()); a URL string is parsed; None: no proxy (zips only from the cache)."""
    modules: dict[str, ModuleHash] = field(default_factory=dict)
    record: bool = False
    url_timeout_s: float = URL_TIMEOUT_S
    zip_timeout_s: float = gomod.ZIP_TIMEOUT_S
    dead_hosts: dict[str, str] = field(default_factory=dict)
    zips_downloaded: list[str] = field(default_factory=list)
    _checked_zips: set[tuple[str, int, int]] = field(default_factory=set, repr=False)
    _cleaned: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.proxy, str):
            self.proxy = gomod.Proxy.parse(self.proxy) if self.proxy else None

    def cached(self, pin: Pin) -> Fetched | None:
        """The pinned file from the cache alone (no network), or None."""
        if pin.sha256 == UNVERIFIED:
            return None
        path = self.cache / "files" / check_sha256(pin.sha256, field=f"{pin.name}.sha256")
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
        if not zip_path.is_file() or not self._zip_has_pinned_hash(ref, zip_path):
            return None
        try:
            data = gomod.read_file(zip_path, ref.module, ref.version, ref.path)
        except ProxyError:
            return None
        if hashlib.sha256(data).hexdigest() != pin.sha256:
            return None
        origin = self._zip_origin(ref)
        self.store(data, pin.sha256, origin)
        return Fetched(data, pin.sha256, "cache", origin)

    def fetch(self, component: str, pin: Pin) -> Fetched:
        """The verified bytes of one pinned file.

        FetchFailed (one line) when no source answered; ChecksumMismatch when sources answered but
        none gave the pinned bytes; ConfigError for an "unverified" pin without `record`.
        """
        hit = self.local(pin)
        if hit is not None:
            return hit
        failures: list[str] = []
        mismatches: list[str] = []
        got = self._from_url(pin, failures, mismatches)
        if got is None and pin.gomod is not None:
            got = self._from_gomod(pin, failures, mismatches)
        if got is None:
            if mismatches:
                raise ChecksumMismatch(component, f"checksum mismatch for {pin.name}: pinned {pin.sha256}, but "
                                       f"{'; '.join(mismatches + failures)}; refusing to bundle it")
            why = f" (pin: {pin.unverified})" if pin.unverified and not pin.gomod else ""
            raise FetchFailed(f"{component}: cannot download {pin.name}: {'; '.join(failures)}{why}")
        data, source, origin = got
        digest = hashlib.sha256(data).hexdigest()
        if pin.sha256 == UNVERIFIED and not self.record:
            raise ConfigError(f"{component}: {pin.url} has no pinned checksum (sha256: unverified); rerun with "
                              f"--record-checksums to trust what was fetched (sha256 {digest}) and commit it to "
                              f"{VERSIONS_FILE}")
        self.store(data, digest, origin)
        return Fetched(data, digest, source, origin)

    def store(self, data: bytes, digest: str, origin: str) -> None:
        """Keep verified bytes in the cache as `files/<digest>` with their origin (credentials removed)."""
        if not self._cleaned:
            partial.clean_stale(self.cache / "files")  # what a killed run left half-written
            self._cleaned = True
        partial.write_file(self.cache / "files" / digest, data)
        partial.write_file(self.cache / "files" / f"{digest}.origin", f"{gomod.redact(origin)}\n".encode())

    @staticmethod
    def _pinned(pin: Pin, data: bytes, source: str, mismatches: list[str]) -> bool:
        """True if `data` is what `pin` pins (anything is, for an "unverified" pin); else noted in `mismatches`."""
        digest = hashlib.sha256(data).hexdigest()
        if pin.sha256 in (UNVERIFIED, digest):
            return True
        mismatches.append(f"{source} gave sha256 {digest} ({len(data)} bytes)")
        return False

    def _from_url(self, pin: Pin, failures: list[str], mismatches: list[str]) -> tuple[bytes, str, str] | None:
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
        except http.client.HTTPException as err:  # IncompleteRead and other broken answers: the host did answer
            failures.append(f"{pin.url}: bad HTTP answer ({type(err).__name__})")
            return None
        except (urllib.error.URLError, OSError) as err:
            reason = str(getattr(err, "reason", err))
            self.dead_hosts[host] = reason
            failures.append(f"{pin.url}: {reason}")
            return None
        if len(data) > MAX_URL_BYTES:
            failures.append(f"{pin.url}: larger than {MAX_URL_BYTES} bytes")
            return None
        if not self._pinned(pin, data, pin.url, mismatches):
            return None
        return data, "url", pin.url

    def _from_gomod(self, pin: Pin, failures: list[str], mismatches: list[str]) -> tuple[bytes, str, str] | None:
        """The file from its module zip: the cached zip, else downloaded; a cached zip with other bytes is downloaded once more."""
        assert pin.gomod is not None
        ref = pin.gomod
        proxy = self.proxy if isinstance(self.proxy, gomod.Proxy) else None
        if proxy is not None and proxy.host in self.dead_hosts:
            failures.append(f"Go module proxy {proxy}: unreachable ({self.dead_hosts[proxy.host]})")
            return None
        pinned = self.modules.get(ref.key)
        for _ in range(2):
            try:
                zip_path, downloaded = gomod.fetch_zip(ref.module, ref.version, cache_root=self.cache, proxy=proxy,
                                                       h1=pinned.h1 if pinned else None, timeout_s=self.zip_timeout_s)
                data = gomod.read_file(zip_path, ref.module, ref.version, ref.path)
            except ChecksumMismatch as err:
                mismatches.append(f"Go module proxy: {err.message}")
                return None
            except ProxyError as err:
                if err.host_down and proxy is not None:
                    self.dead_hosts[proxy.host] = err.message
                failures.append(f"Go module proxy: {err.message}")
                return None
            if downloaded:
                self.zips_downloaded.append(ref.key)
            origin = self._zip_origin(ref)
            if self._pinned(pin, data, origin, mismatches if downloaded else []):
                return data, "gomod", origin
            if downloaded:
                return None
            zip_path.unlink(missing_ok=True)  # the cached zip holds other bytes: download it once more
        return None

    def _zip_origin(self, ref: GoModRef) -> str:
        proxy = self.proxy if isinstance(self.proxy, gomod.Proxy) else None
        where = gomod.zip_url(proxy, ref.module, ref.version) if proxy else f"{ref.key} (module zip in the cache)"
        return f"{where}#{ref.path}"

    def _zip_has_pinned_hash(self, ref: GoModRef, zip_path: Path) -> bool:
        """A cached zip is used only with its pinned h1 (checked once per run and file state)."""
        pinned = self.modules.get(ref.key)
        if pinned is None:
            return True
        stat = zip_path.stat()
        stamp = (str(zip_path), stat.st_size, stat.st_mtime_ns)
        if stamp in self._checked_zips:
            return True
        try:
            ok = gomod.h1_hash(zip_path) == pinned.h1
        except ProxyError:
            ok = False
        if ok:
            self._checked_zips.add(stamp)
        return ok


def module_hashes(versions: dict[str, Any]) -> dict[str, ModuleHash]:
    """versions.yaml's go_modules: module@version -> its pinned h1: hash."""
    out = {}
    for key, raw in (versions.get("go_modules") or {}).items():
        if not isinstance(raw, dict) or not str(raw.get("h1", "")).startswith("h1:"):
            raise ConfigError("needs h1: 'h1:...'", source=VERSIONS_FILE, field=f"go_modules.{key}")
        out[str(key)] = ModuleHash(str(raw["h1"]), bool(raw.get("sumdb")))
    return out
