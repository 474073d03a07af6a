"""The rate service: one 1-5 star rating per user and product, and each product's average.

Re-rating replaces the stars. Text sent with a rating is posted as a comment on the product
through the comment service, as the caller (their token travels with the call), and the
rating keeps the id of the newest such comment. A re-rate without text, or with the same
text as the comment it already points at, posts nothing and keeps that comment.

The comment is posted before the rating is stored, so a failure in between never leaves a
rating pointing at a comment that does not exist. The post carries an idempotency key derived
from what it changes (product, the comment the rating points at now, the new text; the comment
service scopes it to the caller), so when the rating write fails after the comment was created,
or a reply is lost, the retried RateProduct gets that same comment back instead of a second one.
"""

from __future__ import annotations

import hashlib
import time

import grpc
from sqlalchemy import Column, ColumnElement, Connection, Float, Integer, MetaData, String, Table, UniqueConstraint, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from testbed.shop.runtime import validate
from testbed.shop.runtime.auth import Authenticator
from testbed.shop.runtime.deps import Toolkit
from testbed.shop.runtime.server import ServiceDefinition, serve
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.runtime.status import DependencyError, InvalidArgument
from testbed.shop.runtime.storage import Database
from testbed.shop.v1 import comment_pb2, comment_pb2_grpc, product_pb2, product_pb2_grpc, rate_pb2, rate_pb2_grpc

MIN_STARS = 1
MAX_STARS = 5
MAX_COMMENT = 2000  # the comment service's body limit

