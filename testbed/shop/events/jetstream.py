"""NATS JetStream transport: a relay publishes the outbox, durable pull consumers apply events.

The relay marks an outbox row published only after JetStream acknowledged it, and sets
Nats-Msg-Id to the event id so a re-published row is deduplicated by the server. Consumers
ack only after their transaction committed; the inbox makes redelivery harmless.
nats-py is asyncio-only, so each worker runs its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import StreamConfig, StorageType

from testbed.shop.events import Envelope
from testbed.shop.events.inbox import Handler, Inbox
from testbed.shop.events.outbox import Outbox
from testbed.shop.runtime.jsonlog import log
from testbed.shop.runtime.status import RpcError
from testbed.shop.runtime.storage import Database

STREAM_NAME = "SHOP_EVENTS"
SUBJECT_PREFIX = "shop.events"


def subject(stream: str, event_type: str) -> str:
    return f"{SUBJECT_PREFIX}.{stream}.{event_type}"


class _LoopThread:
    """Runs `body(stop)` in a private asyncio loop, retrying with backoff on connection errors."""

    def __init__(self, name: str, body: Callable[[asyncio.Event], Awaitable[None]], logger: logging.Logger) -> None:
        self._body = body
        self._logger = logger
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(5)

    def stop(self, timeout_s: float) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        backoff = 0.2
        while not self._stop.is_set():
            try:
                await self._body(self._stop)
                backoff = 0.2
            except (OSError, nats.errors.Error, asyncio.TimeoutError, RpcError) as err:  # RpcError: our datastore is down
                log(self._logger, logging.WARNING, "nats unavailable", error=str(err)[:200], retry_s=backoff)
                try:
                    await asyncio.wait_for(self._stop.wait(), backoff)
                except asyncio.TimeoutError:
                    pass
                backoff = min(backoff * 2, 2.0)


async def _connect(url: str) -> nats.NATS:
    return await nats.connect(url, connect_timeout=2, reconnect_time_wait=0.5, max_reconnect_attempts=-1, allow_reconnect=True)


async def ensure_stream(js: object) -> None:
    config = StreamConfig(name=STREAM_NAME, subjects=[f"{SUBJECT_PREFIX}.>"], storage=StorageType.FILE, duplicate_window=120.0)
    await js.add_stream(config)  # type: ignore[attr-defined]  # idempotent for an identical config


class JetStreamRelay:
    """Publishes unpublished outbox rows in sequence order."""

    def __init__(self, url: str, outbox: Outbox, logger: logging.Logger) -> None:
        self._url = url
        self._outbox = outbox
        self._logger = logger
        self._thread = _LoopThread("jetstream-relay", self._body, logger)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        self._thread.stop(timeout_s)

    async def _body(self, stop: asyncio.Event) -> None:
        nc = await _connect(self._url)
        try:
            js = nc.jetstream()
            await ensure_stream(js)
            while not stop.is_set():
                rows = await asyncio.to_thread(self._outbox.unpublished, 100)
                published: list[int] = []
                for seq, event_id, stream, event_type, payload in rows:
                    await js.publish(subject(stream, event_type), payload, headers={"Nats-Msg-Id": event_id, "Shop-Event-Type": event_type, "Shop-Event-Seq": str(seq)}, timeout=5)
                    published.append(seq)
                await asyncio.to_thread(self._outbox.mark_published, published)
                if not rows:
                    await asyncio.to_thread(self._outbox.wait, 0.5)
        finally:
            await nc.close()


class JetStreamConsumer:
    """A durable pull consumer named after the consuming service."""

    def __init__(self, *, url: str, durable: str, stream: str, db: Database, inbox: Inbox, handler: Handler, logger: logging.Logger) -> None:
        self._url = url
        self._durable = durable
        self._stream = stream
        self._db = db
        self._inbox = inbox
        self._handler = handler
        self._logger = logger
        self._thread = _LoopThread(f"jetstream-{durable}", self._body, logger)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        self._thread.stop(timeout_s)

    def _apply(self, env: Envelope) -> bool:
        with self._db.write() as conn:
            return self._inbox.apply_once(conn, env, self._handler)

    async def _body(self, stop: asyncio.Event) -> None:
        nc = await _connect(self._url)
        try:
            js = nc.jetstream()
            await ensure_stream(js)
            sub = await js.pull_subscribe(f"{SUBJECT_PREFIX}.{self._stream}.>", durable=self._durable, stream=STREAM_NAME)
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(50, timeout=1)
                except NatsTimeout:
                    continue
                for msg in msgs:
                    headers = msg.headers or {}
                    env = Envelope(
                        id=headers.get("Nats-Msg-Id", ""),
                        sequence=int(msg.metadata.sequence.stream),
                        stream=self._stream,
                        type=headers.get("Shop-Event-Type", msg.subject.rsplit(".", 1)[-1]),
                        payload=msg.data,
                    )
                    applied = await asyncio.to_thread(self._apply, env)
                    await msg.ack()
                    log(self._logger, logging.INFO, "event", event_id=env.id, type=env.type, sequence=env.sequence, applied=applied, transport="jetstream")
        finally:
            await nc.close()
