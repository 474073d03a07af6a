"""Service logs are cut to the run window by their JSON "ts"; untimed lines follow the line before them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from testbed.bundle.logs import collect_logs, line_time, window_lines

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 22, 19, 30, 0, tzinfo=timezone.utc)
END = datetime(2026, 11, 22, 19, 31, 0, tzinfo=timezone.utc)


def _line(ts: object, msg: str) -> str:
    return json.dumps({"ts": ts, "level": "INFO", "msg": msg}) + "\n"


@pytest.mark.parametrize(("ts", "expected"), [
    ("2026-11-22T19:30:00.123Z", datetime(2026, 11, 22, 19, 30, 0, 123000, tzinfo=timezone.utc)),
    ("2026-11-22T20:30:00+01:00", datetime(2026, 11, 22, 19, 30, tzinfo=timezone.utc)),
    ("2026-11-22T19:30:00", datetime(2026, 11, 22, 19, 30, tzinfo=timezone.utc)),
    (START.timestamp(), START),
])
def test_line_time_reads_iso_and_epoch(ts: object, expected: datetime) -> None:
    assert line_time(_line(ts, "x")) == expected


@pytest.mark.parametrize("line", ["plain text\n", "{not json\n", '{"msg": "no ts"}\n', '{"ts": "yesterday"}\n', '{"ts": true}\n', "[1, 2]\n"])
def test_lines_without_a_usable_ts_have_no_time(line: str) -> None:
    assert line_time(line) is None


def test_window_keeps_in_window_lines_and_their_continuations_only() -> None:
    lines = [
        "startup banner\n",
        _line("2026-11-22T19:29:59.999Z", "before"),
        "Traceback of before\n",
        _line("2026-11-22T19:30:00.000Z", "first"),
        "Traceback (most recent call last):\n",
        '  File "x.py", line 1\n',
        _line("2026-11-22T19:30:30.000Z", "middle"),
        _line("2026-11-22T19:31:00.000Z", "last"),
        "crash after last\n",
        _line("2026-11-22T19:31:00.001Z", "after"),
        "trailing after\n",
    ]
    kept = list(window_lines(lines, START, END))
    assert kept == lines[3:9]


def test_collect_logs_writes_one_file_per_service_and_reports_unreadable_sources(tmp_path: Path) -> None:
    source = tmp_path / "user.log"
    source.write_text(_line("2026-11-22T19:00:00Z", "old") + _line("2026-11-22T19:30:10Z", "new") + "no newline at end")
    slices = collect_logs({"user": str(source), "cart": str(tmp_path / "missing.log")}, tmp_path / "out", START, END)
    by_service = {s.service: s for s in slices}
    assert by_service["user"].kept == 2 and not by_service["user"].problem
    assert (tmp_path / "out" / "user.log").read_text() == _line("2026-11-22T19:30:10Z", "new") + "no newline at end\n"
    assert by_service["cart"].problem.startswith("cannot read")
    assert not (tmp_path / "out" / "cart.log").exists()
