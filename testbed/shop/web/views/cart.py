"""The cart: add from a product page, remove a line, and check out with a saved or a new card.

Checkout refuses an empty cart with a message before any payment call. A new card is
saved with the payment service first (it validates the number again and keeps only last-4
plus a token), then Cart.Commit turns the cart into an order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import grpc
from starlette.requests import Request
from starlette.responses import Response

from testbed.shop.v1 import cart_pb2, payment_pb2, product_pb2
from testbed.shop.web import pages, session
from testbed.shop.web.backends import CallContext
from testbed.shop.web.failures import ServiceFailure
from testbed.shop.web.forms import NEW_CARD, AddToCartForm, CheckoutForm, FormInvalid
from testbed.shop.web.views.catalog import product_page

EMPTY_CART = "Your cart is empty. Add a product before checking out."
CARD_FIELDS = ("card_number", "cardholder_name", "expiry_month", "expiry_year", "payment_choice")


@dataclass(frozen=True)
class CartLine:
    product_id: str
    quantity: int
    product: Any  # product_pb2.Product, or None when it is no longer in the catalogue

    @property
    def subtotal_cents(self) -> int:
        return self.product.price_cents * self.quantity if self.product else 0


async def add_to_cart(request: Request) -> Response:
    product_id = pages.path_id(request, "product_id")
    viewer = pages.require_viewer(request, back=f"/products/{product_id}")
    data = await pages.read_form(request)
    try:
        form = AddToCartForm.read(data)
        request_pb = cart_pb2.AddItemRequest(user_id=viewer.user_id, product_id=product_id, quantity=form.quantity)
        await pages.shop(request).call("cart", "AddItem", request_pb, pages.call_context(request, viewer), authenticated=True)
    except FormInvalid as bad:
        return await product_page(request, status_code=400, errors={"cart": bad.errors["quantity"]})
    except ServiceFailure as failure:
        if failure.http_status not in (400, 404, 409):
            raise
        return await product_page(request, status_code=failure.http_status, errors={"cart": failure.user_message()})
    session.flash(request, "info", f"Added {form.quantity} to your cart.")
    return pages.redirect(f"/products/{product_id}")


async def remove_from_cart(request: Request) -> Response:
    viewer = pages.require_viewer(request, back="/cart")
    product_id = pages.path_id(request, "product_id")
    await pages.read_form(request)
    request_pb = cart_pb2.RemoveItemRequest(user_id=viewer.user_id, product_id=product_id, quantity=0)
    await pages.shop(request).call("cart", "RemoveItem", request_pb, pages.call_context(request, viewer), authenticated=True)
    session.flash(request, "info", "Removed from your cart.")
    return pages.redirect("/cart")


async def cart_page(request: Request) -> Response:
    viewer = pages.require_viewer(request)
    return await _render_cart(request, viewer)


async def checkout(request: Request) -> Response:
    viewer = pages.require_viewer(request, back="/cart")
    data = await pages.read_form(request)
    values = {k: data.get(k) for k in CARD_FIELDS if isinstance(data.get(k), str) and k != "card_number"}
    shop = pages.shop(request)
    ctx = pages.call_context(request, viewer)
    cart = await shop.call("cart", "GetCart", cart_pb2.GetCartRequest(user_id=viewer.user_id), ctx, authenticated=True)
    if not cart.items:
        return await _render_cart(request, viewer, status_code=409, errors={"checkout": EMPTY_CART}, values=values)
    try:
        form = CheckoutForm.read(data)
        payment_info_id = form.payment_info_id or await _save_card(request, viewer, form)
        reply = await shop.call("cart", "Commit", cart_pb2.CommitRequest(user_id=viewer.user_id, payment_info_id=payment_info_id), ctx, authenticated=True)
    except FormInvalid as bad:
        errors = dict(bad.errors)
        errors["checkout"] = "Please correct the payment details."
        return await _render_cart(request, viewer, status_code=400, errors=errors, values=values)
    except ServiceFailure as failure:
        if failure.http_status not in (400, 404, 409):
            raise
        errors = failure.form_errors(CARD_FIELDS, fallback="checkout")
        errors.setdefault("checkout", "Please correct the payment details.")
        return await _render_cart(request, viewer, status_code=failure.http_status, errors=errors, values=values)
    session.flash(request, "info", "Thank you! Your order was placed.")
    return pages.redirect(f"/orders/{reply.order.id}")


async def _save_card(request: Request, viewer: session.Viewer, form: CheckoutForm) -> str:
    card = form.new_card
    assert card is not None  # CheckoutForm gives either an id or a card
    request_pb = payment_pb2.CreatePaymentInfoRequest(
        user_id=viewer.user_id, card_number=card.card_number, cardholder_name=card.cardholder_name, expiry_month=card.expiry_month, expiry_year=card.expiry_year
    )
    info = await pages.shop(request).call("payment", "CreatePaymentInfo", request_pb, pages.call_context(request, viewer), authenticated=True)
    return info.id


async def _render_cart(request: Request, viewer: session.Viewer, *, status_code: int = 200, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> Response:
    shop = pages.shop(request)
    ctx = pages.call_context(request, viewer)
    cart_task = shop.call("cart", "GetCart", cart_pb2.GetCartRequest(user_id=viewer.user_id), ctx, authenticated=True)
    cards_task = _saved_cards(request, viewer, ctx)
    cart, (cards, cards_down) = await asyncio.gather(cart_task, cards_task)
    lines = await asyncio.gather(*(_line(request, ctx, item) for item in cart.items))
    values = dict(values or {})
    values.setdefault("payment_choice", cards[0].id if cards else NEW_CARD)
    context = {
        "lines": lines,
        "total_cents": sum(line.subtotal_cents for line in lines),
        "cards": cards,
        "cards_down": cards_down,
        "empty_message": EMPTY_CART if not lines else "",
        "errors": errors or {},
        "values": values,
        "new_card": NEW_CARD,
    }
    return pages.render(request, "cart.html", context, status_code=status_code)


async def _saved_cards(request: Request, viewer: session.Viewer, ctx: CallContext) -> tuple[list[Any], str]:
    try:
        reply = await pages.shop(request).call("payment", "ListPaymentInfos", payment_pb2.ListPaymentInfosRequest(user_id=viewer.user_id), ctx, authenticated=True)
    except ServiceFailure as failure:
        if not failure.is_outage:
            raise
        return [], failure.user_message()
    return list(reply.payment_infos), ""


async def _line(request: Request, ctx: CallContext, item: Any) -> CartLine:
    try:
        product = await pages.shop(request).call("product", "GetProduct", product_pb2.GetProductRequest(id=item.product_id), ctx)
    except ServiceFailure as failure:
        if failure.code != grpc.StatusCode.NOT_FOUND:
            raise
        product = None
    return CartLine(product_id=item.product_id, quantity=item.quantity, product=product)
