"""The app in-process over a stub Shop: pages, guards, CSRF, and how each gRPC failure is shown."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from html.parser import HTMLParser

import grpc
import pytest

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx is what the project installs
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient

from web_stubshop import StubShop

from testbed.shop.v1 import cart_pb2, comment_pb2, order_pb2, payment_pb2, product_pb2, rate_pb2, user_pb2
from testbed.shop.web.app import build_app

pytestmark = pytest.mark.unit
SECRET = "unit-test-secret-" + "x" * 32


class IdAudit(HTMLParser):
    """Collects ids, and elements that have a data-testid but no id."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.testid_without_id: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if a.get("data-testid") and not a.get("id"):
            self.testid_without_id.append(f"<{tag} data-testid={a['data-testid']}>")


def audit(html: str) -> None:
    parser = IdAudit()
    parser.feed(html)
    assert parser.testid_without_id == []
    duplicates = sorted({i for i in parser.ids if parser.ids.count(i) > 1})
    assert duplicates == []


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no form with a CSRF token"
    return match.group(1)


@pytest.fixture
def shop() -> StubShop:
    s = StubShop()
    products = [product_pb2.Product(id=f"p{i}", name=f"Lamp {i}", price_cents=1999, stock=3, image_id="img1" if i == 1 else "") for i in range(1, 4)]
    s.on("product", "ListProducts", product_pb2.ListProductsResponse(products=products, next_page_token="tok2", total_size=30))
    s.on("product", "GetProduct", lambda req: next(p for p in products if p.id == req.id))
    s.on("rate", "GetProductRating", rate_pb2.ProductRating(product_id="p1", average=4.5, count=2))
    s.on("comment", "ListComments", lambda req: comment_pb2.ListCommentsResponse(comments=[comment_pb2.Comment(id="c1", product_id="p1", body="Nice", author_id="u1")] if not req.parent_id else []))
    auth = user_pb2.AuthenticateResponse(access_token="jwt-1", user_id="u1")
    auth.expires_at.GetCurrentTime()
    auth.expires_at.seconds += 3600
    s.on("user", "Authenticate", auth)
    s.on("user", "GetUser", user_pb2.User(id="u1", email="ann@example.com", display_name="Ann"))
    s.on("cart", "GetCart", cart_pb2.Cart(user_id="u1"))
    s.on("payment", "ListPaymentInfos", payment_pb2.ListPaymentInfosResponse())
    return s


@pytest.fixture
def client(shop: StubShop) -> Iterator[TestClient]:
    with TestClient(build_app(shop, session_secret=SECRET), follow_redirects=False, raise_server_exceptions=False) as c:  # type: ignore[arg-type]
        yield c


def log_in(client: TestClient) -> str:
    token = csrf(client.get("/login").text)
    reply = client.post("/login", data={"csrf_token": token, "email": "ann@example.com", "password": "password1", "next": "/cart"})
    assert reply.status_code == 303 and reply.headers["location"] == "/cart"
    return token


def test_probes(client: TestClient, shop: StubShop) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    shop.health["cart"] = "UNAVAILABLE"
    reply = client.get("/readyz")
    assert reply.status_code == 503 and reply.json()["not_ready"] == ["cart"]


def test_product_list_has_rows_ids_and_paging(client: TestClient, shop: StubShop) -> None:
    reply = client.get("/?q=lamp")
    assert reply.status_code == 200
    audit(reply.text)
    assert 'id="product-row-p2" data-testid="product-row" data-product-id="p2"' in reply.text
    assert 'id="page-next"' in reply.text and "page_token=tok2" in reply.text and 'id="page-prev"' not in reply.text
    assert shop.called("product", "ListProducts")[0].request.filter == "lamp"


def test_product_page(client: TestClient) -> None:
    reply = client.get("/products/p1")
    assert reply.status_code == 200
    audit(reply.text)
    assert 'id="rating-average" data-testid="rating-average" data-average="4.50"' in reply.text
    assert 'id="comment-c1"' in reply.text and 'src="/images/img1"' in reply.text


def test_secondary_outage_degrades_the_product_page(client: TestClient, shop: StubShop) -> None:
    shop.fail("rate", "GetProductRating", grpc.StatusCode.UNAVAILABLE)
    reply = client.get("/products/p1")
    assert reply.status_code == 200 and 'id="rating-unavailable"' in reply.text and "ratings service" in reply.text


