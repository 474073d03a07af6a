"""Where carts live: SQL by default, Redis when configured, behind one small interface.

A cart is a set of lines (product id -> quantity) plus a checkout generation. The
generation only changes in `settle`, which removes what an order bought and increments it
atomically, and only if it still has the value the order was created under. That
compare-and-increment is what keeps cart.Commit from ever placing a double order.

Each operation is atomic on its own: one transaction in SQL (conditional UPDATEs, so it is
also safe under PostgreSQL's READ COMMITTED), one Lua script in Redis. The redis client is
imported only here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import BigInteger, Column, Integer, MetaData, PrimaryKeyConstraint, String, Table, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from testbed.errors import ConfigError
from testbed.shop.runtime.status import FailedPrecondition, Unavailable
from testbed.shop.runtime.storage import Database

MAX_LINE_QUANTITY = 1000
MAX_LINES = 100


@dataclass(frozen=True)
class CartState:
    items: dict[str, int] = field(default_factory=dict)  # product id -> quantity, sorted by product id
    generation: int = 0


class CartStore(Protocol):
    def get(self, user_id: str) -> CartState: ...

    def add(self, user_id: str, product_id: str, quantity: int) -> CartState:
        """Add to a line, capping the line at MAX_LINE_QUANTITY; a new line beyond MAX_LINES is refused."""

    def remove(self, user_id: str, product_id: str, quantity: int) -> CartState:
        """Take `quantity` off a line (0: the whole line); a line reaching 0 goes; absent lines are a no-op."""

    def settle(self, user_id: str, generation: int, ordered: Mapping[str, int]) -> bool:
        """If the generation is still `generation`: take the ordered quantities off and increment it. True if done."""

    def close(self) -> None: ...


def _full() -> FailedPrecondition:
    return FailedPrecondition(f"the cart is full: at most {MAX_LINES} different products")


metadata = MetaData()
cart_items = Table(
    "cart_items",
    metadata,
    Column("user_id", String(32), nullable=False),
    Column("product_id", String(32), nullable=False),
    Column("quantity", Integer, nullable=False),
    PrimaryKeyConstraint("user_id", "product_id"),
)
cart_generations = Table(
    "cart_generations",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("generation", BigInteger, nullable=False),
)


class SqlCartStore:
    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    def get(self, user_id: str) -> CartState:
        with self._db.read() as conn:
            return self._state(conn, user_id)

    @staticmethod
    def _state(conn: Any, user_id: str) -> CartState:
        # Generation first: under READ COMMITTED a settle may land between the two reads, and
        # old generation + newer lines is harmless (the old key returns the existing order),
        # whereas old lines + newer generation would order the settled lines a second time.
        gen = conn.execute(select(cart_generations.c.generation).where(cart_generations.c.user_id == user_id)).scalar()
        rows = conn.execute(select(cart_items.c.product_id, cart_items.c.quantity).where(cart_items.c.user_id == user_id).order_by(cart_items.c.product_id)).all()
        return CartState(items={r.product_id: r.quantity for r in rows}, generation=int(gen or 0))

    def add(self, user_id: str, product_id: str, quantity: int) -> CartState:
        for _attempt in range(3):
            try:
                return self._add_once(user_id, product_id, quantity)
            except IntegrityError:
                continue  # a concurrent add inserted the same line first; now it exists, so update it
        raise Unavailable("cart store contention; retry")

    def _add_once(self, user_id: str, product_id: str, quantity: int) -> CartState:
        t = cart_items
        line = (t.c.user_id == user_id) & (t.c.product_id == product_id)
        grown = case((t.c.quantity + quantity > MAX_LINE_QUANTITY, MAX_LINE_QUANTITY), else_=t.c.quantity + quantity)
        with self._db.write() as conn:
            if conn.execute(update(t).where(line).values(quantity=grown)).rowcount == 0:
                lines = conn.execute(select(func.count()).select_from(t).where(t.c.user_id == user_id)).scalar_one()
                if lines >= MAX_LINES:
                    raise _full()
                conn.execute(insert(t).values(user_id=user_id, product_id=product_id, quantity=min(quantity, MAX_LINE_QUANTITY)))
            return self._state(conn, user_id)

    def remove(self, user_id: str, product_id: str, quantity: int) -> CartState:
        t = cart_items
        line = (t.c.user_id == user_id) & (t.c.product_id == product_id)
        with self._db.write() as conn:
            if quantity == 0:
                conn.execute(delete(t).where(line))
            else:
                conn.execute(update(t).where(line).values(quantity=t.c.quantity - quantity))
                conn.execute(delete(t).where(line & (t.c.quantity <= 0)))
            return self._state(conn, user_id)

    def settle(self, user_id: str, generation: int, ordered: Mapping[str, int]) -> bool:
        g, t = cart_generations, cart_items
        try:
            with self._db.write() as conn:
                if generation == 0:
                    exists = conn.execute(select(g.c.generation).where(g.c.user_id == user_id)).first()
                    if exists is not None:
                        return False
                    conn.execute(insert(g).values(user_id=user_id, generation=1))  # a racing settle fails on the key
                elif conn.execute(update(g).where((g.c.user_id == user_id) & (g.c.generation == generation)).values(generation=generation + 1)).rowcount == 0:
                    return False
                for product_id, quantity in ordered.items():
                    line = (t.c.user_id == user_id) & (t.c.product_id == product_id)
                    conn.execute(update(t).where(line).values(quantity=t.c.quantity - quantity))
                    conn.execute(delete(t).where(line & (t.c.quantity <= 0)))
                return True
        except IntegrityError:
            return False

    def close(self) -> None:
        self._db.close()


# Redis layout: cart:{<user>}:items is a hash product id -> quantity, cart:{<user>}:gen the
# generation. The braces are a hash tag, so both keys of a user share a Redis Cluster slot.
_ADD = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
  cur = 0
end
local n = math.min(tonumber(cur) + tonumber(ARGV[2]), tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], ARGV[1], n)
return n
"""
_REMOVE = """
if tonumber(ARGV[2]) == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
elseif redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2])) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
end
return 1
"""
_SETTLE = """
local gen = tonumber(redis.call('GET', KEYS[2]) or '0')
if gen ~= tonumber(ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    if redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1])) <= 0 then redis.call('HDEL', KEYS[1], ARGV[i]) end
  end
end
redis.call('INCR', KEYS[2])
return 1
"""


