"""Choose the event transport from settings: JetStream when nats_url is set, else the feed."""

from __future__ import annotations

import logging

from testbed.shop.events.feed_consumer import FeedConsumer
from testbed.shop.events.inbox import Handler, Inbox
from testbed.shop.events.outbox import Outbox
from testbed.shop.runtime.server import BackgroundWorker
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.runtime.storage import Database


def producer_workers(settings: ServiceSettings, outbox: Outbox, logger: logging.Logger) -> list[BackgroundWorker]:
    if settings.nats_url:
        from testbed.shop.events.jetstream import JetStreamRelay

        return [JetStreamRelay(settings.nats_url, outbox, logger)]
    return []


def consumer_worker(settings: ServiceSettings, *, producer: str, stream: str, db: Database, inbox: Inbox, handler: Handler, logger: logging.Logger) -> BackgroundWorker:
    if settings.nats_url:
        from testbed.shop.events.jetstream import JetStreamConsumer

        return JetStreamConsumer(url=settings.nats_url, durable=settings.service, stream=stream, db=db, inbox=inbox, handler=handler, logger=logger)
    return FeedConsumer(producer_address=settings.dep(producer), stream=stream, db=db, inbox=inbox, handler=handler, logger=logger)
