"""`testbed bundle DIR` is whole or absent, holds Helm charts to their pins, and ends with the documented exit code."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from upstream_fakes import RELEASE_URL, SHA, ZIP, ZIP_URL, FakeNet, write_versions

from testbed.bringup.bundle import load_bundle
from testbed.bringup.standin import write_stand_in_bundle
from testbed.cli.main import main
from testbed.errors import ExitCode

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]
CHART = b"\x1f\x8b fake chart archive bytes"
CHART_SHA = hashlib.sha256(CHART).hexdigest()
GOLANG_ZIP_URL = ZIP_URL.replace("proxy.example", "proxy.golang.org")
FAKE_HELM = f"""#!{sys.executable}
import pathlib, sys
args = sys.argv[1:]
with open(pathlib.Path(__file__).parent / "calls.log", "a") as log:
    log.write(" ".join(args) + "\\n")
if args[0] == "pull":
    dest = pathlib.Path(args[args.index("--destination") + 1])
    (dest / "chart-1.tgz").write_bytes({CHART!r})
elif args[0] == "template":
    assert pathlib.Path(args[2]).read_bytes() == {CHART!r}, "not the pulled archive"
    print("apiVersion: apps/v1\\nkind: Deployment\\nmetadata: {{name: chart}}\\n"
          "spec: {{template: {{spec: {{containers: [{{name: c, image: ghcr.io/example/chart:1}}]}}}}}}")
