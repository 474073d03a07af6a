"""The comment service: threaded comments on products.

Reads are public. Writing needs a token (the author is the caller) and a product the product
service knows. Replies stay within their parent's product and within MAX_DEPTH levels; each
comment counts its direct replies. Deleting is soft, so a thread keeps its shape: the comment
stays with its body removed, and deleting again is a no-op.

Idempotency: a CreateComment with an idempotency_key is stored with it, unique per author. A
key creates at most one comment: the author's repeat of it creates nothing and answers with
the comment the key created *as it is now*, whatever body or parent the repeat carries (the
rate service relies on this to retry without posting twice). If that comment was deleted in
the meantime the answer says so (deleted=True, body empty): a retry neither resurrects it nor
posts a replacement, and the caller sees the deletion instead of a comment that looks live.
The key table is separate from `comments`, so a database created before keys existed still works.
"""

from __future__ import annotations

import time
import uuid

import grpc
from google.protobuf import empty_pb2
from sqlalchemy import Boolean, Column, Connection, Float, Index, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError

from testbed.shop.runtime import validate
from testbed.shop.runtime.auth import Authenticator
from testbed.shop.runtime.deps import Toolkit
from testbed.shop.runtime.server import ServiceDefinition, serve
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.runtime.status import DependencyError, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from testbed.shop.runtime.storage import Database
from testbed.shop.v1 import comment_pb2, comment_pb2_grpc, product_pb2, product_pb2_grpc

MAX_BODY = 2000
# Levels a thread may have: a top-level comment is level 1, a reply to it level 2, ...
MAX_DEPTH = 8
MAX_KEY = 200

