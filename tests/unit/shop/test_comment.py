"""Comment threads: reply rules, reply counts and soft delete, against the servicer on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from testbed.shop.runtime import context
from testbed.shop.runtime.auth import Authenticator, KeySource, TokenIssuer
from testbed.shop.runtime.status import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from testbed.shop.runtime.storage import Database
from testbed.shop.services import comment
from testbed.shop.v1 import comment_pb2 as pb
from testbed.shop.v1 import product_pb2

pytestmark = pytest.mark.unit

PRODUCT, OTHER_PRODUCT = "1" * 32, "2" * 32
ALICE, BOB, STAFF = "a" * 32, "b" * 32, "c" * 32


class _Products:
    """Stands in for the product service stub: knows two products."""

    def GetProduct(self, request: product_pb2.GetProductRequest, **_: Any) -> product_pb2.Product:
        assert request.id in (PRODUCT, OTHER_PRODUCT)
        return product_pb2.Product(id=request.id)


class Caller:
    def __init__(self, issuer: TokenIssuer) -> None:
        self._issuer = issuer

    def __call__(self, user_id: str | None, *roles: str) -> None:
        token = self._issuer.issue(user_id, ("customer", *roles))[0] if user_id else ""
        context.authorization.set(f"Bearer {token}" if token else "")


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(Ed25519PrivateKey.generate(), 600)


@pytest.fixture
def servicer(tmp_path: Path, issuer: TokenIssuer) -> Iterator[comment.CommentServicer]:
    db = Database(f"sqlite:///{tmp_path / 'comment.db'}", comment.metadata)
    auth = Authenticator(KeySource(static={issuer.kid: issuer.public_pem()}))
    yield comment.CommentServicer(db, auth, _Products())  # type: ignore[arg-type]
    db.close()


@pytest.fixture
def as_user(issuer: TokenIssuer) -> Iterator[Caller]:
    """Sets the caller's token the way the server interceptor does for a real RPC."""
    token = context.authorization.set("")
    yield Caller(issuer)
    context.authorization.reset(token)


def _create(servicer: comment.CommentServicer, body: str = "hi", parent_id: str = "", product_id: str = PRODUCT) -> pb.Comment:
    return servicer.CreateComment(pb.CreateCommentRequest(product_id=product_id, parent_id=parent_id, body=body), None)  # type: ignore[arg-type]


def test_top_level_comment_is_level_one() -> None:
    assert comment.check_reply(None, "", PRODUCT) == 1


def test_replies_stop_at_the_depth_limit(servicer: comment.CommentServicer, as_user: Caller) -> None:
    as_user(ALICE)
    parent = _create(servicer, "level 1")
    for level in range(2, comment.MAX_DEPTH + 1):
        parent = _create(servicer, f"level {level}", parent.id)
    with pytest.raises(FailedPrecondition, match="levels"):
        _create(servicer, "too deep", parent.id)


def test_reply_must_stay_on_the_parents_product(servicer: comment.CommentServicer, as_user: Caller) -> None:
    as_user(ALICE)
    top = _create(servicer)
    with pytest.raises(InvalidArgument, match="parent_id"):
        _create(servicer, "elsewhere", top.id, OTHER_PRODUCT)
    with pytest.raises(NotFound, match="parent_id"):
        _create(servicer, "orphan", "f" * 32)


def test_reply_count_and_listing_oldest_first(servicer: comment.CommentServicer, as_user: Caller) -> None:
    as_user(ALICE)
    top = _create(servicer, "top")
    as_user(BOB)
    replies = [_create(servicer, f"reply {i}", top.id).id for i in range(3)]
    assert servicer.GetComment(pb.GetCommentRequest(id=top.id), None).reply_count == 3  # type: ignore[arg-type]
    first = servicer.ListComments(pb.ListCommentsRequest(product_id=PRODUCT, parent_id=top.id, page_size=2), None)  # type: ignore[arg-type]
    rest = servicer.ListComments(pb.ListCommentsRequest(product_id=PRODUCT, parent_id=top.id, page_size=2, page_token=first.next_page_token), None)  # type: ignore[arg-type]
    assert [c.id for c in (*first.comments, *rest.comments)] == replies
    assert rest.next_page_token == ""
    top_level = servicer.ListComments(pb.ListCommentsRequest(product_id=PRODUCT), None)  # type: ignore[arg-type]
    assert [c.id for c in top_level.comments] == [top.id]


def test_soft_delete_is_author_only_and_idempotent(servicer: comment.CommentServicer, as_user: Caller) -> None:
    as_user(ALICE)
    top = _create(servicer, "line one\nline two")
    _create(servicer, "reply", top.id)
    as_user(BOB)
    with pytest.raises(PermissionDenied):
        servicer.DeleteComment(pb.DeleteCommentRequest(id=top.id), None)  # type: ignore[arg-type]
    as_user(ALICE)
    servicer.DeleteComment(pb.DeleteCommentRequest(id=top.id), None)  # type: ignore[arg-type]
    servicer.DeleteComment(pb.DeleteCommentRequest(id=top.id), None)  # type: ignore[arg-type]
    gone = servicer.GetComment(pb.GetCommentRequest(id=top.id), None)  # type: ignore[arg-type]
    assert (gone.deleted, gone.body, gone.reply_count) == (True, "", 1)


