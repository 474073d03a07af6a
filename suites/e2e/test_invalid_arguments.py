"""Invalid arguments are INVALID_ARGUMENT with a message naming the field."""

from __future__ import annotations

import grpc
import pytest

from testbed.shop.v1 import cart_pb2, comment_pb2, delivery_pb2, order_pb2, payment_pb2, product_pb2, rate_pb2, user_pb2

CASES = [
    ("user.SignUp", "email", lambda s, a: s.user.SignUp(user_pb2.SignUpRequest(email="not-an-email", password="long enough pw", display_name="x"))),
    ("user.SignUp", "password", lambda s, a: s.user.SignUp(user_pb2.SignUpRequest(email="short@example.com", password="short", display_name="x"))),
    ("product.GetProduct", "id", lambda s, a: s.product.GetProduct(product_pb2.GetProductRequest(id="../etc/passwd"))),
    ("product.CreateProduct", "price_cents", lambda s, a: s.product.CreateProduct(product_pb2.CreateProductRequest(name="x", description="y", price_cents=-1, stock=1), metadata=a.md)),
    ("product.ListProducts", "page_size", lambda s, a: s.product.ListProducts(product_pb2.ListProductsRequest(page_size=10_000))),
    ("product.ListProducts", "page_token", lambda s, a: s.product.ListProducts(product_pb2.ListProductsRequest(page_token="%%%"))),
    ("cart.AddItem", "quantity", lambda s, a: s.cart.AddItem(cart_pb2.AddItemRequest(user_id=a.user_id, product_id="a" * 32, quantity=0), metadata=a.md)),
    ("order.GetOrder", "id", lambda s, a: s.order.GetOrder(order_pb2.GetOrderRequest(id=""), metadata=a.md)),
    ("payment.CreatePaymentInfo", "card_number", lambda s, a: s.payment.CreatePaymentInfo(payment_pb2.CreatePaymentInfoRequest(user_id=a.user_id, card_number="4242424242424241", cardholder_name="X", expiry_month=1, expiry_year=2099), metadata=a.md)),
    ("payment.CreatePaymentInfo", "expiry_month", lambda s, a: s.payment.CreatePaymentInfo(payment_pb2.CreatePaymentInfoRequest(user_id=a.user_id, card_number="4242424242424242", cardholder_name="X", expiry_month=13, expiry_year=2099), metadata=a.md)),
    ("delivery.UpdateStatus", "state", lambda s, a: s.delivery.UpdateStatus(delivery_pb2.UpdateStatusRequest(order_id="a" * 32, state=delivery_pb2.DELIVERY_STATE_UNSPECIFIED), metadata=a.md)),
    ("comment.CreateComment", "body", lambda s, a: s.comment.CreateComment(comment_pb2.CreateCommentRequest(product_id="a" * 32, body=""), metadata=a.md)),
    ("rate.RateProduct", "stars", lambda s, a: s.rate.RateProduct(rate_pb2.RateProductRequest(product_id="a" * 32, stars=6), metadata=a.md)),
]


@pytest.mark.parametrize("rpc,field,call", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_invalid_argument_names_the_field(shop, user_factory, rpc: str, field: str, call) -> None:
    account = user_factory()
    with pytest.raises(grpc.RpcError) as err:
        call(shop, account)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{rpc}: {err.value.code()} {err.value.details()}"
    assert err.value.details().startswith(f"{field}:"), f"{rpc}: {err.value.details()!r} does not name {field}"