metadata = MetaData()
comments = Table(
    "comments",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # creation order, for "oldest first"
    Column("id", String(32), nullable=False, unique=True),
    Column("product_id", String(32), nullable=False),
    Column("parent_id", String(32), nullable=False),  # "" for a top-level comment
    Column("author_id", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("reply_count", Integer, nullable=False),
    Column("depth", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_comments_thread", "product_id", "parent_id", "seq"),
)
comment_keys = Table(
    "comment_idempotency_keys",
    metadata,
    Column("author_id", String(64), primary_key=True),
    Column("idempotency_key", String(MAX_KEY), primary_key=True),
    Column("comment_id", String(32), nullable=False),
)


def idempotency_key(value: str) -> str:
    """Optional: "" means none; otherwise 1 to MAX_KEY printable characters."""
    if value and (len(value) > MAX_KEY or not value.isprintable()):
        raise InvalidArgument("idempotency_key", f"must be 1 to {MAX_KEY} printable characters")
    return value


def check_reply(parent: object | None, parent_id: str, product_id: str) -> int:
    """The depth of a new comment under `parent` (the row of `parent_id`, or None if absent)."""
    if not parent_id:
        return 1
    if parent is None:
        raise NotFound(f"parent_id: comment {parent_id} not found")
    if parent.product_id != product_id:  # type: ignore[attr-defined]
        raise InvalidArgument("parent_id", f"comment {parent_id} belongs to another product")
    if parent.deleted:  # type: ignore[attr-defined]
        raise FailedPrecondition(f"parent_id: comment {parent_id} was deleted; it takes no new replies")
    depth = int(parent.depth) + 1  # type: ignore[attr-defined]
    if depth > MAX_DEPTH:
        raise FailedPrecondition(f"parent_id: threads are limited to {MAX_DEPTH} levels; reply higher up the thread")
    return depth


def _to_proto(row: object) -> comment_pb2.Comment:
    msg = comment_pb2.Comment(
        id=row.id, product_id=row.product_id, parent_id=row.parent_id, author_id=row.author_id,  # type: ignore[attr-defined]
        body=row.body, deleted=row.deleted, reply_count=row.reply_count,  # type: ignore[attr-defined]
    )
    msg.created_at.FromNanoseconds(int(row.created_at * 1e9))  # type: ignore[attr-defined]
    return msg


def _load(conn: Connection, comment_id: str) -> object | None:
    return conn.execute(select(comments).where(comments.c.id == comment_id)).first()


class CommentServicer(comment_pb2_grpc.CommentServiceServicer):
    def __init__(self, db: Database, auth: Authenticator, products: product_pb2_grpc.ProductServiceStub) -> None:
        self._db = db
        self._auth = auth
        self._products = products

    def _require_product(self, product_id: str) -> None:
        try:
            self._products.GetProduct(product_pb2.GetProductRequest(id=product_id))
        except grpc.RpcError as err:
            raise DependencyError("product", err) from None

    def CreateComment(self, request: comment_pb2.CreateCommentRequest, context: grpc.ServicerContext) -> comment_pb2.Comment:
        product_id = validate.ident("product_id", request.product_id)
        parent_id = validate.optional_ident("parent_id", request.parent_id)
        body = validate.text("body", request.body, max_len=MAX_BODY, single_line=False)
        key = idempotency_key(request.idempotency_key)
        author = self._auth.principal()
        if key and (existing := self._by_key(author.user_id, key)) is not None:
            return existing
        self._require_product(product_id)
        row = {
            "id": uuid.uuid4().hex, "product_id": product_id, "parent_id": parent_id, "author_id": author.user_id,
            "body": body, "deleted": False, "reply_count": 0, "created_at": time.time(),
        }
        try:
            with self._db.write() as conn:
                parent = _load(conn, parent_id) if parent_id else None
                row["depth"] = check_reply(parent, parent_id, product_id)
                conn.execute(insert(comments).values(**row))
                if parent_id:
                    conn.execute(update(comments).where(comments.c.id == parent_id).values(reply_count=comments.c.reply_count + 1))
                if key:
                    conn.execute(insert(comment_keys).values(author_id=author.user_id, idempotency_key=key, comment_id=row["id"]))
                created = _load(conn, row["id"])
        except IntegrityError:
            # A concurrent request with the same key committed first; the whole insert rolled back.
            winner = self._by_key(author.user_id, key) if key else None
            if winner is None:
                raise
            return winner
        return _to_proto(created)

    def _by_key(self, author_id: str, key: str) -> comment_pb2.Comment | None:
        """The comment `key` created for this author, in its current state (maybe deleted), or None."""
        with self._db.read() as conn:
            row = conn.execute(
                select(comments).join(comment_keys, comment_keys.c.comment_id == comments.c.id)
                .where(comment_keys.c.author_id == author_id, comment_keys.c.idempotency_key == key)
            ).first()
        return _to_proto(row) if row is not None else None

    def GetComment(self, request: comment_pb2.GetCommentRequest, context: grpc.ServicerContext) -> comment_pb2.Comment:
        comment_id = validate.ident("id", request.id)
        with self._db.read() as conn:
            row = _load(conn, comment_id)
        if row is None:
            raise NotFound(f"comment {comment_id} not found")
        return _to_proto(row)

    def ListComments(self, request: comment_pb2.ListCommentsRequest, context: grpc.ServicerContext) -> comment_pb2.ListCommentsResponse:
        product_id = validate.ident("product_id", request.product_id)
        parent_id = validate.optional_ident("parent_id", request.parent_id)
        limit, offset = validate.page("page_size", request.page_size, "page_token", request.page_token)
        query = (
            select(comments)
            .where(comments.c.product_id == product_id, comments.c.parent_id == parent_id)
            .order_by(comments.c.seq)
            .limit(limit + 1)
            .offset(offset)
        )
        with self._db.read() as conn:
            if parent_id:
                parent = _load(conn, parent_id)
                if parent is None or parent.product_id != product_id:  # type: ignore[attr-defined]
                    raise NotFound(f"parent_id: comment {parent_id} not found on product {product_id}")
            rows, token = validate.page_of(conn.execute(query).all(), offset, limit)
        return comment_pb2.ListCommentsResponse(comments=[_to_proto(r) for r in rows], next_page_token=token)

    def DeleteComment(self, request: comment_pb2.DeleteCommentRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        comment_id = validate.ident("id", request.id)
        who = self._auth.principal()
        with self._db.write() as conn:
            row = _load(conn, comment_id)
            if row is None:
                raise NotFound(f"comment {comment_id} not found")
            if row.author_id != who.user_id and not who.is_staff():  # type: ignore[attr-defined]
                raise PermissionDenied("only the author (or staff) may delete this comment")
            if not row.deleted:  # type: ignore[attr-defined]
                conn.execute(update(comments).where(comments.c.id == comment_id).values(deleted=True, body=""))
        return empty_pb2.Empty()


def build(settings: ServiceSettings) -> ServiceDefinition:
    kit = Toolkit(settings)
    db = Database(settings.sql_url(), metadata)
    servicer = CommentServicer(db, kit.authenticator(), product_pb2_grpc.ProductServiceStub(kit.channel("product")))

    def stop() -> None:
        kit.close()
        db.close()

    return ServiceDefinition(
        register=lambda server: comment_pb2_grpc.add_CommentServiceServicer_to_server(servicer, server),
        service_names=[comment_pb2.DESCRIPTOR.services_by_name["CommentService"].full_name],
        on_stop=stop,
    )


def run(settings: ServiceSettings) -> int:
    return serve(settings, build)
