"""Copy the part of each service's log that belongs to the run window into the bundle.

Services log JSON lines with a "ts" field (ISO 8601, or epoch seconds). A line is kept
when its ts falls inside [start, end]. Lines without a timestamp (tracebacks, a crash
message, plain prints) belong to the timestamped line before them: they are kept when
that line was kept, so everything between kept lines, and a traceback right after one,
survives. Files are streamed line by line; logs may be large.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


@dataclass(frozen=True)
class LogSlice:
    """What was copied for one service: `kept` lines into `path`, or `problem` if the source was unreadable."""

    service: str
    path: Path
    source: str
    kept: int = 0
    problem: str = ""


def line_time(line: str) -> datetime | None:
    """The UTC time of a JSON log line, or None when the line is not JSON or has no usable "ts"."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    ts = record.get("ts") if isinstance(record, dict) else None
    if isinstance(ts, bool):
        return None
    if isinstance(ts, (int, float)):
        return datetime.fromtimestamp(ts, timezone.utc)
    if isinstance(ts, str):
        try:
            moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None


def window_lines(lines: Iterable[str], start: datetime, end: datetime) -> Iterator[str]:
    """The lines of `lines` inside [start, end] per the rule in the module docstring."""
    keeping = False
    for line in lines:
        moment = line_time(line)
        if moment is not None:
            keeping = start <= moment <= end
        if keeping:
            yield line


def slice_log(service: str, source: Path, dest: Path, start: datetime, end: datetime) -> LogSlice:
    try:
        with source.open(encoding="utf-8", errors="replace") as src, dest.open("w", encoding="utf-8") as out:
            kept = 0
            for line in window_lines(src, start, end):
                out.write(line if line.endswith("\n") else line + "\n")
                kept += 1
    except OSError as err:
        dest.unlink(missing_ok=True)
        return LogSlice(service, dest, str(source), problem=f"cannot read {source}: {err.strerror or err}")
    return LogSlice(service, dest, str(source), kept=kept)


def collect_logs(logs: Mapping[str, str], logs_dir: Path, start: datetime, end: datetime) -> tuple[LogSlice, ...]:
    """Slice every service's log (service -> file path, as Endpoints.logs gives them) into `logs_dir`."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    return tuple(
        slice_log(service, Path(source), logs_dir / f"{service}.log", start, end)
        for service, source in sorted(logs.items())
    )