def test_primary_outage_is_a_503_naming_the_service(client: TestClient, shop: StubShop) -> None:
    shop.fail("product", "ListProducts", grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
    reply = client.get("/")
    assert reply.status_code == 503
    assert 'data-service="product"' in reply.text and "catalogue service is not answering" in reply.text


def test_malformed_ids_are_404_without_an_rpc(client: TestClient, shop: StubShop) -> None:
    assert client.get("/products/a%20b").status_code == 404
    assert shop.called("product", "GetProduct") == []


def test_user_pages_redirect_to_login_when_logged_out(client: TestClient) -> None:
    for path in ("/cart", "/orders", "/orders/o1", "/points"):
        reply = client.get(path)
        assert reply.status_code == 303 and reply.headers["location"] == f"/login?next={path.replace('/', '%2F')}"


def test_wrong_password_is_a_message_on_the_form(client: TestClient, shop: StubShop) -> None:
    shop.fail("user", "Authenticate", grpc.StatusCode.UNAUTHENTICATED, "bad credentials")
    token = csrf(client.get("/login").text)
    reply = client.post("/login", data={"csrf_token": token, "email": "ann@example.com", "password": "wrong-pass"})
    assert reply.status_code == 401
    assert re.search(r'id="login-error"[^>]*>Wrong email or password\.<', reply.text)
    assert 'value="ann@example.com"' in reply.text


def test_session_cookie_is_signed_httponly_and_carries_the_token(client: TestClient, shop: StubShop) -> None:
    client.get("/login")
    token = csrf(client.get("/login").text)
    reply = client.post("/login", data={"csrf_token": token, "email": "ann@example.com", "password": "password1"})
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith("shop_session=") and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert client.get("/cart").status_code == 200
    call = shop.called("cart", "GetCart")[-1]
    assert call.authenticated and call.ctx.token == "jwt-1" and call.request.user_id == "u1"


def test_tampered_cookie_is_ignored(client: TestClient) -> None:
    log_in(client)
    value = client.cookies["shop_session"]
    client.cookies.set("shop_session", value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert client.get("/cart").status_code == 303


def test_unauthenticated_from_a_service_logs_out(client: TestClient, shop: StubShop) -> None:
    log_in(client)
    shop.fail("cart", "GetCart", grpc.StatusCode.UNAUTHENTICATED, "token expired")
    reply = client.get("/cart")
    assert reply.status_code == 303 and reply.headers["location"].startswith("/login")
    page = client.get("/").text
    assert 'id="nav-login"' in page and "Your session has expired" in page


def test_post_without_csrf_token_is_refused(client: TestClient, shop: StubShop) -> None:
    log_in(client)
    reply = client.post("/products/p1/cart", data={"quantity": "1"})
    assert reply.status_code == 403 and shop.called("cart", "AddItem") == []


@pytest.mark.parametrize("quantity", ["abc", "0", "1000", "", "1.5"])
def test_bad_quantity_gives_a_message_not_an_rpc(client: TestClient, shop: StubShop, quantity: str) -> None:
    token = log_in(client)
    reply = client.post("/products/p1/cart", data={"csrf_token": token, "quantity": quantity})
    assert reply.status_code == 400 and 'id="add-to-cart-error"' in reply.text
    assert shop.called("cart", "AddItem") == []


def test_invalid_argument_from_the_service_shows_its_message(client: TestClient, shop: StubShop) -> None:
    token = log_in(client)
    shop.fail("cart", "AddItem", grpc.StatusCode.INVALID_ARGUMENT, "quantity: exceeds stock (3)")
    reply = client.post("/products/p1/cart", data={"csrf_token": token, "quantity": "5"})
    assert reply.status_code == 400 and "quantity: exceeds stock (3)" in reply.text


def test_empty_cart_cannot_check_out_and_says_why(client: TestClient, shop: StubShop) -> None:
    token = log_in(client)
    page = client.get("/cart").text
    audit(page)
    assert 'id="cart-empty"' in page and re.search(r'id="checkout-button"[^>]*disabled', page)
    reply = client.post("/cart/checkout", data={"csrf_token": token, "payment_choice": "new", "card_number": "4242424242424242"})
    assert reply.status_code == 409 and re.search(r'id="checkout-error"[^>]*>Your cart is empty', reply.text)
    assert shop.called("cart", "Commit") == [] and shop.called("payment", "CreatePaymentInfo") == []


def test_request_id_is_echoed_and_propagated(client: TestClient, shop: StubShop) -> None:
    reply = client.get("/", headers={"x-request-id": "abc-123"})
    assert reply.headers["x-request-id"] == "abc-123"
    assert shop.called("product", "ListProducts")[-1].ctx.request_id == "abc-123"
    fresh = client.get("/", headers={"x-request-id": "bad id\twith junk"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)


def test_an_unexpected_error_is_a_plain_500_without_traceback(client: TestClient, shop: StubShop) -> None:
    shop.on("product", "ListProducts", RuntimeError("boom in the view"))
    reply = client.get("/")
    assert reply.status_code == 500 and "boom" not in reply.text and "Traceback" not in reply.text


def test_open_redirects_are_refused_after_login(client: TestClient) -> None:
    token = csrf(client.get("/login").text)
    reply = client.post("/login", data={"csrf_token": token, "email": "ann@example.com", "password": "password1", "next": "//evil.example/x"})
    assert reply.headers["location"] == "/"


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/", "/healthz", "/no/such/page"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_images_are_served_only_as_images(client: TestClient, shop: StubShop) -> None:
    def image(content_type: str) -> product_pb2.Image:
        return product_pb2.Image(info=product_pb2.ImageInfo(id="img1", content_type=content_type), data=b"bytes")

    shop.on("product", "GetImage", image("image/png"))
    assert client.get("/images/img1").headers["content-type"] == "image/png"
    shop.on("product", "GetImage", image("text/html"))
    assert client.get("/images/img1").headers["content-type"] == "application/octet-stream"


def test_secure_cookie_flag_when_served_behind_tls(shop: StubShop) -> None:
    with TestClient(build_app(shop, session_secret=SECRET, secure_cookie=True), base_url="https://shop.test", follow_redirects=False) as c:  # type: ignore[arg-type]
        cookie = c.get("/login").headers["set-cookie"]
    assert "; secure" in cookie.lower()


def test_delivery_outage_degrades_the_order_page(client: TestClient, shop: StubShop) -> None:
    log_in(client)
    shop.on("order", "GetOrder", order_pb2.Order(id="o1", user_id="u1", total_cents=500))
    shop.fail("delivery", "GetDelivery", grpc.StatusCode.UNAVAILABLE)
    page = client.get("/orders/o1")
    assert page.status_code == 200 and 'id="delivery-unavailable"' in page.text and 'id="order-total"' in page.text
    shop.fail("delivery", "GetDelivery", grpc.StatusCode.NOT_FOUND)
    assert 'id="delivery-pending"' in client.get("/orders/o1").text
