"""`testbed sim` on bad input or no cluster: one line, the documented exit code, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.cli.main import main

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def empty_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.delenv("TESTBED_SIM_BIN_DIR", raising=False)


def test_up_without_binaries_lists_them_and_how_to_build(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "up"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("testbed: sim binaries missing: etcd, kube-apiserver, kube-controller-manager")
    assert "testbed sim build" in err


def test_status_of_nothing_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "status", "--name", "ghost"]) == 3

    assert capsys.readouterr().out.strip() == "sim cluster 'ghost': absent"


def test_kubeconfig_of_nothing_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "kubeconfig", "--name", "ghost"]) == 3

    assert "no sim cluster named 'ghost'" in capsys.readouterr().err


def test_down_of_nothing_is_a_no_op(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "down", "--name", "ghost"]) == 0

    assert "nothing to do" in capsys.readouterr().out


def test_a_bad_cluster_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "status", "--name", "Not_Valid"]) == 2

    assert "cluster name 'Not_Valid'" in capsys.readouterr().err
