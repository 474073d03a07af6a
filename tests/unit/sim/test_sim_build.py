from __future__ import annotations

import json
from pathlib import Path

import pytest

from testbed.sim.binaries import REQUIRED
from testbed.sim.build import build_binaries, build_script, load_record, record_path
from testbed.sim.versions import default_bin_dir

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))


def test_nothing_is_built_when_every_binary_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    default_bin_dir().mkdir(parents=True)
    for name in REQUIRED:
        (default_bin_dir() / name).write_text("")
    monkeypatch.setenv("PATH", "/nonexistent")  # go is not even needed

    record = build_binaries()

    assert record.built == [] and record.bin_dir == default_bin_dir()


def test_the_build_record_is_read_back() -> None:
    assert load_record() is None
    record_path().parent.mkdir(parents=True)
    record_path().write_text(
        json.dumps({"bin_dir": "/b", "built": ["etcd"], "wall_s": 343.4, "peak_rss_kib": 2048, "cold_go_cache": True})
    )

    record = load_record()

    assert record is not None and record.cold_go_cache and record.peak_rss_mib == 2.0 and record.wall_s == 343.4


def test_the_build_script_is_found_in_the_checkout() -> None:
    assert build_script().name == "build-sim.sh" and build_script().is_file()