def test_staff_may_delete_any_comment(servicer: comment.CommentServicer, as_user: Caller) -> None:
    as_user(ALICE)
    top = _create(servicer)
    as_user(STAFF, "staff")
    servicer.DeleteComment(pb.DeleteCommentRequest(id=top.id), None)  # type: ignore[arg-type]
    assert servicer.GetComment(pb.GetCommentRequest(id=top.id), None).deleted  # type: ignore[arg-type]


def test_writing_needs_a_token(servicer: comment.CommentServicer, as_user: Caller) -> None:
    as_user(None)
    with pytest.raises(Unauthenticated):
        _create(servicer)


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"product_id": "", "body": "x"}, "product_id"),
        ({"product_id": "X" * 32, "body": "x"}, "product_id"),
        ({"product_id": PRODUCT, "parent_id": "nope", "body": "x"}, "parent_id"),
        ({"product_id": PRODUCT, "body": " \n "}, "body"),
        ({"product_id": PRODUCT, "body": "x" * (comment.MAX_BODY + 1)}, "body"),
        ({"product_id": PRODUCT, "body": "nul\x00"}, "body"),
    ],
)
def test_invalid_fields_are_named_before_auth(servicer: comment.CommentServicer, as_user: Caller, request_fields: dict[str, str], field: str) -> None:
    as_user(None)  # no token: validation must answer first
    with pytest.raises(InvalidArgument) as err:
        servicer.CreateComment(pb.CreateCommentRequest(**request_fields), None)  # type: ignore[arg-type]
    assert err.value.field == field


def test_an_exactly_full_last_page_has_no_next_token(servicer: comment.CommentServicer, as_user: Caller) -> None:
    as_user(ALICE)
    created = [_create(servicer, f"c{i}").id for i in range(4)]
    first = servicer.ListComments(pb.ListCommentsRequest(product_id=PRODUCT, page_size=2), None)  # type: ignore[arg-type]
    assert first.next_page_token
    last = servicer.ListComments(pb.ListCommentsRequest(product_id=PRODUCT, page_size=2, page_token=first.next_page_token), None)  # type: ignore[arg-type]
    assert [c.id for c in (*first.comments, *last.comments)] == created
    assert last.next_page_token == ""


def _create_keyed(servicer: comment.CommentServicer, key: str, body: str = "hi") -> pb.Comment:
    return servicer.CreateComment(pb.CreateCommentRequest(product_id=PRODUCT, body=body, idempotency_key=key), None)  # type: ignore[arg-type]


def test_a_repeated_idempotency_key_returns_the_first_comment(servicer: comment.CommentServicer, as_user: Caller) -> None:
    as_user(ALICE)
    first = _create_keyed(servicer, "k1", "once")
    assert _create_keyed(servicer, "k1", "once") == first
    assert _create_keyed(servicer, "k1", "different body, same key") == first  # the repeat's body is ignored
    other = _create_keyed(servicer, "k2", "once")
    assert other.id != first.id
    as_user(BOB)
    assert _create_keyed(servicer, "k1", "once").id not in (first.id, other.id)  # keys are per author
    listed = servicer.ListComments(pb.ListCommentsRequest(product_id=PRODUCT), None)  # type: ignore[arg-type]
    assert len(listed.comments) == 3


def test_a_key_repeated_after_its_comment_was_deleted_answers_the_deleted_comment(servicer: comment.CommentServicer, as_user: Caller) -> None:
    """A retry that arrives after the comment was deleted must neither resurrect it, nor post a
    replacement, nor answer with it as if it were live: it gets the comment as it is now."""
    as_user(ALICE)
    parent = _create(servicer, "parent")
    request = pb.CreateCommentRequest(product_id=PRODUCT, parent_id=parent.id, body="keyed reply", idempotency_key="k-del")
    first = servicer.CreateComment(request, None)  # type: ignore[arg-type]
    servicer.DeleteComment(pb.DeleteCommentRequest(id=first.id), None)  # type: ignore[arg-type]

    again = servicer.CreateComment(request, None)  # type: ignore[arg-type]

    assert again.id == first.id and again.deleted and again.body == ""
    assert again == servicer.GetComment(pb.GetCommentRequest(id=first.id), None)  # type: ignore[arg-type]
    replies = servicer.ListComments(pb.ListCommentsRequest(product_id=PRODUCT, parent_id=parent.id), None)  # type: ignore[arg-type]
    assert [(c.id, c.deleted) for c in replies.comments] == [(first.id, True)], "no second comment, no resurrection"
    assert servicer.GetComment(pb.GetCommentRequest(id=parent.id), None).reply_count == 1  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["x" * (comment.MAX_KEY + 1), "tab\tkey"])
def test_a_bad_idempotency_key_is_invalid(servicer: comment.CommentServicer, as_user: Caller, key: str) -> None:
    as_user(ALICE)
    with pytest.raises(InvalidArgument, match="idempotency_key"):
        _create_keyed(servicer, key)
