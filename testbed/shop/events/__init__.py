"""OrderPlaced and friends: at-least-once delivery from a transactional outbox to idempotent consumers.

The producer writes each event into its own `outbox` table in the same transaction as the
state change, so an acknowledged order always has its event. Consumers apply an event and
record its id (inbox) in one transaction of their own store, so redelivery never applies it
twice. Transport: the producer's EventFeed RPC (embedded default) or NATS JetStream.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Envelope:
    id: str
    sequence: int
    stream: str
    type: str
    payload: bytes
