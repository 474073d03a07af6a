"""Buying in the browser: add to cart, check out with a new card, see the order and the points.

Each test makes its own seller and product over gRPC (known price, ample stock) and its own
shopper, so tests run in any order and in parallel without sharing a cart or a stock count.
"""

from __future__ import annotations

import secrets

import pytest

from testbed.testing.shopflows import make_product
from testbed.ui.shop_pages import EMPTY_CART_MESSAGE, add_to_cart, check_out_with_new_card, flashes

POINTS_DEADLINE_S = 20.0  # points are credited asynchronously from the OrderPlaced event


@pytest.fixture
def product(shop, user_factory):
    return make_product(shop, user_factory("UI Seller"), f"UI Teapot {secrets.token_hex(3)}", price_cents=2500, stock=50)


def test_add_to_cart_shows_the_line_and_total(browser, shopper, product) -> None:
    add_to_cart(browser, product.id, quantity=2)
    browser.open("/cart")
    assert browser.attribute(f"cart-line-{product.id}", "data-quantity") == "2"
    assert browser.text(f"cart-line-name-{product.id}") == product.name
    assert browser.attribute(f"cart-line-subtotal-{product.id}", "data-subtotal-cents") == "5000"
    assert browser.attribute("cart-total", "data-total-cents") == "5000"
    assert browser.enabled("checkout-button")


def test_checkout_with_a_new_card_places_the_order(browser, shopper, product) -> None:
    add_to_cart(browser, product.id, quantity=2)
    order = check_out_with_new_card(browser)
    assert browser.path == f"/orders/{order.order_id}"
    assert "Thank you! Your order was placed." in flashes(browser)
    assert order.total_cents == 5000
    assert browser.attribute(f"order-line-{product.id}", "data-quantity") == "2"
    browser.open("/cart")  # the cart is empty again and the card was saved for next time
    browser.element("cart-empty")
    assert [row["paymentInfoId"] for row in browser.by_testid("card-option")], "the new card was not saved"


def test_the_order_appears_in_my_orders(browser, shopper, product) -> None:
    add_to_cart(browser, product.id)
    order = check_out_with_new_card(browser)
    browser.open("/orders")
    assert [row["orderId"] for row in browser.by_testid("order-row")] == [order.order_id]
    assert browser.attribute(f"order-total-{order.order_id}", "data-total-cents") == "2500"
    browser.click_and_wait_for_page(f"order-link-{order.order_id}")
    assert browser.attribute("order-id", "data-order-id") == order.order_id


def test_points_appear_after_checkout(browser, shopper, product) -> None:
    add_to_cart(browser, product.id, quantity=3)
    order = check_out_with_new_card(browser)
    expected = order.total_cents // 100
    browser.poll_page("/points", lambda b: b.exists("points-balance") and b.attribute("points-balance", "data-points") == str(expected),
                      f"{expected} points for order {order.order_id}", timeout_s=POINTS_DEADLINE_S)
    entries = browser.by_testid("points-entry")
    assert [(e["orderId"], e["points"]) for e in entries] == [(order.order_id, str(expected))]


def test_an_empty_cart_cannot_check_out_and_says_why(browser, shopper) -> None:
    browser.open("/cart")
    assert browser.text("cart-empty") == EMPTY_CART_MESSAGE
    assert not browser.enabled("checkout-button")
    assert browser.attribute("checkout-button", "title") == EMPTY_CART_MESSAGE
    browser.submit_form_and_wait("checkout-form")  # past the disabled button: the server refuses too
    assert browser.text("checkout-error") == EMPTY_CART_MESSAGE
    browser.open("/orders")
    browser.element("no-orders")
