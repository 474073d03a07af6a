"""The Go module proxy client: Go's own h1 hashes, zips checked before and after caching, $GOPROXY as Go reads it.

The golden hashes were computed by Go itself: rsc.io/quote@v1.5.2 is the `Sum` of `go mod download
-json rsc.io/quote@v1.5.2` (its zip is data/rsc.io-quote-v1.5.2.zip), and data/go-dirhash-dirs.zip (a
zip with directory entries) was hashed with golang.org/x/mod/sumdb/dirhash.HashZip(f, dirhash.Hash1).
"""

from __future__ import annotations

import base64
import io
import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from upstream_fakes import MODULE, VERSION, ZIP, ZIP_URL, FakeNet, Truncated

from testbed.bringup import gomod, partial
from testbed.errors import ChecksumMismatch, ConfigError, ProvisioningFailed, ProxyError, TestbedError

pytestmark = pytest.mark.unit
DATA = Path(__file__).parent / "data"


def example_proxy() -> gomod.Proxy:
    return gomod.Proxy("https://proxy.example")




@pytest.mark.parametrize(("name", "h1"), [
    ("rsc.io-quote-v1.5.2.zip", "h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y="),
    ("go-dirhash-dirs.zip", "h1:cyk6iDMrXXMM4CTtuvtEIMgRbxFW885mLNTi2RAPl78="),
])
def test_h1_equals_what_go_computes(name: str, h1: str) -> None:
    """Like Go's HashZip, directory entries count (as empty files)."""
    assert gomod.h1_hash(DATA / name) == h1


def test_h1_refuses_more_than_gos_500mb_uncompressed(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{MODULE}@{VERSION}/a", b"\0" * (3 << 20))
    with pytest.raises(ProxyError, match="over Go's 500-byte limit|500"):
        original = gomod.MAX_UNZIPPED_BYTES
        try:
            gomod.MAX_UNZIPPED_BYTES = 500
            gomod.h1_hash(path)
        finally:
            gomod.MAX_UNZIPPED_BYTES = original
    assert gomod.MAX_UNZIPPED_BYTES == 500 << 20


def test_h1_counts_the_bytes_read_not_the_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{MODULE}@{VERSION}/a", b"\0" * 4096)
    real = zipfile.ZipFile.infolist

    def understated(self: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
        infos = real(self)
        for info in infos:
            info.file_size = 1
        return infos

    monkeypatch.setattr(zipfile.ZipFile, "infolist", understated)
    monkeypatch.setattr(gomod, "MAX_UNZIPPED_BYTES", 1000)
    with pytest.raises(ProxyError):
        gomod.h1_hash(path)


def good_h1(tmp_path: Path) -> str:
    path = tmp_path / "ref.zip"
    path.write_bytes(ZIP)
    return gomod.h1_hash(path)


def test_a_wrong_download_never_enters_the_cache(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: ZIP})
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumMismatch, match=f"module hash mismatch for {MODULE}@{VERSION} .*pinned h1:AAAA="):
        gomod.fetch_zip(MODULE, VERSION, cache_root=cache, proxy=example_proxy(), h1="h1:AAAA=")
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_a_cached_zip_is_checked_again_and_replaced_when_damaged(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    h1 = good_h1(tmp_path)
    cache = tmp_path / "cache"
    target = gomod.zip_cache_path(cache, MODULE, VERSION)
    target.parent.mkdir(parents=True)
    target.write_bytes(ZIP.replace(b"widget-operator", b"evil-operator!!"))  # same length, other bytes (CRC fails)
    fake = net({ZIP_URL: ZIP})
    path, downloaded = gomod.fetch_zip(MODULE, VERSION, cache_root=cache, proxy=example_proxy(), h1=h1)
    assert downloaded and path.read_bytes() == ZIP and fake.requests == [ZIP_URL]
    again = net({})
    assert gomod.fetch_zip(MODULE, VERSION, cache_root=cache, proxy=example_proxy(), h1=h1) == (path, False)
    assert again.requests == []


def test_warm_checks_every_cached_zip(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    cache = tmp_path / "cache"
    target = gomod.zip_cache_path(cache, MODULE, VERSION)
    target.parent.mkdir(parents=True)
    target.write_bytes(module_zip_other())
    versions = tmp_path / "versions.yaml"
    versions.write_text(f'go_modules:\n  {MODULE}@{VERSION}:\n    h1: "{good_h1(tmp_path)}"\n    sumdb: true\ncomponents: []\n')
    fake = net({ZIP_URL: ZIP})
    (line,) = gomod.warm(versions, cache, example_proxy())
    assert "downloaded" in line and fake.requests == [ZIP_URL] and target.read_bytes() == ZIP
    net({})
    assert "cached" in gomod.warm(versions, cache, example_proxy())[0]


def module_zip_other() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{MODULE}@{VERSION}/go.mod", b"module other\n")
    return buf.getvalue()


def test_a_body_cut_short_is_one_line(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: Truncated(ZIP)})
    with pytest.raises(ProxyError) as err:
        gomod.fetch_zip(MODULE, VERSION, cache_root=tmp_path, proxy=example_proxy())
    assert "ended early" in err.value.message and "\n" not in err.value.message and not err.value.host_down


def test_cached_zips_are_world_readable_and_stale_partials_go(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: ZIP})
    target = gomod.zip_cache_path(tmp_path, MODULE, VERSION)
    target.parent.mkdir(parents=True)
    dead = target.parent / f"{partial.MARK}999999999-abc"  # a pid that cannot exist: a killed run's leftover
    dead.write_bytes(b"half")
    live = target.parent / f"{partial.MARK}{os.getpid()}-abc"  # a running writer's: kept
    live.write_bytes(b"half")
    path, _ = gomod.fetch_zip(MODULE, VERSION, cache_root=tmp_path, proxy=example_proxy())
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert not dead.exists() and live.exists()


