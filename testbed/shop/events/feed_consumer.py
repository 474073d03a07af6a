"""Consume a producer's EventFeed (embedded mode): long-poll, apply once, advance the cursor.

If the producer is down the consumer backs off and retries; if the consumer was down, it
resumes from its stored cursor, so nothing acknowledged to a client is lost. The consuming
thread owns the gRPC channel to the producer and closes it when it ends: closing it while the
thread may still use it is not safe in grpcio (a call on a closed channel can crash the process).
"""

from __future__ import annotations

import logging
import threading

import grpc

from testbed.shop.events import Envelope
from testbed.shop.events.inbox import Handler, Inbox
from testbed.shop.runtime.clients import open_channel
from testbed.shop.runtime.jsonlog import log
from testbed.shop.runtime.status import RpcError
from testbed.shop.runtime.storage import Database
from testbed.shop.v1 import events_pb2, events_pb2_grpc

LONG_POLL_MS = 5000


class FeedConsumer:
    def __init__(self, *, producer_address: str, stream: str, db: Database, inbox: Inbox, handler: Handler, logger: logging.Logger) -> None:
        self._channel = open_channel(producer_address, default_deadline_s=LONG_POLL_MS / 1000 + 5)
        self._stub = events_pb2_grpc.EventFeedStub(self._channel)
        self._stream = stream
        self._db = db
        self._inbox = inbox
        self._handler = handler
        self._logger = logger
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"consume-{stream}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Stop consuming; the channel is closed by the thread as it ends (or here, if it never started)."""
        self._stop.set()
        if self._thread.ident is None:
            self._channel.close()
            return
        self._thread.join(timeout_s)

    def _fetch(self, after: int) -> list[events_pb2.Event] | None:
        """One long poll; None if stopping."""
        request = events_pb2.FetchRequest(stream=self._stream, after_sequence=after, max_events=100, wait_ms=LONG_POLL_MS)
        future = self._stub.Fetch.future(request)
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        while not done.wait(0.1):
            if self._stop.is_set():
                future.cancel()
                return None
        return list(future.result().events)

    def _loop(self) -> None:
        try:
            self._consume()
        finally:
            self._channel.close()

    def _consume(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                with self._db.read() as conn:
                    after = self._inbox.cursor(conn, self._stream)
                events = self._fetch(after)
                if events is None:
                    return
                for ev in events:
                    env = Envelope(id=ev.id, sequence=ev.sequence, stream=self._stream, type=ev.type, payload=ev.payload)
                    with self._db.write() as conn:
                        applied = self._inbox.apply_once(conn, env, self._handler)
                        self._inbox.advance(conn, self._stream, ev.sequence)
                    log(self._logger, logging.INFO, "event", event_id=ev.id, type=ev.type, sequence=ev.sequence, applied=applied)
                backoff = 0.1
            except (grpc.RpcError, grpc.FutureCancelledError, RpcError) as err:
                log(self._logger, logging.WARNING, "event feed unavailable", stream=self._stream, error=str(err)[:200], retry_s=backoff)
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, 2.0)
