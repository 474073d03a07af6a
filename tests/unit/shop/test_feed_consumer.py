"""FeedConsumer.stop ends its loop, cancelling a long poll in flight, and closes its channel to the producer."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest
from sqlalchemy import MetaData

from testbed.shop.events.feed_consumer import FeedConsumer
from testbed.shop.events.inbox import Inbox, inbox_tables
from testbed.shop.runtime.storage import Database
from testbed.shop.v1 import events_pb2

pytestmark = pytest.mark.unit


def _consumer(tmp_path: Path, closed: list[bool]) -> tuple[FeedConsumer, Database]:
    metadata = MetaData()
    inbox = Inbox(*inbox_tables(metadata))
    db = Database(f"sqlite:///{tmp_path / 'c.db'}", metadata)
    consumer = FeedConsumer(producer_address=_unused_address(), stream="orders", db=db, inbox=inbox,
                            handler=lambda conn, event: None, logger=logging.getLogger("test-feed"))
    close = consumer._channel.close

    def spy() -> None:
        closed.append(True)
        close()

    consumer._channel.close = spy  # type: ignore[method-assign]
    return consumer, db


def _unused_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


class _PendingPoll:
    """A long poll that never answers on its own: done (cancelled) only when cancel() is called."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self._callbacks: list[Callable[[_PendingPoll], None]] = []

    def add_done_callback(self, callback: Callable[[_PendingPoll], None]) -> None:
        self._callbacks.append(callback)

    def cancel(self) -> bool:
        self.cancelled.set()
        for callback in self._callbacks:
            callback(self)
        return True

    def result(self) -> None:
        raise grpc.FutureCancelledError()


class _Fetch:
    """Stands in for the stub's Fetch: each poll is a _PendingPoll, and `polling` is set once one is under way."""

    def __init__(self) -> None:
        self.polling = threading.Event()
        self.polls: list[_PendingPoll] = []

    def future(self, request: events_pb2.FetchRequest) -> _PendingPoll:
        poll = _PendingPoll()
        self.polls.append(poll)
        self.polling.set()
        return poll


def test_stop_ends_the_loop_and_closes_the_channel(tmp_path: Path) -> None:
    closed: list[bool] = []
    consumer, db = _consumer(tmp_path, closed)
    fetch = _Fetch()
    consumer._stub = SimpleNamespace(Fetch=fetch)  # type: ignore[assignment]
    try:
        consumer.start()
        assert fetch.polling.wait(10.0), "the consumer never started a long poll"
        consumer.stop(5.0)
        assert not consumer._thread.is_alive()
        assert [poll.cancelled.is_set() for poll in fetch.polls] == [True], "stop cancelled the poll in flight"
        assert closed == [True]
    finally:
        db.close()


def test_stop_without_start_still_closes_the_channel(tmp_path: Path) -> None:
    closed: list[bool] = []
    consumer, db = _consumer(tmp_path, closed)
    consumer.stop(1.0)
    assert closed == [True]
    db.close()