"""


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """A manifests root (widget from a release file, optionally `chart` from a Helm chart), a cache, $PATH with a fake helm."""
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GOPROXY", raising=False)

    def make(*, sha: str = SHA, helm: bool = False, helm_sha: str = "unverified", helm_bin: bool = True) -> Path:
        root = write_versions(tmp_path / "src", sha=sha, helm=helm, helm_sha=helm_sha)
        comps = [{"name": "widget", "upstream": "widget", "profiles": ["full"]}]
        if helm:
            comps.append({"name": "chart", "upstream": "chart", "profiles": ["full"]})
        (root / "components.yaml").write_text(yaml.safe_dump({"stages": [], "components": comps}))
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        if helm_bin:
            (bindir / "helm").write_text(FAKE_HELM)
            (bindir / "helm").chmod(0o755)
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin")
        return root
    return make


def bundle(root: Path, out: Path, *flags: str) -> int:
    return main(["bundle", str(out), "--manifests-root", str(root), *flags])


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_a_failed_run_leaves_the_previous_bundle_untouched(tmp_path: Path, tree: Callable[..., Path],
                                                           net: Callable[..., FakeNet], capsys: Any) -> None:
    net({GOLANG_ZIP_URL: ZIP})
    out = tmp_path / "b"
    assert bundle(tree(), out) == ExitCode.OK
    before = snapshot(out)
    net({})
    root = tree(sha="e" * 64)  # not cached, nothing reachable
    capsys.readouterr()
    assert bundle(root, out) == ExitCode.FAILED
    assert snapshot(out) == before
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_nothing_is_created_when_the_fetch_fails(tmp_path: Path, tree: Callable[..., Path], net: Callable[..., FakeNet]) -> None:
    net({})
    out = tmp_path / "new" / "b"
    assert bundle(tree(), out) == ExitCode.FAILED
    assert not out.exists()


def test_a_rerun_replaces_the_bundle_whole(tmp_path: Path, tree: Callable[..., Path], net: Callable[..., FakeNet]) -> None:
    net({GOLANG_ZIP_URL: ZIP})
    out = tmp_path / "b"
    root = tree()
    assert bundle(root, out) == ExitCode.OK
    (out / "gone").mkdir()
    (out / "gone" / "crds.yaml").write_text("stale")
    (out / "sha256sums.txt").write_text("stale\n")
    stale_partial = tmp_path / "b.partial-999999999-xyz"  # a killed run's leftover
    stale_partial.mkdir()
    assert bundle(root, out, "--crds-only") == ExitCode.OK
    assert not (out / "gone").exists() and not stale_partial.exists()
    assert (out / "sha256sums.txt").read_text() == f"{SHA}  {RELEASE_URL}\n"
    assert sorted(p.name for p in out.iterdir()) == ["bundle.yaml", "images.txt", "sha256sums.txt", "widget"]


def test_a_directory_that_is_not_a_bundle_is_not_replaced(tmp_path: Path, tree: Callable[..., Path], net: Callable[..., FakeNet],
                                                          capsys: Any) -> None:
    net({GOLANG_ZIP_URL: ZIP})
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    assert bundle(tree(), out) == ExitCode.USAGE
    assert "holds no bundle.yaml" in capsys.readouterr().err and (out / "thesis.tex").read_text() == "precious"
    with pytest.raises(Exception, match="holds no bundle.yaml"):
        write_stand_in_bundle(out)


@pytest.mark.parametrize(("body", "why"), [(b"\xff\xfe not utf-8", "is not UTF-8 text"),
                                           (b"a: [unclosed\n", "is not valid YAML at line")])
def test_bytes_that_are_not_yaml_are_one_line(tmp_path: Path, tree: Callable[..., Path], net: Callable[..., FakeNet],
                                              capsys: Any, body: bytes, why: str) -> None:
    net({RELEASE_URL: body})
    out = tmp_path / "b"
    assert bundle(tree(sha="unverified"), out, "--record-checksums") == ExitCode.FAILED
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"widget: release.yaml {why}" in err[0]
    assert not out.exists()


def test_a_chart_is_pulled_checked_and_rendered_from_the_local_archive(tmp_path: Path, tree: Callable[..., Path],
                                                                        net: Callable[..., FakeNet]) -> None:
    net({GOLANG_ZIP_URL: ZIP})
    out = tmp_path / "b"
    assert bundle(tree(helm=True, helm_sha=CHART_SHA), out) == ExitCode.OK
    calls = (tmp_path / "bin" / "calls.log").read_text().splitlines()
    assert calls[0].startswith("pull chart --repo https://charts.example --version 1 --destination ")
    assert calls[1].startswith("template chart ") and calls[1].split()[2].endswith("/chart-1.tgz") and "--repo" not in calls[1]
    entry = next(e for e in load_bundle(out).entries if e.name == "chart")
    assert entry.sources[0]["sha256"] == CHART_SHA and entry.sources[0]["from"] == "helm"
    assert f"{CHART_SHA}  https://charts.example#chart-1.tgz" in (out / "sha256sums.txt").read_text()
    assert "ghcr.io/example/chart:1" in (out / "images.txt").read_text()
    (tmp_path / "bin" / "calls.log").unlink()
    assert bundle(tree(helm=True, helm_sha=CHART_SHA), tmp_path / "again") == ExitCode.OK
    assert [c.split()[0] for c in (tmp_path / "bin" / "calls.log").read_text().splitlines()] == ["template"]  # from the cache


def test_a_chart_with_other_bytes_exits_4(tmp_path: Path, tree: Callable[..., Path], net: Callable[..., FakeNet], capsys: Any) -> None:
    net({GOLANG_ZIP_URL: ZIP})
    assert bundle(tree(helm=True, helm_sha="c" * 64), tmp_path / "b") == ExitCode.PROVISIONING
    err = capsys.readouterr().err
    assert "chart-1.tgz" in err and "c" * 64 in err and CHART_SHA in err and not (tmp_path / "b").exists()


def test_an_unverified_chart_needs_record_checksums(tmp_path: Path, tree: Callable[..., Path], net: Callable[..., FakeNet],
                                                    capsys: Any) -> None:
    net({GOLANG_ZIP_URL: ZIP})
    root = tree(helm=True)
    assert bundle(root, tmp_path / "b") == ExitCode.USAGE  # every failure is a usage error: exit 2, as --help says
    assert f"--record-checksums to trust what was fetched (sha256 {CHART_SHA})" in capsys.readouterr().err
    assert bundle(root, tmp_path / "b", "--record-checksums") == ExitCode.OK
    assert next(e for e in load_bundle(tmp_path / "b").entries if e.name == "chart").sources[0]["sha256"] == CHART_SHA


def test_exit_2_only_when_every_failure_is_a_usage_error(tmp_path: Path, tree: Callable[..., Path], net: Callable[..., FakeNet],
                                                         capsys: Any) -> None:
    net({GOLANG_ZIP_URL: ZIP})
    assert bundle(tree(helm=True, helm_bin=False), tmp_path / "b") == ExitCode.USAGE  # helm missing, widget fine
    assert "helm is needed" in capsys.readouterr().err
    net({})
    assert bundle(tree(sha="e" * 64, helm=True, helm_bin=False), tmp_path / "b") == ExitCode.FAILED  # and widget unreachable


@pytest.mark.parametrize("flag", [["--only", "contour"], ["--crds-only"], ["--record-checksums"]])
def test_stand_in_refuses_flags_it_would_ignore(tmp_path: Path, capsys: Any, flag: list[str]) -> None:
    assert main(["bundle", str(tmp_path / "b"), "--stand-in", *flag]) == ExitCode.USAGE
    assert f"{flag[0]} does not go with --stand-in" in capsys.readouterr().err and not (tmp_path / "b").exists()


def test_crds_only_of_a_chart_names_it(tmp_path: Path, capsys: Any) -> None:
    rc = main(["bundle", str(tmp_path / "b"), "--crds-only", "--only", "nats", "--manifests-root", str(REPO / "manifests")])
    assert rc == ExitCode.USAGE and "nats: no CRDs pinned" in capsys.readouterr().err and not (tmp_path / "b").exists()


def test_stand_in_bundle_replaces_its_directory_whole(tmp_path: Path) -> None:
    out = tmp_path / "b"
    write_stand_in_bundle(out)
    (out / "leftover.txt").write_text("x")
    write_stand_in_bundle(out)
    assert not (out / "leftover.txt").exists() and load_bundle(out).stand_in
