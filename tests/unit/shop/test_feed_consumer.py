"""FeedConsumer.stop ends its loop and closes its channel to the producer."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import MetaData

from testbed.shop.events.feed_consumer import FeedConsumer
from testbed.shop.events.inbox import Inbox, inbox_tables
from testbed.shop.runtime.storage import Database

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


def test_stop_ends_the_loop_and_closes_the_channel(tmp_path: Path) -> None:
    closed: list[bool] = []
    consumer, db = _consumer(tmp_path, closed)
    try:
        consumer.start()
        time.sleep(0.3)  # a long poll (to a producer that is down) is under way
        consumer.stop(5.0)
        assert not consumer._thread.is_alive()
        assert closed == [True]
    finally:
        db.close()


def test_stop_without_start_still_closes_the_channel(tmp_path: Path) -> None:
    closed: list[bool] = []
    consumer, db = _consumer(tmp_path, closed)
    consumer.stop(1.0)
    assert closed == [True]
    db.close()
