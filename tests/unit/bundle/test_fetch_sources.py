"""Which source a pinned file comes from, and what happens when a source gives wrong bytes or none."""

from __future__ import annotations

import hashlib
import io
import stat
import urllib.error
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from upstream_fakes import MODULE, RELEASE, RELEASE_URL, SHA, VERSION, ZIP, ZIP_URL, FakeNet, Truncated, fetcher, pin

from testbed.bringup import gomod
from testbed.bringup.download import pins_of
from testbed.bringup.fetch import ChecksumMismatch, FetchFailed, GoModRef, ModuleHash, Pin
from testbed.errors import ConfigError, ExitCode

pytestmark = pytest.mark.unit
PORTAL = b"<html>Please log in to the hotel wifi</html>"


@pytest.mark.parametrize("bad", ["../../victim/file", "/etc/passwd", "ABC", "0" * 63, "0" * 65, ("A" * 64), 42])
def test_a_sha256_that_is_not_64_hex_digits_is_refused_naming_the_field(tmp_path: Path, bad: object) -> None:
    victim = tmp_path / "victim" / "file"
    victim.parent.mkdir()
    victim.write_text("keep me")
    comp = {"name": "widget", "manifests": [{"url": RELEASE_URL, "sha256": bad}]}
    with pytest.raises(ConfigError) as err:
        pins_of(comp)
    assert err.value.field == "widget.manifests[0].sha256" and "64 lower-case hex digits" in err.value.message
    with pytest.raises(ConfigError):
        Pin(RELEASE_URL, str(bad))
    assert victim.read_text() == "keep me"


def test_unverified_and_real_digests_are_accepted() -> None:
    assert pins_of({"name": "w", "manifests": [{"url": RELEASE_URL, "sha256": SHA}, {"url": RELEASE_URL}]})[1].sha256 == "unverified"


