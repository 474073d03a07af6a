"""Each service's own SQL store: SQLite file by default, PostgreSQL by URL.

SQLite runs in WAL mode with a busy timeout; write transactions take the write lock up
front (BEGIN IMMEDIATE) so concurrent writers queue instead of failing on lock upgrade.
Tables are created at start; creation is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from testbed.shop.runtime.status import Unavailable


class Database:
    def __init__(self, url: str, metadata: MetaData) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = self._make_engine(url)
        metadata.create_all(self.engine)

    def _make_engine(self, url: str) -> Engine:
        if not self.is_sqlite:
            return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
        path = url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=QueuePool, pool_size=16, max_overflow=16, connect_args={"check_same_thread": False, "timeout": 10})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

        return engine

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
                conn.rollback()
        except OperationalError as err:
            raise Unavailable(f"datastore unavailable: {err.orig}") from None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits on success and rolls back on any exception."""
        try:
            with self.engine.connect().execution_options(write=True) as conn:
                with conn.begin():
                    yield conn
        except OperationalError as err:
            raise Unavailable(f"datastore unavailable: {err.orig}") from None

    def close(self) -> None:
        self.engine.dispose()
