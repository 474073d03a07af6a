"""The producer side: the outbox table, appending to it, and serving it as a feed."""

from __future__ import annotations

import threading
import time
import uuid

import grpc
from sqlalchemy import Column, Connection, Float, Integer, LargeBinary, MetaData, String, Table, func, insert, select, text

from testbed.shop.runtime.status import InvalidArgument
from testbed.shop.runtime.storage import Database
from testbed.shop.v1 import events_pb2, events_pb2_grpc

MAX_WAIT_MS = 10_000
MAX_BATCH = 500


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("id", String(64), nullable=False, unique=True),
        Column("stream", String(64), nullable=False, index=True),
        Column("type", String(64), nullable=False),
        Column("occurred_at", Float, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("published", Integer, nullable=False, server_default="0", index=True),
    )


class Outbox:
    """Append events inside the caller's transaction; wake feed readers after commit."""

    def __init__(self, db: Database, table: Table) -> None:
        self.db = db
        self.table = table
        self._changed = threading.Condition()

    def append(self, conn: Connection, stream: str, event_type: str, payload: bytes) -> str:
        if not self.db.is_sqlite:
            # Serialise outbox writers so sequence order equals commit order: a reader that
            # has seen seq N can never later find a smaller one committed.
            conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        event_id = uuid.uuid4().hex
        conn.execute(insert(self.table).values(id=event_id, stream=stream, type=event_type, occurred_at=time.time(), payload=payload))
        return event_id

    def notify(self) -> None:
        """Call after the appending transaction committed."""
        with self._changed:
            self._changed.notify_all()

    def wait(self, timeout_s: float) -> None:
        with self._changed:
            self._changed.wait(timeout_s)

    def fetch(self, stream: str, after: int, limit: int) -> list[events_pb2.Event]:
        t = self.table
        with self.db.read() as conn:
            rows = conn.execute(select(t).where(t.c.stream == stream, t.c.seq > after).order_by(t.c.seq).limit(limit)).all()
        events = []
        for row in rows:
            ev = events_pb2.Event(id=row.id, sequence=row.seq, type=row.type, payload=row.payload)
            ev.occurred_at.FromNanoseconds(int(row.occurred_at * 1e9))
            events.append(ev)
        return events

    def unpublished(self, limit: int) -> list[tuple[int, str, str, str, bytes]]:
        t = self.table
        with self.db.read() as conn:
            rows = conn.execute(select(t.c.seq, t.c.id, t.c.stream, t.c.type, t.c.payload).where(t.c.published == 0).order_by(t.c.seq).limit(limit)).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def mark_published(self, seqs: list[int]) -> None:
        if seqs:
            with self.db.write() as conn:
                conn.execute(self.table.update().where(self.table.c.seq.in_(seqs)).values(published=1))

    def pending_count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(self.table).where(self.table.c.published == 0)).scalar_one())


class EventFeedServicer(events_pb2_grpc.EventFeedServicer):
    def __init__(self, outbox: Outbox, streams: tuple[str, ...]) -> None:
        self._outbox = outbox
        self._streams = streams

    def Fetch(self, request: events_pb2.FetchRequest, context: grpc.ServicerContext) -> events_pb2.FetchResponse:
        if request.stream not in self._streams:
            raise InvalidArgument("stream", f"unknown stream {request.stream!r}; this service serves {', '.join(self._streams)}")
        if request.after_sequence < 0:
            raise InvalidArgument("after_sequence", "must be >= 0")
        if not 0 <= request.max_events <= MAX_BATCH:
            raise InvalidArgument("max_events", f"must be between 0 and {MAX_BATCH}")
        if request.wait_ms < 0:
            raise InvalidArgument("wait_ms", "must be >= 0")
        limit = request.max_events or 100
        deadline = time.monotonic() + min(request.wait_ms, MAX_WAIT_MS) / 1000
        while True:
            events = self._outbox.fetch(request.stream, request.after_sequence, limit)
            remaining = deadline - time.monotonic()
            if events or remaining <= 0 or not context.is_active():
                return events_pb2.FetchResponse(events=events)
            self._outbox.wait(min(remaining, 1.0))
