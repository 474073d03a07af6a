"""The Go module proxy as a mirror of upstream repository files.

Most upstream release manifests are plain files of the upstream repository at its release
tag (rook's deploy/examples/crds.yaml, ArgoCD's manifests/install.yaml, ...). The Go module
proxy serves any tagged Go module as a zip of the repository tree at that tag, so a file
inside the zip is byte-identical to raw.githubusercontent.com/<repo>/<tag>/<path>. Where
only package registries are reachable (CI, this project's machines), the proxy is the one
way to those bytes. This module speaks the proxy protocol over plain HTTPS
(`<proxy>/<escaped module>/@v/<escaped version>.zip`), caches zips, computes Go's `h1:`
module hash of a zip (what sum.golang.org records) and reads single files out of it.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from testbed.bringup import partial
from testbed.errors import ChecksumMismatch, ConfigError, ProxyError, TestbedError

DEFAULT_PROXY = "https://proxy.golang.org"
ZIP_TIMEOUT_S = 60.0
MAX_ZIP_BYTES = 500 << 20  # Go's own limit on a module zip (golang.org/x/mod/zip MaxZipFile)
MAX_UNZIPPED_BYTES = 500 << 20  # and on the total size of its files once uncompressed
MAX_FILE_BYTES = 64 << 20  # one extracted file

__all__ = ["ChecksumMismatch", "Proxy", "ProxyError", "fetch_zip", "h1_hash", "proxy_base", "read_file", "warm"]


@dataclass(frozen=True)
class Proxy:
    """One Go module proxy: its URL without credentials (safe to print and record) and its basic auth, if any."""

    url: str
    authorization: str | None = None
    """The `Authorization` header value when $GOPROXY gave `user:password@` in the URL (as Go allows)."""

    def __str__(self) -> str:
        return self.url

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).netloc

    @classmethod
    def parse(cls, entry: str) -> Proxy:
        """A proxy from a $GOPROXY URL entry; `user:password@` becomes basic auth and leaves the URL."""
        parts = urllib.parse.urlsplit(entry.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError(f"{redact(entry)!r} is not an http(s) proxy URL", field="GOPROXY")
        auth = None
        if parts.username is not None or parts.password is not None:
            user = urllib.parse.unquote(parts.username or "")
            password = urllib.parse.unquote(parts.password or "")
            auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        host = parts.netloc.rpartition("@")[2]
        return cls(urllib.parse.urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", "")), auth)


def redact(url: str) -> str:
    """`url` without any `user:password@` (for messages, bundle.yaml and the cache's .origin files)."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def escape(text: str) -> str:
    """Case-encode a module path or version for the proxy: each upper-case letter becomes '!' + lower case."""
    if "!" in text:
        raise ConfigError(f"{text!r}: module paths and versions cannot contain '!'", field="gomod")
    return "".join(f"!{c.lower()}" if "A" <= c <= "Z" else c for c in text)


def proxy_base(environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy $GOPROXY names, read as Go reads it; None when it names none (`off`, or only `direct`).

    Entries split on ',' and '|' and are taken in order: a URL is the proxy; `direct` (fetch from
    the VCS, which testbed cannot do) is skipped; `off` ends the list. Unset or empty: proxy.golang.org.
    """
    env = os.environ if environ is None else environ
    value = env.get("GOPROXY", "").strip()
    if not value:
        return Proxy(DEFAULT_PROXY)
    for entry in value.replace("|", ",").split(","):
        entry = entry.strip()
        if entry == "off":
            return None
        if entry.startswith(("https://", "http://")):
            return Proxy.parse(entry)
    return None


def no_proxy_reason(environ: Mapping[str, str] | None = None) -> str:
    """One line saying why no proxy is used (for when `proxy_base` is None)."""
    env = os.environ if environ is None else environ
    if proxy_base(env) is not None:
        return "no Go module proxy was given (the zip is read from the cache only)"
    shown = ",".join(redact(e) for e in env.get("GOPROXY", "").split(","))
    return f"no Go module proxy: $GOPROXY={shown} names no proxy URL before 'off' or its end"


def zip_url(proxy: Proxy | str, module: str, version: str) -> str:
    return f"{str(proxy).rstrip('/')}/{escape(module)}/@v/{escape(version)}.zip"


def zip_cache_path(cache_root: Path, module: str, version: str) -> Path:
    """Where a module zip is cached: the proxy's own layout under <cache>/gomod."""
    return cache_root / "gomod" / escape(module) / "@v" / f"{escape(version)}.zip"


def h1_hash(zip_path: Path) -> str:
    """Go's module hash (dirhash.HashZip with Hash1), as sum.golang.org records it.

    Like Go, every zip entry counts, directory entries included (their content is empty). A zip
    whose files add up to more than MAX_UNZIPPED_BYTES is refused, as Go refuses it.
    """
    lines = []
    try:
        with zipfile.ZipFile(zip_path) as zf:
            infos = zf.infolist()
            declared = sum(i.file_size for i in infos)
            if declared > MAX_UNZIPPED_BYTES:
                raise ProxyError(f"{zip_path}: {declared} bytes uncompressed, over Go's {MAX_UNZIPPED_BYTES}-byte limit")
            total = 0
            for info in sorted(infos, key=lambda i: i.filename.encode()):
                if "\n" in info.filename:
                    raise ProxyError(f"{zip_path}: file name with a newline in the module zip")
                digest = hashlib.sha256()
                with zf.open(info) as member:
                    for chunk in iter(lambda: member.read(1 << 20), b""):
                        total += len(chunk)
                        if total > MAX_UNZIPPED_BYTES:  # the headers may understate the sizes
                            raise ProxyError(f"{zip_path}: over Go's {MAX_UNZIPPED_BYTES}-byte limit once uncompressed")
                        digest.update(chunk)
                lines.append(f"{digest.hexdigest()}  {info.filename}\n")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as err:
        raise ProxyError(f"{zip_path} is not a valid module zip ({err})") from None
    return "h1:" + base64.b64encode(hashlib.sha256("".join(lines).encode()).digest()).decode()


def read_file(zip_path: Path, module: str, version: str, path: str) -> bytes:
    """One file of the repository tree inside a module zip (`<module>@<version>/<path>`)."""
    name = f"{module}@{version}/{path.lstrip('/')}"
    try:
        with zipfile.ZipFile(zip_path) as zf:
            info = zf.getinfo(name)
            if info.file_size > MAX_FILE_BYTES:
                raise ProxyError(f"{name} is {info.file_size} bytes, over the {MAX_FILE_BYTES}-byte bound")
            return zf.read(info)
    except KeyError:
        raise ProxyError(f"{path} is not in the module zip of {module}@{version}") from None
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise ProxyError(f"{zip_path} is not a valid module zip ({err}); delete it to fetch it again") from None


def _download(url: str, proxy: Proxy, out_path: Path, timeout_s: float) -> None:
    """The body of `url` into `out_path`; ProxyError (one line) on any failure."""
    request = urllib.request.Request(url)
    if proxy.authorization:
        request.add_unredirected_header("Authorization", proxy.authorization)
    with out_path.open("wb") as out:
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as resp:  # noqa: S310 (https proxy from GOPROXY)
                size = 0
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    size += len(chunk)
                    if size > MAX_ZIP_BYTES:
                        raise ProxyError(f"{url}: larger than {MAX_ZIP_BYTES} bytes")
                    out.write(chunk)
        except urllib.error.HTTPError as err:
            body = err.read(200).decode(errors="replace").strip().splitlines()
            raise ProxyError(f"{url}: HTTP {err.code} {body[0] if body else err.reason}") from None
        except http.client.IncompleteRead as err:
            raise ProxyError(f"{url}: the answer ended early ({len(err.partial)} bytes, "
                             f"{err.expected if err.expected is not None else 'more'} missing)") from None
        except http.client.HTTPException as err:  # a broken answer, not a dead host
            raise ProxyError(f"{url}: bad HTTP answer ({type(err).__name__}: {err})") from None
        except (urllib.error.URLError, OSError) as err:
            raise ProxyError(f"{url}: {getattr(err, 'reason', err)}", host_down=True) from None


def fetch_zip(module: str, version: str, *, cache_root: Path, proxy: Proxy | None, h1: str | None = None,
              timeout_s: float = ZIP_TIMEOUT_S) -> tuple[Path, bool]:
    """The module zip, from the cache or downloaded into it; (path, downloaded).

    With `h1`, the zip must have that module hash: a cached zip is checked again (a damaged one is
    dropped and downloaded anew), a download is checked before it enters the cache, and a mismatch
    raises ChecksumMismatch with the zip not kept.
    """
    key = f"{module}@{version}"
    target = zip_cache_path(cache_root, module, version)
    if target.is_file():
        try:
            if h1 is None or h1_hash(target) == h1:
                return target, False
        except ProxyError:
            pass
        target.unlink(missing_ok=True)  # damaged or not the pinned zip: download it again
    if proxy is None:
        raise ProxyError(f"{key}: not in the cache and {no_proxy_reason()}")
    url = zip_url(proxy, module, version)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial.clean_stale(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=partial.prefix(), dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _download(url, proxy, tmp, timeout_s)
        if not zipfile.is_zipfile(tmp):
            raise ProxyError(f"{url}: the answer is not a zip")
        if h1 is not None:
            actual = h1_hash(tmp)
            if actual != h1:
                raise ChecksumMismatch(key, f"module hash mismatch for {key} (from {url}): pinned {h1}, fetched {actual}; "
                                            "the zip was not kept")
        tmp.chmod(0o644)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target, True


_MODULE_LINE = re.compile(r"^  (?P<key>[^\s#:]+@[^\s#:]+):\s*(?:#.*)?$")
_H1_LINE = re.compile(r"^    h1:\s*\"?(?P<h1>h1:[A-Za-z0-9+/=]+)\"?\s*(?:#.*)?$")


def pinned_modules(versions_text: str) -> dict[str, str]:
    """module@version -> h1 of versions.yaml's go_modules block, read without a YAML library.

    ci/fetch-upstream.sh runs before any virtualenv exists, with the system python3 alone.
    """
    out: dict[str, str] = {}
    key = None
    inside = False
    for line in versions_text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            inside = line.startswith("go_modules:")
            continue
        if not inside:
            continue
        if m := _MODULE_LINE.match(line):
            key = m["key"]
        elif (m := _H1_LINE.match(line)) and key:
            out[key] = m["h1"]
    return out


def warm(versions_file: Path, cache_root: Path, proxy: Proxy | None) -> list[str]:
    """Download (or find cached) every pinned module zip and check its h1, cached or not; one line per module."""
    modules = pinned_modules(versions_file.read_text())
    if not modules:
        raise ConfigError("no module read from go_modules (expected `  module@version:` then `    h1: \"h1:...\"`)",
                          source=str(versions_file), field="go_modules")
    lines = []
    for key, h1 in modules.items():
        module, _, version = key.rpartition("@")
        start = time.monotonic()
        path, downloaded = fetch_zip(module, version, cache_root=cache_root, proxy=proxy, h1=h1)
        state = f"downloaded {path.stat().st_size} bytes" if downloaded else "cached"
        lines.append(f"{key}: {state}, {h1} checked, in {time.monotonic() - start:.2f}s")
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m testbed.bringup.gomod [VERSIONS_FILE]`: warm the upstream cache (ci/fetch-upstream.sh).

    Exit 0 when every pinned zip is cached with its h1, 2 on bad input ($GOPROXY, versions file), else 1.
    """
    import sys

    args = sys.argv[1:] if argv is None else argv
    versions = Path(args[0] if args else "manifests/upstream/versions.yaml")
    override = os.environ.get("TESTBED_CACHE")
    cache = (Path(override).expanduser() if override else Path.home() / ".cache" / "testbed") / "upstream"
    try:
        proxy = proxy_base()
        for line in warm(versions, cache, proxy):
            print(line)
    except ConfigError as err:
        print(f"fetch-upstream: {err.message}", file=sys.stderr)
        return 2
    except (TestbedError, OSError) as err:
        print(f"fetch-upstream: {getattr(err, 'message', err)}", file=sys.stderr)
        return 1
    print(f"upstream cache warm: {cache} (proxy {proxy or 'none'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
