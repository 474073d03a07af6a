"""Upstream fetching: Go module proxy protocol, pins and checksums, cache, bundle index, one-line errors.

No network: urllib's urlopen is replaced by a fake that serves a made-up release site and proxy.
"""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from upstream_fakes import MODULE, RELEASE, SHA, VERSION, ZIP, ZIP_URL, FakeNet, fetcher, pin, write_versions

from testbed.bringup import gomod
from testbed.bringup.bundle import load_bundle
from testbed.bringup.download import download_bundle
from testbed.bringup.fetch import ChecksumMismatch, FetchFailed, GoModRef, ModuleHash, Pin
from testbed.cli.main import main
from testbed.errors import ConfigError, ExitCode

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]


def test_escape_case_encodes_module_paths_and_versions() -> None:
    assert gomod.escape("github.com/OT-CONTAINER-KIT/redis-operator") == "github.com/!o!t-!c!o!n!t!a!i!n!e!r-!k!i!t/redis-operator"
    assert gomod.escape("v1.0.0-RC1") == "v1.0.0-!r!c1"
    assert gomod.zip_url("https://p.example/", MODULE, VERSION) == ZIP_URL.replace("proxy.example", "p.example")
    with pytest.raises(ConfigError):
        gomod.escape("github.com/a!b")


@pytest.mark.parametrize(("value", "expected"), [
    ("", gomod.DEFAULT_PROXY), ("off", None), ("direct", None), ("direct,off", None),
    ("https://goproxy.example/,direct", "https://goproxy.example"), ("off|http://10.0.0.1:3000", None),
    ("direct,https://a.example|https://b.example", "https://a.example"), ("direct|http://10.0.0.1:3000", "http://10.0.0.1:3000"),
])
def test_proxy_is_read_as_go_reads_goproxy(value: str, expected: str | None) -> None:
    """`off` ends the list (no proxy, not proxy.golang.org); `direct` entries are skipped."""
    proxy = gomod.proxy_base({"GOPROXY": value})
    assert (proxy.url if proxy else None) == expected


def test_h1_is_go_dirhash_hash1(tmp_path: Path) -> None:
    path = tmp_path / "m.zip"
    path.write_bytes(ZIP)
    names = sorted([f"{MODULE}@{VERSION}/deploy/release.yaml", f"{MODULE}@{VERSION}/go.mod"])
    contents = {names[0]: RELEASE, names[1]: f"module {MODULE}\n".encode()}
    summary = "".join(f"{hashlib.sha256(contents[n]).hexdigest()}  {n}\n" for n in names)
    assert gomod.h1_hash(path) == "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def test_the_warm_script_reads_the_same_modules_as_yaml() -> None:
    text = (REPO / "manifests/upstream/versions.yaml").read_text()
    expected = {k: v["h1"] for k, v in yaml.safe_load(text)["go_modules"].items()}
    assert expected and gomod.pinned_modules(text) == expected


def test_url_down_then_gomod_mirror_then_cache(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    fake = net({ZIP_URL: ZIP})
    got = fetcher(tmp_path).fetch("widget", pin())
    assert (got.source, got.sha256, got.data) == ("gomod", SHA, RELEASE)
    assert got.origin == f"{ZIP_URL}#deploy/release.yaml"
    assert fake.requests == [pin().url, ZIP_URL]
    assert (tmp_path / "cache" / "gomod" / "github.com" / "!example-!org" / "widget" / "@v" / f"{VERSION}.zip").is_file()
    again = net({})
    cached = fetcher(tmp_path).fetch("widget", pin())
    assert (cached.source, cached.origin, again.requests) == ("cache", got.origin, [])


def test_a_host_that_failed_is_not_asked_again(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    fake = net({ZIP_URL: ZIP})
    f = fetcher(tmp_path)
    f.fetch("widget", pin())
    other = Pin("https://releases.example/widget/v1.2.0/other.yaml", "unverified", GoModRef(MODULE, VERSION, "go.mod"))
    f.record = True
    assert f.fetch("widget", other).source == "gomod"
    assert [u for u in fake.requests if "releases.example" in u] == [pin().url]


def test_checksum_mismatch_is_exit_4_naming_file_and_both_hashes(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: ZIP})
    with pytest.raises(ChecksumMismatch) as err:
        fetcher(tmp_path).fetch("widget", pin("0" * 64))
    assert err.value.exit_code == ExitCode.PROVISIONING
    assert "release.yaml" in err.value.message and "0" * 64 in err.value.message and SHA in err.value.message
    assert not (tmp_path / "cache" / "files").exists()


def test_module_hash_mismatch_refuses_and_drops_the_zip(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: ZIP})
    f = fetcher(tmp_path, modules={f"{MODULE}@{VERSION}": ModuleHash("h1:AAAA", True)})
    with pytest.raises(ChecksumMismatch, match="module hash mismatch .* pinned h1:AAAA, fetched h1:"):
        f.fetch("widget", pin())
    assert not list((tmp_path / "cache").rglob("*.zip"))


