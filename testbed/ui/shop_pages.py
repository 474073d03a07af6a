"""What a shopper does in the web front end, step by step, for the `ui` suite and its tests.

Each step drives `Browser` through the element ids of testbed/shop/web/ELEMENTS.md and
waits for the page that proves the step happened, so a test reads as the user's story and
a broken step fails where it broke, with the page it was on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from testbed.ui.driver import Browser

TEST_CARD = "4242 4242 4242 4242"  # passes the Luhn check; the payment service keeps only the last 4
EMPTY_CART_MESSAGE = "Your cart is empty. Add a product before checking out."  # ELEMENTS.md: cart-empty


@dataclass(frozen=True)
class PlacedOrder:
    order_id: str
    total_cents: int


def flashes(browser: Browser, kind: str = "info") -> list[str]:
    """The one-time messages of this kind on the current page."""
    return [row["text"] for row in browser.by_testid(f"flash-{kind}")]


def sign_up(browser: Browser, email: str, display_name: str, password: str) -> None:
    browser.open("/signup")
    browser.fill_form({"signup-email": email, "signup-display-name": display_name, "signup-password": password})
    browser.click_and_wait_for_page("signup-button")


def log_in(browser: Browser, email: str, password: str) -> None:
    """Submit the login form; on success the page shows the user in the navigation."""
    browser.open("/login")
    browser.fill_form({"login-email": email, "login-password": password})
    browser.click_and_wait_for_page("login-button")


def log_in_ok(browser: Browser, email: str, password: str) -> None:
    log_in(browser, email, password)
    browser.element("nav-user")


def log_out(browser: Browser) -> None:
    browser.click_and_wait_for_page("logout-button")


def add_to_cart(browser: Browser, product_id: str, quantity: int = 1) -> None:
    browser.open(f"/products/{product_id}")
    browser.fill("quantity-input", str(quantity))
    browser.click_and_wait_for_page("add-to-cart-button")
    browser.wait_until(lambda b: f"Added {quantity} to your cart." in flashes(b), f"the 'Added {quantity}' message for {product_id}")


def check_out_with_new_card(browser: Browser, cardholder: str = "UI Buyer", card_number: str = TEST_CARD) -> PlacedOrder:
    """From the cart page: pay with a new card entered in the form; returns the order it lands on."""
    browser.open("/cart")
    browser.element("card-option-new").click()
    browser.fill_form({
        "card-number": card_number,
        "cardholder-name": cardholder,
        "expiry-month": "12",
        "expiry-year": str(time.gmtime().tm_year + 3),
    })
    browser.click_and_wait_for_page("checkout-button")
    order_id = browser.attribute("order-id", "data-order-id") or ""
    total = int(browser.attribute("order-total", "data-total-cents") or "0")
    return PlacedOrder(order_id=order_id, total_cents=total)