class RedisCartStore:
    def __init__(self, url: str) -> None:
        import redis

        self._errors: tuple[type[Exception], ...] = (redis.exceptions.RedisError,)
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=15, decode_responses=True)
        self._add = self._client.register_script(_ADD)
        self._remove = self._client.register_script(_REMOVE)
        self._settle = self._client.register_script(_SETTLE)

    @staticmethod
    def _keys(user_id: str) -> list[str]:
        return [f"cart:{{{user_id}}}:items", f"cart:{{{user_id}}}:gen"]

    def _unavailable(self, err: Exception) -> Unavailable:
        return Unavailable(f"cart store unavailable: {type(err).__name__}: {err}")

    def get(self, user_id: str) -> CartState:
        items_key, gen_key = self._keys(user_id)
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.hgetall(items_key)
            pipe.get(gen_key)
            items, gen = pipe.execute()
        except self._errors as err:
            raise self._unavailable(err) from None
        return CartState(items={k: int(v) for k, v in sorted(items.items())}, generation=int(gen or 0))

    def add(self, user_id: str, product_id: str, quantity: int) -> CartState:
        try:
            result = self._add(keys=self._keys(user_id)[:1], args=[product_id, quantity, MAX_LINE_QUANTITY, MAX_LINES])
        except self._errors as err:
            raise self._unavailable(err) from None
        if int(result) < 0:
            raise _full()
        return self.get(user_id)

    def remove(self, user_id: str, product_id: str, quantity: int) -> CartState:
        try:
            self._remove(keys=self._keys(user_id)[:1], args=[product_id, quantity])
        except self._errors as err:
            raise self._unavailable(err) from None
        return self.get(user_id)

    def settle(self, user_id: str, generation: int, ordered: Mapping[str, int]) -> bool:
        args: list[object] = [generation]
        for product_id, quantity in ordered.items():
            args += [product_id, quantity]
        try:
            return int(self._settle(keys=self._keys(user_id), args=args)) == 1
        except self._errors as err:
            raise self._unavailable(err) from None

    def close(self) -> None:
        self._client.close()


def open_store(*, redis_url: str | None, sql_url: str) -> CartStore:
    """The Redis store when `redis_url` is set, else the SQL one. Connections are made lazily."""
    if not redis_url:
        return SqlCartStore(sql_url)
    try:
        return RedisCartStore(redis_url)
    except ValueError as err:  # redis-py's answer to a malformed URL
        raise ConfigError(f"{err}", source="cart settings", field="redis_url") from None
