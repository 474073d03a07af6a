"""Accounts in the browser: sign up, log in, a wrong password, log out."""

from __future__ import annotations

import secrets

from testbed.ui.shop_pages import flashes, log_in, log_in_ok, log_out, sign_up


def test_sign_up_through_the_form_logs_the_new_user_in(browser) -> None:
    email = f"ui-{secrets.token_hex(6)}@example.com"
    sign_up(browser, email, "Signup Sam", f"pw-{secrets.token_urlsafe(12)}")
    assert browser.text("nav-user") == "Signup Sam"
    assert browser.path == "/"
    assert any(message.startswith("Welcome, Signup Sam!") for message in flashes(browser))
    assert not browser.exists("nav-login")


def test_log_in_shows_the_user_and_their_links(browser, user_factory) -> None:
    account = user_factory("Login Lee")
    log_in_ok(browser, account.email, account.password)
    assert browser.text("nav-user") == "Login Lee"
    assert browser.attribute("nav-user", "data-user-id") == account.user_id
    assert "You are logged in." in flashes(browser)
    for link in ("nav-cart", "nav-orders", "nav-points"):
        browser.element(link)


def test_a_wrong_password_shows_an_error_and_stays_logged_out(browser, user_factory) -> None:
    account = user_factory()
    log_in(browser, account.email, account.password + "-wrong")
    assert browser.text("login-error") == "Wrong email or password."
    assert browser.path.startswith("/login")
    assert browser.exists("nav-login") and not browser.exists("nav-user")


def test_log_out_ends_the_session(browser, shopper) -> None:
    log_out(browser)
    assert "You are logged out." in flashes(browser)
    browser.element("nav-login")
    assert not browser.exists("nav-user")
    browser.open("/cart")  # a logged-out visit to the cart goes to the login page
    browser.element("login-form")
    assert browser.path.startswith("/login")