def test_wrong_bytes_from_the_url_fall_back_to_the_mirror(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    fake = net({RELEASE_URL: PORTAL, ZIP_URL: ZIP})
    got = fetcher(tmp_path).fetch("widget", pin())
    assert (got.source, got.data) == ("gomod", RELEASE) and fake.requests == [RELEASE_URL, ZIP_URL]


def test_no_source_with_the_pinned_bytes_names_each_source(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    other = RELEASE + b"# moved tag\n"
    net({RELEASE_URL: PORTAL, ZIP_URL: module_zip_with(other)})
    with pytest.raises(ChecksumMismatch) as err:
        fetcher(tmp_path).fetch("widget", pin())
    msg = err.value.message
    assert err.value.exit_code == ExitCode.PROVISIONING and "\n" not in msg
    assert f"{RELEASE_URL} gave sha256 {hashlib.sha256(PORTAL).hexdigest()}" in msg
    assert f"{ZIP_URL}#deploy/release.yaml gave sha256 {hashlib.sha256(other).hexdigest()}" in msg and SHA in msg


def module_zip_with(release: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{MODULE}@{VERSION}/deploy/release.yaml", release)
    return buf.getvalue()


def test_a_body_cut_short_at_the_url_tries_the_mirror(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({RELEASE_URL: Truncated(RELEASE), ZIP_URL: ZIP})
    assert fetcher(tmp_path).fetch("widget", pin()).source == "gomod"


def test_a_cached_zip_with_other_bytes_is_downloaded_once_more(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    zip_path = gomod.zip_cache_path(tmp_path / "cache", MODULE, VERSION)
    zip_path.parent.mkdir(parents=True)
    zip_path.write_bytes(module_zip_with(b"stale: true\n"))  # no h1 pinned for it: only the file's sha256 can tell
    fake = net({ZIP_URL: ZIP})
    got = fetcher(tmp_path).fetch("widget", pin())
    assert (got.source, got.data) == ("gomod", RELEASE) and fake.requests.count(ZIP_URL) == 1
    assert zip_path.read_bytes() == ZIP


def test_a_cached_zip_without_its_pinned_h1_is_not_trusted(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    ref = tmp_path / "ref.zip"
    ref.write_bytes(ZIP)
    h1 = gomod.h1_hash(ref)
    zip_path = gomod.zip_cache_path(tmp_path / "cache", MODULE, VERSION)
    zip_path.parent.mkdir(parents=True)
    forged = module_zip_with(RELEASE)  # the right file, in a zip that is not the pinned module
    zip_path.write_bytes(forged)
    f = fetcher(tmp_path, modules={f"{MODULE}@{VERSION}": ModuleHash(h1, True)})
    assert f.local(pin()) is None
    fake = net({ZIP_URL: ZIP})
    assert f.fetch("widget", pin()).source == "gomod" and ZIP_URL in fake.requests and zip_path.read_bytes() == ZIP


def test_the_warm_cache_is_read_before_the_url(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: ZIP})
    gomod.fetch_zip(MODULE, VERSION, cache_root=tmp_path / "cache", proxy=gomod.Proxy("https://proxy.example"))
    fake = net({})
    got = fetcher(tmp_path).fetch("widget", pin())
    assert (got.source, fake.requests) == ("cache", [])


def test_a_blackholed_proxy_costs_one_timeout_per_run(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    fake = net({ZIP_URL: urllib.error.URLError(TimeoutError("timed out"))})
    f = fetcher(tmp_path)
    other = Pin("https://releases.example/other/v1/crds.yaml", "a" * 64, GoModRef("example.com/other", "v1.0.0", "crds.yaml"))
    for p in (pin(), other):
        with pytest.raises(FetchFailed, match="Go module proxy"):
            f.fetch("widget", p)
    assert [u for u in fake.requests if "proxy.example" in u] == [ZIP_URL]
    assert "proxy.example" in f.dead_hosts


def test_an_http_error_does_not_mark_the_proxy_dead(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: urllib.error.HTTPError(ZIP_URL, 404, "Not Found", {}, io.BytesIO(b"not found\n"))})  # type: ignore[arg-type]
    f = fetcher(tmp_path)
    with pytest.raises(FetchFailed):
        f.fetch("widget", pin())
    assert "proxy.example" not in f.dead_hosts


def test_proxy_credentials_stay_out_of_origins_and_messages(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    secret_zip = ZIP_URL  # requests go to the URL without userinfo
    fake = net({secret_zip: ZIP})
    f = fetcher(tmp_path)
    f.proxy = gomod.Proxy.parse("https://bob:hunter2@proxy.example")
    got = f.fetch("widget", pin())
    assert "hunter2" not in got.origin and got.origin == f"{ZIP_URL}#deploy/release.yaml"
    assert "hunter2" not in (tmp_path / "cache" / "files" / f"{SHA}.origin").read_text()
    assert fake.headers[-1]["Authorization"].startswith("Basic ")


def test_stand_in_real_crds_record_the_proxy_as_origin(tmp_path: Path, net: Callable[..., FakeNet],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from testbed.bringup.standin import upstream_crds

    net({ZIP_URL: ZIP})
    cache = tmp_path / "cache"
    gomod.fetch_zip(MODULE, VERSION, cache_root=cache, proxy=gomod.Proxy("https://proxy.example"))
    manifests = tmp_path / "manifests"
    (manifests / "upstream").mkdir(parents=True)
    (manifests / "upstream" / "versions.yaml").write_text(yaml.safe_dump({"schema": 1, "components": [
        {"name": "argocd", "version": "v1", "install": "manifests", "namespace": "argocd", "manifests": [
            {"url": RELEASE_URL, "sha256": SHA, "gomod": {"module": MODULE, "version": VERSION, "path": "deploy/release.yaml"}}]}]}))
    monkeypatch.setenv("GOPROXY", "https://proxy.example")
    assert upstream_crds("argocd", manifests_root=manifests, cache=cache)
    assert (cache / "files" / f"{SHA}.origin").read_text().strip() == f"{ZIP_URL}#deploy/release.yaml"


def test_cached_files_are_world_readable_and_a_killed_runs_partials_go(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    files = tmp_path / "cache" / "files"
    files.mkdir(parents=True)
    (files / ".partial-999999999-abc").write_bytes(b"half")
    net({ZIP_URL: ZIP})
    fetcher(tmp_path).fetch("widget", pin())
    assert sorted(p.name for p in files.iterdir()) == sorted([SHA, f"{SHA}.origin"])
    assert {stat.S_IMODE(p.stat().st_mode) for p in files.iterdir()} == {0o644}
