"""Comments are created once per idempotency key, and a rating whose write failed after its
comment was posted does not post a second one when retried; pages end without an empty page.
Real shop processes."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from testbed.shop.runtime.clients import MAX_ATTEMPTS
from testbed.shop.v1 import comment_pb2, rate_pb2
from testbed.testing.shopflows import make_product, new_account

pytestmark = pytest.mark.integration


def test_concurrent_creates_with_one_key_make_one_comment(shop, stubs_for) -> None:
    stubs = stubs_for(shop)
    author = new_account(stubs)
    product = make_product(stubs, author)
    request = comment_pb2.CreateCommentRequest(product_id=product.id, body="first!", idempotency_key="retry-test-1")
    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(lambda _: stubs.comment.CreateComment(request, metadata=author.md), range(8)))
    assert len({c.id for c in created}) == 1
    listed = stubs.comment.ListComments(comment_pb2.ListCommentsRequest(product_id=product.id))
    assert [c.id for c in listed.comments] == [created[0].id]


def test_an_exactly_full_last_page_has_no_next_token(shop, stubs_for) -> None:
    stubs = stubs_for(shop)
    author = new_account(stubs)
    product = make_product(stubs, author)
    for n in range(2):
        stubs.comment.CreateComment(comment_pb2.CreateCommentRequest(product_id=product.id, body=f"c{n}"), metadata=author.md)
    page = stubs.comment.ListComments(comment_pb2.ListCommentsRequest(product_id=product.id, page_size=2))
    assert len(page.comments) == 2 and page.next_page_token == ""


BUSY_TIMEOUT_S = 10  # testbed/shop/runtime/storage.py: PRAGMA busy_timeout=10000
# RateProduct is idempotent, so the client retries its UNAVAILABLE: every attempt waits out the
# busy timeout, and the deadline must cover all of them (backoff adds well under a second).
LOCKED_RATE_DEADLINE_S = MAX_ATTEMPTS * BUSY_TIMEOUT_S + 20


def test_a_rating_retried_after_its_write_failed_posts_one_comment(sqlite_shop, stubs_for) -> None:
    stubs = stubs_for(sqlite_shop)
    rater = new_account(stubs)
    product = make_product(stubs, rater)
    request = rate_pb2.RateProductRequest(product_id=product.id, stars=2, comment="the lid cracked")
    rate_db = sqlite_shop.state_dir / "rate" / "rate.db"
    rid = "locked-rate-" + product.id
    locker = sqlite3.connect(rate_db, isolation_level=None, timeout=30)
    try:
        locker.execute("BEGIN EXCLUSIVE")  # rate can read, but its write waits out its busy timeout and fails
        with pytest.raises(grpc.RpcError) as failed:
            stubs.rate.RateProduct(request, metadata=[*rater.md, ("x-request-id", rid)], timeout=LOCKED_RATE_DEADLINE_S)
        assert failed.value.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        posted = stubs.comment.ListComments(comment_pb2.ListCommentsRequest(product_id=product.id)).comments
        assert len(posted) == 1, "the comment was created before the rating write failed, once for all attempts"
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    attempts = [line for line in sqlite_shop.log_file("rate").read_text().splitlines()
                if rid in line and "RateProduct" in line and "UNAVAILABLE" in line]
    assert len(attempts) == MAX_ATTEMPTS, f"the client retried the UNAVAILABLE RateProduct: {attempts}"
    rating = stubs.rate.RateProduct(request, metadata=rater.md)
    listed = stubs.comment.ListComments(comment_pb2.ListCommentsRequest(product_id=product.id)).comments
    assert [c.id for c in listed] == [posted[0].id] == [rating.comment_id]
