from __future__ import annotations

import re
from pathlib import Path

import pytest

from testbed.errors import MissingTool
from testbed.sim.binaries import REQUIRED, locate, missing_binaries
from testbed.sim.versions import PINNED, default_bin_dir

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.delenv("TESTBED_SIM_BIN_DIR", raising=False)


def fake_binaries(directory: Path, names: tuple[str, ...]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(0o755)


def test_missing_binaries_are_listed_in_one_message_with_the_build_command(tmp_path: Path) -> None:
    fake_binaries(default_bin_dir(), ("etcd", "kwokctl"))

    with pytest.raises(MissingTool) as err:
        locate()

    message = err.value.message
    assert "kube-apiserver, kube-controller-manager, kube-scheduler, kwok, kubectl" in message
    assert "etcd" not in message.split("(")[0]
    assert "testbed sim build" in message and "bash ci/build-sim.sh" in message
    assert "\n" not in message


def test_the_build_cache_is_found(tmp_path: Path) -> None:
    fake_binaries(default_bin_dir(), REQUIRED)

    found = locate()

    assert found["kube-apiserver"] == (default_bin_dir() / "kube-apiserver").resolve()
    assert missing_binaries() == []


def test_an_explicit_dir_wins_and_path_fills_gaps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_binaries(default_bin_dir(), REQUIRED)
    fake_binaries(tmp_path / "mine", ("kube-apiserver",))
    fake_binaries(tmp_path / "empty-path", ("kubectl",))
    (default_bin_dir() / "kubectl").unlink()

    found = locate(tmp_path / "mine")

    assert found["kube-apiserver"] == (tmp_path / "mine" / "kube-apiserver").resolve()
    assert found["etcd"] == (default_bin_dir() / "etcd").resolve()
    assert found["kubectl"] == (tmp_path / "empty-path" / "kubectl").resolve()


def test_build_script_pins_match_the_package() -> None:
    script = (Path(__file__).resolve().parents[3] / "ci" / "build-sim.sh").read_text()

    pins = dict(re.findall(r'^(\w+_VERSION)="\$\{\w+:-(v[\d.]+)\}"', script, flags=re.M))

    assert pins == {"K8S_VERSION": PINNED.kubernetes, "ETCD_VERSION": PINNED.etcd, "KWOK_VERSION": PINNED.kwok}
    assert default_bin_dir().parts[-2] == f"k8s-{PINNED.kubernetes}_etcd-{PINNED.etcd}_kwok-{PINNED.kwok}"
