"""The front end as a real process over the real shop services (all started by the launcher):
the pages a shopper uses, end to end, on SQLite."""

from __future__ import annotations

import struct
import time
import uuid
import zlib
from collections.abc import Iterator

import pytest
from web_client import WebClient, attr_values, text_of

from testbed.shop.launcher import ShopProcesses
from testbed.shop.stubs import Account, Stubs, sign_up
from testbed.shop.topology import ALL_SERVICES
from testbed.shop.v1 import product_pb2

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
CARD = {"payment_choice": "new", "card_number": "4242 4242 4242 4242", "cardholder_name": "Web Buyer", "expiry_month": "12", "expiry_year": str(time.gmtime().tm_year + 2)}


def tiny_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\x00\xff" * 2)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopProcesses]:
    tmp = tmp_path_factory.mktemp("web-shop")
    procs = ShopProcesses(state_dir=tmp / "state", log_dir=tmp / "logs", services=ALL_SERVICES)
    try:
        procs.start()
        procs.wait_ready(timeout_s=90)
        yield procs
    finally:
        codes = procs.stop()
    assert codes.get("web") == 0, f"web exited with {codes.get('web')} on SIGTERM; log: {procs.tail('web', 10)}"


@pytest.fixture(scope="module")
def catalogue(shop: ShopProcesses) -> dict[str, product_pb2.Product]:
    """Three products with a unique word in their names; the first has an image."""
    stubs = Stubs(shop.addresses())
    try:
        seller: Account = sign_up(stubs, f"seller-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, "Seller")
        tag = uuid.uuid4().hex[:8]
        made = {}
        for key, price in (("lamp", 1250), ("desk", 9900), ("chair", 4500)):
            request = product_pb2.CreateProductRequest(name=f"{key.title()} {tag}", description=f"A {key} for the web tests", price_cents=price, stock=50)
            made[key] = stubs.product.CreateProduct(request, metadata=seller.md)
        parts = [product_pb2.UploadImageRequest(metadata=product_pb2.ImageMetadata(product_id=made["lamp"].id, content_type="image/png", filename="lamp.png")),
                 product_pb2.UploadImageRequest(chunk=tiny_png())]
        stubs.product.UploadImage(iter(parts), metadata=seller.md)
        made["tag"] = tag  # type: ignore[assignment]
        return made
    finally:
        stubs.close()


@pytest.fixture
def buyer(shop: ShopProcesses) -> Iterator[WebClient]:
    client = WebClient(f"http://127.0.0.1:{shop.procs['web'].port}")
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    reply = client.sign_up(email, PASSWORD, "Web Buyer")
    assert reply.status_code == 303, f"sign-up answered {reply.status_code}: {reply.text[-1500:]}"
    client.email = email  # type: ignore[attr-defined]
    yield client
    client.close()


def eventually_page(client: WebClient, path: str, marker: str, timeout_s: float = 15.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        page = client.get(path).text
        if marker in page:
            return page
        assert time.monotonic() < deadline, f"{path} never showed {marker!r}"
        time.sleep(0.2)


def test_sign_up_log_out_and_wrong_password(buyer: WebClient) -> None:
    home = buyer.get("/").text
    assert text_of(home, "nav-user") == "Web Buyer"
    assert buyer.post("/logout").status_code == 303
    assert 'id="nav-login"' in buyer.get("/").text
    assert buyer.get("/orders").headers["location"] == "/login?next=%2Forders"
    wrong = buyer.log_in(buyer.email, "not the password")  # type: ignore[attr-defined]
    assert wrong.status_code == 401 and text_of(wrong.text, "login-error") == "Wrong email or password."
    assert buyer.log_in(buyer.email).status_code == 303  # type: ignore[attr-defined]
    again = buyer.sign_up(buyer.email)  # type: ignore[attr-defined]
    assert again.status_code == 409 and "already exists" in text_of(again.text, "signup-email-error")


def test_search_and_product_page_with_image(buyer: WebClient, catalogue: dict) -> None:
    listing = buyer.get("/", params={"q": catalogue["tag"]}).text
    assert sorted(attr_values(listing, "product-row", "data-product-id")) == sorted(p.id for k, p in catalogue.items() if k != "tag")
    assert 'data-total="3"' in listing
    lamp = catalogue["lamp"]
    page = buyer.get(f"/products/{lamp.id}").text
    assert text_of(page, "product-name") == lamp.name and text_of(page, "product-price") == "$12.50"
    src = attr_values(page, "product-image", "src")[0]
    image = buyer.get(src)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png" and image.content == tiny_png()
    assert 'id="product-no-image"' in buyer.get(f"/products/{catalogue['desk'].id}").text
    assert buyer.get("/products/0123456789abcdef0123456789abcdef").status_code == 404


def test_cart_checkout_order_delivery_and_points(buyer: WebClient, catalogue: dict) -> None:
    lamp, desk = catalogue["lamp"], catalogue["desk"]
    bad = buyer.post(f"/products/{lamp.id}/cart", {"quantity": "lots"})
    assert bad.status_code == 400 and text_of(bad.text, "add-to-cart-error") == "Quantity must be a whole number."
    assert buyer.post(f"/products/{lamp.id}/cart", {"quantity": "2"}).status_code == 303
    assert buyer.post(f"/products/{desk.id}/cart", {"quantity": "1"}).status_code == 303
    cart = buyer.get("/cart").text
    assert text_of(cart, f"cart-line-quantity-{lamp.id}") == "2"
    assert text_of(cart, "cart-total") == "$124.00"
    assert buyer.post(f"/cart/items/{desk.id}/remove").status_code == 303
    bad_card = buyer.post("/cart/checkout", {**CARD, "card_number": "4242 4242 4242 4241"})
    assert bad_card.status_code == 400 and "check digit" in text_of(bad_card.text, "card-number-error")
    placed = buyer.post("/cart/checkout", CARD)
    assert placed.status_code == 303 and placed.headers["location"].startswith("/orders/")
    order_id = placed.headers["location"].rsplit("/", 1)[1]
    order = buyer.get(placed.headers["location"]).text
    assert text_of(order, "order-total") == "$25.00" and "Thank you! Your order was placed." in order
    order = eventually_page(buyer, f"/orders/{order_id}", 'data-state="PENDING"')
    assert order_id in attr_values(buyer.get("/orders").text, "order-row", "data-order-id")
    points = eventually_page(buyer, "/points", f'data-order-id="{order_id}"')
    assert int(attr_values(points, "points-balance", "data-points")[0]) > 0
    empty = buyer.get("/cart").text
    assert 'id="cart-empty"' in empty and 'data-testid="card-option"' in empty  # the new card is saved
    refused = buyer.post("/cart/checkout", {"payment_choice": attr_values(empty, "card-option", "data-payment-info-id")[0]})
    assert refused.status_code == 409 and "cart is empty" in text_of(refused.text, "checkout-error").lower()
    assert buyer.post(f"/orders/{order_id}/cancel", {"version": "0"}).status_code == 303
    assert 'data-state="CANCELLED"' in buyer.get(f"/orders/{order_id}").text


def test_second_order_with_the_saved_card(buyer: WebClient, catalogue: dict) -> None:
    chair = catalogue["chair"]
    buyer.post("/cart/checkout", {**CARD, "payment_choice": "new"})  # refused (empty), but nothing saved
    buyer.post(f"/products/{chair.id}/cart", {"quantity": "1"})
    first = buyer.post("/cart/checkout", CARD)
    assert first.status_code == 303
    buyer.post(f"/products/{chair.id}/cart", {"quantity": "3"})
    card_id = attr_values(buyer.get("/cart").text, "card-option", "data-payment-info-id")[0]
    second = buyer.post("/cart/checkout", {"payment_choice": card_id})
    assert second.status_code == 303
    orders = attr_values(buyer.get("/orders").text, "order-row", "data-order-id")
    assert len(orders) == 2


def test_rating_and_threaded_comments(buyer: WebClient, catalogue: dict) -> None:
    desk = catalogue["desk"]
    bad = buyer.post(f"/products/{desk.id}/rate", {"stars": "9"})
    assert bad.status_code == 400 and "between 1 and 5" in text_of(bad.text, "rate-error")
    assert buyer.post(f"/products/{desk.id}/rate", {"stars": "4", "comment": "Sturdy desk"}).status_code == 303
    page = buyer.get(f"/products/{desk.id}").text
    assert attr_values(page, "rating-average", "data-average") == ["4.00"]
    review_id = attr_values(page, "comment", "data-comment-id")[0]
    assert text_of(page, f"comment-text-{review_id}") == "Sturdy desk"
    assert buyer.post(f"/products/{desk.id}/comments", {"body": "Agreed!", "parent_id": review_id}).status_code == 303
    page = buyer.get(f"/products/{desk.id}").text
    assert review_id in attr_values(page, "comment", "data-parent-id")
    empty = buyer.post(f"/products/{desk.id}/comments", {"body": "  "})
    assert empty.status_code == 400 and text_of(empty.text, "comment-error") == "Comment is required."


def test_other_users_orders_are_not_visible(buyer: WebClient, shop: ShopProcesses, catalogue: dict) -> None:
    buyer.post(f"/products/{catalogue['lamp'].id}/cart", {"quantity": "1"})
    order_url = buyer.post("/cart/checkout", CARD).headers["location"]
    other = WebClient(f"http://127.0.0.1:{shop.procs['web'].port}")
    try:
        other.sign_up(f"other-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
        reply = other.get(order_url)
        assert reply.status_code in (403, 404) and 'id="error-page"' in reply.text
    finally:
        other.close()


def test_a_stopped_service_is_a_503_naming_it_then_recovers(buyer: WebClient, shop: ShopProcesses) -> None:
    shop.stop(["cart"])
    try:
        reply = buyer.get("/cart")
        assert reply.status_code == 503 and 'data-service="cart"' in reply.text
        assert buyer.get("/").status_code == 200  # the rest of the shop still works
    finally:
        shop.start(["cart"])
        shop.wait_ready(["cart"], timeout_s=30)
    deadline = time.monotonic() + 5
    while buyer.get("/cart").status_code != 200:
        assert time.monotonic() < deadline, "web did not reconnect to the restarted cart service"
        time.sleep(0.1)
