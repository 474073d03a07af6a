"""Reading OrderPlaced events on the consumer side, for every service that reacts to orders.

An event that cannot be applied is logged and reported as None, and the caller treats it as
applied, so one bad event never blocks the stream: an unknown type, a payload that does not
parse, ids empty or longer than the consumers' columns, a negative total.
"""

from __future__ import annotations

import logging

from google.protobuf.message import DecodeError

from testbed.shop.events import Envelope
from testbed.shop.runtime.jsonlog import log
from testbed.shop.v1 import events_pb2

STREAM = "orders"
TYPE = "OrderPlaced"
MAX_ID_LEN = 64


def decode(event: Envelope, logger: logging.Logger) -> events_pb2.OrderPlaced | None:
    if event.type != TYPE:
        log(logger, logging.WARNING, "unknown event type ignored", event_id=event.id, type=event.type)
        return None
    placed = events_pb2.OrderPlaced()
    try:
        placed.ParseFromString(event.payload)
    except DecodeError as err:
        log(logger, logging.ERROR, "malformed OrderPlaced payload skipped", event_id=event.id, error=str(err))
        return None
    if not all(0 < len(value) <= MAX_ID_LEN for value in (placed.order_id, placed.user_id)) or placed.total_cents < 0:
        log(logger, logging.ERROR, "invalid OrderPlaced skipped", event_id=event.id, order_id=placed.order_id[:100],
            user_id=placed.user_id[:100], total_cents=placed.total_cents)
        return None
    return placed