def test_goproxy_credentials_become_basic_auth_and_never_show(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    proxy = gomod.proxy_base({"GOPROXY": "https://bob:s%40cret@proxy.example/,direct"})
    assert proxy is not None and proxy.url == "https://proxy.example" and "cret" not in str(proxy)
    fake = net({ZIP_URL: urllib_error_403()})
    with pytest.raises(ProxyError) as err:
        gomod.fetch_zip(MODULE, VERSION, cache_root=tmp_path, proxy=proxy)
    assert "cret" not in err.value.message and "bob" not in err.value.message
    assert fake.headers[0]["Authorization"] == "Basic " + base64.b64encode(b"bob:s@cret").decode()
    assert gomod.redact("https://bob:secret@p.example/x") == "https://***@p.example/x"


def urllib_error_403() -> Exception:
    import urllib.error

    return urllib.error.HTTPError(ZIP_URL, 403, "Forbidden", {}, io.BytesIO(b"no\n"))  # type: ignore[arg-type]


def test_goproxy_off_means_no_proxy_in_one_line(tmp_path: Path, net: Callable[..., FakeNet],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOPROXY", "off")
    fake = net({})
    with pytest.raises(ProxyError, match=r"not in the cache and no Go module proxy: \$GOPROXY=off"):
        gomod.fetch_zip(MODULE, VERSION, cache_root=tmp_path, proxy=gomod.proxy_base())
    assert fake.requests == []


def test_a_proxy_that_is_not_a_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="GOPROXY"):
        gomod.Proxy.parse("ftp://user:pw@x.example")


def test_warm_with_no_modules_read_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    versions = tmp_path / "versions.yaml"
    versions.write_text("go_modules: {}\ncomponents: []\n")
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))
    assert gomod.main([str(versions)]) == 2
    assert "no module read from go_modules" in capsys.readouterr().err


def test_the_fetch_exceptions_live_in_testbed_errors() -> None:
    from testbed import errors
    from testbed.bringup import fetch

    assert gomod.ProxyError is errors.ProxyError and issubclass(errors.ProxyError, TestbedError)
    assert fetch.FetchFailed is errors.FetchFailed and issubclass(errors.FetchFailed, TestbedError)
    assert fetch.ChecksumMismatch is errors.ChecksumMismatch and issubclass(errors.ChecksumMismatch, ProvisioningFailed)