metadata = MetaData()
ratings = Table(
    "ratings",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # first-rated order: stable pages
    Column("product_id", String(32), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("stars", Integer, nullable=False),
    Column("comment_id", String(32), nullable=False),  # "" when the user never sent text
    Column("comment_digest", String(64), nullable=False),  # sha256 of that comment's text
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("product_id", "user_id", name="uq_ratings_product_user"),
)


def _comment_text(value: str) -> str:
    """The optional comment: empty means none; otherwise what a comment body allows."""
    if not value:
        return ""
    if not value.strip():
        raise InvalidArgument("comment", "must not be only whitespace (leave it empty for no comment)")
    return validate.text("comment", value, max_len=MAX_COMMENT, single_line=False)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _mine(product_id: str, user_id: str) -> ColumnElement[bool]:
    return (ratings.c.product_id == product_id) & (ratings.c.user_id == user_id)


def current_comment(conn: Connection, product_id: str, user_id: str) -> tuple[str, str]:
    """(id, text digest) of the comment the user's rating points at; ("", "") if none."""
    row = conn.execute(select(ratings.c.comment_id, ratings.c.comment_digest).where(_mine(product_id, user_id))).first()
    return (str(row.comment_id), str(row.comment_digest)) if row is not None else ("", "")


def comment_key(product_id: str, previous_comment_id: str, text: str) -> str:
    """The idempotency key of posting `text` over `previous_comment_id`: the same on a retry,
    new once the rating has moved on (so A, then B, then A again posts three comments)."""
    return f"rate:{product_id}:{previous_comment_id or '-'}:{digest(text)}"


def store_rating(conn: Connection, product_id: str, user_id: str, stars: int, comment_id: str = "", comment_text: str = "") -> None:
    """Insert or replace the user's rating of the product; an empty comment_id keeps the old comment."""
    changes: dict[str, object] = {"stars": stars, "updated_at": time.time()}
    if comment_id:
        changes.update(comment_id=comment_id, comment_digest=digest(comment_text))
    mine = _mine(product_id, user_id)
    if conn.execute(update(ratings).where(mine).values(**changes)).rowcount:
        return
    changes.setdefault("comment_id", "")
    changes.setdefault("comment_digest", "")
    try:
        with conn.begin_nested():  # a concurrent first rating may win the insert; then ours replaces it
            conn.execute(insert(ratings).values(product_id=product_id, user_id=user_id, **changes))
    except IntegrityError:
        conn.execute(update(ratings).where(mine).values(**changes))


def product_rating(conn: Connection, product_id: str) -> rate_pb2.ProductRating:
    average, count = conn.execute(select(func.avg(ratings.c.stars), func.count()).where(ratings.c.product_id == product_id)).one()
    return rate_pb2.ProductRating(product_id=product_id, average=float(average or 0.0), count=int(count))


def _to_proto(row: object) -> rate_pb2.Rating:
    msg = rate_pb2.Rating(product_id=row.product_id, user_id=row.user_id, stars=row.stars, comment_id=row.comment_id)  # type: ignore[attr-defined]
    msg.updated_at.FromNanoseconds(int(row.updated_at * 1e9))  # type: ignore[attr-defined]
    return msg


class RateServicer(rate_pb2_grpc.RateServiceServicer):
    def __init__(self, db: Database, auth: Authenticator, products: product_pb2_grpc.ProductServiceStub, comments: comment_pb2_grpc.CommentServiceStub) -> None:
        self._db = db
        self._auth = auth
        self._products = products
        self._comments = comments

    def _require_product(self, product_id: str) -> None:
        try:
            self._products.GetProduct(product_pb2.GetProductRequest(id=product_id))
        except grpc.RpcError as err:
            raise DependencyError("product", err) from None

    def _post_comment(self, product_id: str, text: str, key: str) -> str:
        request = comment_pb2.CreateCommentRequest(product_id=product_id, body=text, idempotency_key=key)
        try:
            return str(self._comments.CreateComment(request).id)
        except grpc.RpcError as err:
            raise DependencyError("comment", err) from None

    def RateProduct(self, request: rate_pb2.RateProductRequest, context: grpc.ServicerContext) -> rate_pb2.Rating:
        product_id = validate.ident("product_id", request.product_id)
        stars = validate.int_range("stars", request.stars, MIN_STARS, MAX_STARS)
        text = _comment_text(request.comment)
        who = self._auth.principal()
        self._require_product(product_id)
        comment_id = ""
        if text:
            with self._db.read() as conn:
                previous_id, previous_digest = current_comment(conn, product_id, who.user_id)
            if previous_digest != digest(text):
                comment_id = self._post_comment(product_id, text, comment_key(product_id, previous_id, text))
        with self._db.write() as conn:
            store_rating(conn, product_id, who.user_id, stars, comment_id, text)
            row = conn.execute(select(ratings).where(_mine(product_id, who.user_id))).one()
        return _to_proto(row)

    def GetProductRating(self, request: rate_pb2.GetProductRatingRequest, context: grpc.ServicerContext) -> rate_pb2.ProductRating:
        product_id = validate.ident("product_id", request.product_id)
        with self._db.read() as conn:
            return product_rating(conn, product_id)

    def ListRatings(self, request: rate_pb2.ListRatingsRequest, context: grpc.ServicerContext) -> rate_pb2.ListRatingsResponse:
        product_id = validate.ident("product_id", request.product_id)
        limit, offset = validate.page("page_size", request.page_size, "page_token", request.page_token)
        query = select(ratings).where(ratings.c.product_id == product_id).order_by(ratings.c.seq).limit(limit + 1).offset(offset)
        with self._db.read() as conn:
            rows, token = validate.page_of(conn.execute(query).all(), offset, limit)
        return rate_pb2.ListRatingsResponse(ratings=[_to_proto(r) for r in rows], next_page_token=token)


def build(settings: ServiceSettings) -> ServiceDefinition:
    kit = Toolkit(settings)
    db = Database(settings.sql_url(), metadata)
    servicer = RateServicer(
        db, kit.authenticator(),
        product_pb2_grpc.ProductServiceStub(kit.channel("product")),
        comment_pb2_grpc.CommentServiceStub(kit.channel("comment")),
    )

    def stop() -> None:
        kit.close()
        db.close()

    return ServiceDefinition(
        register=lambda server: rate_pb2_grpc.add_RateServiceServicer_to_server(servicer, server),
        service_names=[rate_pb2.DESCRIPTOR.services_by_name["RateService"].full_name],
        on_stop=stop,
    )


def run(settings: ServiceSettings) -> int:
    return serve(settings, build)
