"""Catalogue listing: pagination covers every product once; the text filter narrows it."""

from __future__ import annotations

import secrets

from testbed.shop.v1 import product_pb2
from testbed.testing.shopflows import make_product


def test_pagination_and_filter(shop, user_factory) -> None:
    seller = user_factory()
    tag = f"zq{secrets.token_hex(4)}"
    made = {make_product(shop, seller, f"{tag} item {i}").id for i in range(7)}
    make_product(shop, seller, f"{tag}-other gadget")

    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = shop.product.ListProducts(product_pb2.ListProductsRequest(page_size=3, page_token=token, filter=f"{tag} ITEM"))
        assert len(page.products) <= 3
        seen += [p.id for p in page.products]
        pages += 1
        token = page.next_page_token
        if not token:
            break
        assert pages < 10, "pagination does not terminate"
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    assert pages >= 3
    everything = shop.product.ListProducts(product_pb2.ListProductsRequest(page_size=100, filter=tag))
    assert len(everything.products) == 8
    assert shop.product.ListProducts(product_pb2.ListProductsRequest(filter=f"{tag}-nothing-matches")).products == []
