"""Browsing the catalogue: the product list, search, and a product page with its image."""

from __future__ import annotations

from testbed.shop.seed import CATALOGUE

DEMO_NAMES = {name for name, *_ in CATALOGUE}


def test_product_list_shows_the_demo_catalogue(browser) -> None:
    browser.open("/")
    assert int(browser.attribute("product-count", "data-total") or "0") >= len(CATALOGUE)
    rows = browser.by_testid("product-name")
    assert rows, "the first page lists no products"
    names = {row["text"] for row in rows}
    assert names & DEMO_NAMES, f"no demo product on the first page: {sorted(names)}"


def test_search_finds_a_product_by_name(browser) -> None:
    browser.open("/")
    browser.fill("search-input", "Fountain Pen")
    browser.click_and_wait_for_page("search-button")
    assert "q=Fountain" in browser.path
    names = [row["text"] for row in browser.by_testid("product-name")]
    assert "Fountain Pen" in names
    assert all("fountain pen" in name.lower() for name in names), names


def test_search_without_matches_says_so(browser) -> None:
    browser.open("/?q=no-such-product-zzz")
    browser.element("no-products")


def test_product_page_shows_name_price_and_image(browser) -> None:
    browser.open("/?q=Desk+Lamp")
    link = next(row["id"] for row in browser.by_testid("product-link") if row["text"].strip() == "Desk Lamp")
    browser.click_and_wait_for_page(link)
    assert browser.path.startswith("/products/")
    assert browser.text("product-name") == "Desk Lamp"
    assert browser.attribute("product-price", "data-price-cents") == "3499"
    browser.wait_until(lambda b: b.image_loaded("product-image"), "the product image to load")
    browser.element("add-to-cart-form")
