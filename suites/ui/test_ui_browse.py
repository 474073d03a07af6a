"""Browsing the catalogue: the product list, search, and a product page with its image."""

from __future__ import annotations

from urllib.parse import quote_plus

from testbed.shop.seed import CATALOGUE

PAGE_SIZE = 12  # the web front end's product page size
DEMO_NAMES = {name for name, *_ in CATALOGUE}


def test_product_list_shows_priced_products_and_pages(browser) -> None:
    """Newest first, 12 a page: other tests' products may fill page 1, so demo names are checked by search."""
    browser.open("/")
    total = int(browser.attribute("product-count", "data-total") or "0")
    assert total >= len(CATALOGUE)
    rows = browser.by_testid("product-row")
    assert 1 <= len(rows) <= PAGE_SIZE
    prices = browser.by_testid("product-price")
    assert len(prices) == len(rows) and all(int(p["priceCents"]) > 0 for p in prices)
    if total > PAGE_SIZE:
        browser.click_and_wait_for_page("page-next")
        assert browser.text("page-number") == "Page 2"
        browser.element("page-prev")
        second = {row["productId"] for row in browser.by_testid("product-row")}
        # offset paging while other tests add products: rows may shift by a few, never a whole page
        assert second and second != {row["productId"] for row in rows}


def test_every_demo_product_can_be_found_by_search(browser) -> None:
    for name in sorted(DEMO_NAMES):
        browser.open(f"/?q={quote_plus(name)}")
        assert name in [row["text"] for row in browser.by_testid("product-name")], name


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
