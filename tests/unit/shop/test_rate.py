"""Ratings: one per user and product, averages, and when rating text becomes a new comment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from testbed.shop.runtime import context
from testbed.shop.runtime.auth import Authenticator, KeySource, TokenIssuer
from testbed.shop.runtime.status import InvalidArgument, Unavailable
from testbed.shop.runtime.storage import Database
from testbed.shop.services import rate
from testbed.shop.v1 import comment_pb2, product_pb2
from testbed.shop.v1 import rate_pb2 as pb

pytestmark = pytest.mark.unit

PRODUCT = "1" * 32
ALICE, BOB = "a" * 32, "b" * 32


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'rate.db'}", rate.metadata)
    yield database
    database.close()


def _rating(db: Database) -> pb.ProductRating:
    with db.read() as conn:
        return rate.product_rating(conn, PRODUCT)


def test_no_ratings_average_zero(db: Database) -> None:
    assert (_rating(db).average, _rating(db).count) == (0.0, 0)


def test_rerating_replaces_stars_and_average_follows(db: Database) -> None:
    with db.write() as conn:
        rate.store_rating(conn, PRODUCT, ALICE, 5)
        rate.store_rating(conn, PRODUCT, BOB, 2)
    assert (_rating(db).average, _rating(db).count) == (3.5, 2)
    with db.write() as conn:
        rate.store_rating(conn, PRODUCT, ALICE, 1)
    assert (_rating(db).average, _rating(db).count) == (1.5, 2)


class _Products:
    def GetProduct(self, request: product_pb2.GetProductRequest, **_: Any) -> product_pb2.Product:
        return product_pb2.Product(id=request.id)


class _Comments:
    """Records the comments rate posts, as the comment service would create them."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str, str]] = []
        self.by_key: dict[str, comment_pb2.Comment] = {}

    def CreateComment(self, request: comment_pb2.CreateCommentRequest, **_: Any) -> comment_pb2.Comment:
        if request.idempotency_key in self.by_key:  # as the comment service: a repeated key, the first comment
            return self.by_key[request.idempotency_key]
        comment_id = uuid.uuid4().hex
        self.posted.append((comment_id, request.product_id, request.body))
        created = comment_pb2.Comment(id=comment_id, product_id=request.product_id, body=request.body)
        if request.idempotency_key:
            self.by_key[request.idempotency_key] = created
        return created


@pytest.fixture
def comments() -> _Comments:
    return _Comments()


@pytest.fixture
def servicer(db: Database, comments: _Comments) -> Iterator[rate.RateServicer]:
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), 600)
    auth = Authenticator(KeySource(static={issuer.kid: issuer.public_pem()}))
    token = context.authorization.set(f"Bearer {issuer.issue(ALICE, ('customer',))[0]}")
    yield rate.RateServicer(db, auth, _Products(), comments)  # type: ignore[arg-type]
    context.authorization.reset(token)


def _rate(servicer: rate.RateServicer, stars: int, comment: str = "") -> pb.Rating:
    return servicer.RateProduct(pb.RateProductRequest(product_id=PRODUCT, stars=stars, comment=comment), None)  # type: ignore[arg-type]


def test_text_is_posted_as_a_comment_once_per_distinct_text(servicer: rate.RateServicer, comments: _Comments) -> None:
    first = _rate(servicer, 4, "solid\nwould buy again")
    assert comments.posted == [(first.comment_id, PRODUCT, "solid\nwould buy again")]
    assert _rate(servicer, 3).comment_id == first.comment_id  # no text: keeps the comment
    assert _rate(servicer, 3, "solid\nwould buy again").comment_id == first.comment_id  # same text (or a retry): nothing posted
    changed = _rate(servicer, 2, "broke after a week")
    assert changed.comment_id != first.comment_id
    assert len(comments.posted) == 2
    assert (changed.stars, changed.user_id) == (2, ALICE)


def test_one_rating_per_user_and_product(servicer: rate.RateServicer) -> None:
    for stars in (1, 5, 3):
        _rate(servicer, stars)
    listed = servicer.ListRatings(pb.ListRatingsRequest(product_id=PRODUCT), None)  # type: ignore[arg-type]
    assert [(r.user_id, r.stars) for r in listed.ratings] == [(ALICE, 3)]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"product_id": PRODUCT, "stars": 0}, "stars"),
        ({"product_id": PRODUCT, "stars": 6}, "stars"),
        ({"product_id": "", "stars": 3}, "product_id"),
        ({"product_id": PRODUCT, "stars": 3, "comment": " \t\n"}, "comment"),
        ({"product_id": PRODUCT, "stars": 3, "comment": "x" * (rate.MAX_COMMENT + 1)}, "comment"),
    ],
)
def test_invalid_fields_are_named(servicer: rate.RateServicer, comments: _Comments, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        servicer.RateProduct(pb.RateProductRequest(**fields), None)  # type: ignore[arg-type]
    assert err.value.field == field
    assert comments.posted == []


def test_an_exactly_full_last_page_of_ratings_has_no_next_token(servicer: rate.RateServicer, db: Database) -> None:
    with db.write() as conn:
        rate.store_rating(conn, PRODUCT, ALICE, 5)
        rate.store_rating(conn, PRODUCT, BOB, 2)
    full = servicer.ListRatings(pb.ListRatingsRequest(product_id=PRODUCT, page_size=2), None)  # type: ignore[arg-type]
    assert len(full.ratings) == 2 and full.next_page_token == ""
    first = servicer.ListRatings(pb.ListRatingsRequest(product_id=PRODUCT, page_size=1), None)  # type: ignore[arg-type]
    last = servicer.ListRatings(pb.ListRatingsRequest(product_id=PRODUCT, page_size=1, page_token=first.next_page_token), None)  # type: ignore[arg-type]
    assert [r.user_id for r in (*first.ratings, *last.ratings)] == [ALICE, BOB] and last.next_page_token == ""


def test_a_retry_after_the_rating_write_failed_posts_no_second_comment(servicer: rate.RateServicer, comments: _Comments,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    stored = rate.store_rating

    def datastore_down(*args: Any, **kwargs: Any) -> None:
        raise Unavailable("datastore unavailable: connection refused")

    monkeypatch.setattr(rate, "store_rating", datastore_down)
    with pytest.raises(Unavailable):
        _rate(servicer, 4, "arrived broken")  # the comment was created, the rating was not stored
    monkeypatch.setattr(rate, "store_rating", stored)
    retried = _rate(servicer, 4, "arrived broken")
    assert [c[0] for c in comments.posted] == [retried.comment_id]


def test_the_same_text_again_after_another_posts_a_new_comment(servicer: rate.RateServicer, comments: _Comments) -> None:
    first = _rate(servicer, 4, "good")
    _rate(servicer, 2, "bad")
    again = _rate(servicer, 4, "good")
    assert again.comment_id != first.comment_id and len(comments.posted) == 3
