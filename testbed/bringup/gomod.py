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
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path

from testbed.errors import ConfigError, TestbedError

DEFAULT_PROXY = "https://proxy.golang.org"
ZIP_TIMEOUT_S = 60.0
MAX_ZIP_BYTES = 500 << 20  # Go's own limit on a module zip
MAX_FILE_BYTES = 64 << 20  # one extracted file


class ProxyError(TestbedError):
    """The proxy did not give us the module zip; the message is one line naming the URL and the reason."""


def escape(text: str) -> str:
    """Case-encode a module path or version for the proxy: each upper-case letter becomes '!' + lower case."""
    if "!" in text:
        raise ConfigError(f"{text!r}: module paths and versions cannot contain '!'", field="gomod")
    return "".join(f"!{c.lower()}" if "A" <= c <= "Z" else c for c in text)


def proxy_base(environ: Mapping[str, str] | None = None) -> str:
    """The first entry of $GOPROXY that is a URL (entries split on ',' and '|'); else proxy.golang.org."""
    env = os.environ if environ is None else environ
    for entry in env.get("GOPROXY", "").replace("|", ",").split(","):
        entry = entry.strip()
        if entry.startswith(("https://", "http://")):
            return entry.rstrip("/")
    return DEFAULT_PROXY


def zip_url(proxy: str, module: str, version: str) -> str:
    return f"{proxy.rstrip('/')}/{escape(module)}/@v/{escape(version)}.zip"


def zip_cache_path(cache_root: Path, module: str, version: str) -> Path:
    """Where a module zip is cached: the proxy's own layout under <cache>/gomod."""
    return cache_root / "gomod" / escape(module) / "@v" / f"{escape(version)}.zip"


def h1_hash(zip_path: Path) -> str:
    """Go's module hash ("h1:", dirhash.Hash1) of a module zip, as sum.golang.org records it."""
    lines = []
    with zipfile.ZipFile(zip_path) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            if "\n" in info.filename:
                raise ProxyError(f"{zip_path}: file name with a newline in the module zip")
            digest = hashlib.sha256()
            with zf.open(info) as member:
                for chunk in iter(lambda: member.read(1 << 20), b""):
                    digest.update(chunk)
            lines.append(f"{digest.hexdigest()}  {info.filename}\n")
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
    except zipfile.BadZipFile as err:
        raise ProxyError(f"{zip_path} is not a valid module zip ({err}); delete it to fetch it again") from None


def fetch_zip(module: str, version: str, *, cache_root: Path, proxy: str, timeout_s: float = ZIP_TIMEOUT_S) -> tuple[Path, bool]:
    """The module zip, from the cache or downloaded into it (atomically); (path, downloaded)."""
    target = zip_cache_path(cache_root, module, version)
    if target.is_file():
        return target, False
    url = zip_url(proxy, module, version)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".partial-", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 (https proxy from GOPROXY)
                    size = 0
                    for chunk in iter(lambda: resp.read(1 << 20), b""):
                        size += len(chunk)
                        if size > MAX_ZIP_BYTES:
                            raise ProxyError(f"{url}: larger than {MAX_ZIP_BYTES} bytes")
                        out.write(chunk)
            except urllib.error.HTTPError as err:
                body = err.read(200).decode(errors="replace").strip().splitlines()
                raise ProxyError(f"{url}: HTTP {err.code} {body[0] if body else err.reason}") from None
            except (urllib.error.URLError, OSError) as err:
                raise ProxyError(f"{url}: {getattr(err, 'reason', err)}") from None
        if not zipfile.is_zipfile(tmp):
            raise ProxyError(f"{url}: the answer is not a zip")
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


def warm(versions_file: Path, cache_root: Path, proxy: str) -> list[str]:
    """Download (or find cached) every pinned module zip and check its h1; one line per module."""
    lines = []
    for key, h1 in pinned_modules(versions_file.read_text()).items():
        module, _, version = key.rpartition("@")
        start = time.monotonic()
        path, downloaded = fetch_zip(module, version, cache_root=cache_root, proxy=proxy)
        actual = h1_hash(path) if downloaded else h1
        if actual != h1:
            path.unlink(missing_ok=True)
            raise ProxyError(f"{key}: module hash mismatch: pinned {h1}, fetched {actual}; the zip was not kept")
        state = f"downloaded {path.stat().st_size} bytes" if downloaded else "cached"
        lines.append(f"{key}: {state} in {time.monotonic() - start:.2f}s")
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m testbed.bringup.gomod [VERSIONS_FILE]`: warm the upstream cache (ci/fetch-upstream.sh)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    versions = Path(args[0] if args else "manifests/upstream/versions.yaml")
    override = os.environ.get("TESTBED_CACHE")
    cache = (Path(override).expanduser() if override else Path.home() / ".cache" / "testbed") / "upstream"
    proxy = proxy_base()
    try:
        for line in warm(versions, cache, proxy):
            print(line)
    except (TestbedError, OSError) as err:
        print(f"fetch-upstream: {getattr(err, 'message', err)}", file=sys.stderr)
        return 1
    print(f"upstream cache warm: {cache} (proxy {proxy})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