def test_unverified_pin_needs_record_checksums(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: ZIP})
    with pytest.raises(ConfigError, match=f"--record-checksums .*sha256 {SHA}"):
        fetcher(tmp_path).fetch("widget", pin("unverified"))
    assert fetcher(tmp_path, record=True).fetch("widget", pin("unverified")).sha256 == SHA


def test_nothing_reachable_is_one_line_naming_every_source(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: urllib.error.HTTPError(ZIP_URL, 403, "Forbidden", {}, io.BytesIO(b"This module version is not available.\n"))})
    with pytest.raises(FetchFailed) as err:
        fetcher(tmp_path).fetch("widget", pin())
    assert "\n" not in err.value.message
    assert "release.yaml" in err.value.message and "Name or service not known" in err.value.message
    assert "HTTP 403 This module version is not available." in err.value.message


def test_bundle_index_records_where_each_file_came_from(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: ZIP})
    root = write_versions(tmp_path)
    out = tmp_path / "b"
    download_bundle(out, root, component_of={"widget": "widget"}, profiles_of={"widget": ("full",)},
                    fetcher=fetcher(tmp_path))
    bundle = load_bundle(out)
    (entry,) = bundle.entries
    assert entry.crds_from == "upstream" and entry.images == ("ghcr.io/example/widget:v1.2.0",)
    assert entry.sources == ({"file": "release.yaml", "url": pin().url, "sha256": SHA, "from": "gomod",
                              "origin": f"{ZIP_URL}#deploy/release.yaml"},)
    assert [d["kind"] for d in yaml.safe_load_all((out / "widget" / "crds.yaml").read_text())] == ["CustomResourceDefinition"]
    assert [d["kind"] for d in yaml.safe_load_all((out / "widget" / "install.yaml").read_text())] == ["Deployment"]
    assert (out / "sha256sums.txt").read_text() == f"{SHA}  {pin().url}\n"
    assert (out / "images.txt").read_text() == "docker.io/library/python:3.12-slim\nghcr.io/example/widget:v1.2.0\n"


def test_crds_only_bundle_is_refused_for_bring_up(tmp_path: Path, net: Callable[..., FakeNet]) -> None:
    net({ZIP_URL: ZIP})
    root = write_versions(tmp_path, helm=True)
    out = tmp_path / "b"
    entries = download_bundle(out, root, component_of={"widget": "widget", "chart": "chart"}, profiles_of={},
                              crds_only=True, fetcher=fetcher(tmp_path))
    assert [e.name for e in entries] == ["widget"] and not (out / "widget" / "install.yaml").exists()
    with pytest.raises(ConfigError, match="CRDs-only bundle"):
        load_bundle(out)


def test_cli_mismatch_exits_4_with_one_line(tmp_path: Path, net: Callable[..., FakeNet], capsys: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    net({f"https://proxy.golang.org/github.com/!example-!org/widget/@v/{VERSION}.zip": ZIP})
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GOPROXY", raising=False)
    root = write_versions(tmp_path, sha="f" * 64)
    (root / "components.yaml").write_text(yaml.safe_dump({"stages": [], "components": [
        {"name": "widget", "upstream": "widget", "profiles": ["full"]}]}))
    rc = main(["bundle", str(tmp_path / "b"), "--manifests-root", str(root)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == ExitCode.PROVISIONING and len(err) == 1
    assert "widget" in err[0] and "release.yaml" in err[0] and "f" * 64 in err[0] and SHA in err[0]


def test_cli_unknown_component_is_a_usage_error(tmp_path: Path, capsys: Any) -> None:
    rc = main(["bundle", str(tmp_path / "b"), "--only", "nope", "--manifests-root", str(REPO / "manifests")])
    assert rc == ExitCode.USAGE and "unknown component nope; choose from rook-ceph" in capsys.readouterr().err


def test_helm_timeout_is_one_line_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    def slow(cmd: list[str], **kw: Any) -> Any:
        raise subprocess.TimeoutExpired(cmd, kw.get("timeout", 0))

    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(subprocess, "run", slow)
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))
    rc = main(["bundle", str(tmp_path / "b"), "--only", "nats", "--manifests-root", str(REPO / "manifests")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == ExitCode.FAILED and len(err) == 1
    assert "nats: helm pull nats 1.2.6 from https://nats-io.github.io/k8s/helm/charts/ did not finish in 120s" in err[0]
