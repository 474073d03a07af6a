"""The consumer side's bookkeeping: processed event ids and per-stream cursors.

Both live in the consumer's own store and are written in the same transaction as the
event's effect, which is what makes a redelivered event a no-op.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, insert, select, update

from testbed.shop.events import Envelope

Handler = Callable[[Connection, Envelope], None]


def inbox_tables(metadata: MetaData) -> tuple[Table, Table]:
    inbox = Table("inbox", metadata, Column("event_id", String(64), primary_key=True), Column("stream", String(64), nullable=False))
    cursors = Table("consumer_cursor", metadata, Column("stream", String(64), primary_key=True), Column("sequence", Integer, nullable=False))
    return inbox, cursors


class Inbox:
    def __init__(self, inbox: Table, cursors: Table) -> None:
        self.inbox = inbox
        self.cursors = cursors

    def apply_once(self, conn: Connection, event: Envelope, handler: Handler) -> bool:
        """Run `handler` unless this event id was applied before; True if it ran."""
        seen = conn.execute(select(self.inbox.c.event_id).where(self.inbox.c.event_id == event.id)).first()
        if seen is not None:
            return False
        handler(conn, event)
        conn.execute(insert(self.inbox).values(event_id=event.id, stream=event.stream))
        return True

    def cursor(self, conn: Connection, stream: str) -> int:
        row = conn.execute(select(self.cursors.c.sequence).where(self.cursors.c.stream == stream)).first()
        return int(row[0]) if row else 0

    def advance(self, conn: Connection, stream: str, sequence: int) -> None:
        done = conn.execute(update(self.cursors).where(self.cursors.c.stream == stream).values(sequence=sequence))
        if done.rowcount == 0:
            conn.execute(insert(self.cursors).values(stream=stream, sequence=sequence))
