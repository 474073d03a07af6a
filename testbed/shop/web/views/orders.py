"""My orders, one order with its delivery status (and cancelling it), and my points.

Delivery records and point credits are made asynchronously from OrderPlaced events, so a
fresh order may have neither yet: the pages say "being processed" rather than failing.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import grpc
from starlette.requests import Request
from starlette.responses import Response

from testbed.shop.v1 import delivery_pb2, order_pb2, point_pb2
from testbed.shop.web import pages, session
from testbed.shop.web.backends import CallContext
from testbed.shop.web.failures import ServiceFailure
from testbed.shop.web.forms import MAX_PAGE_TOKEN_CHARS

PAGE_SIZE = 20
CANCELLABLE = frozenset({delivery_pb2.PENDING, delivery_pb2.PACKED})


def _page_token(request: Request) -> str:
    token = request.query_params.get("page_token", "")
    return token if len(token) <= MAX_PAGE_TOKEN_CHARS else ""


async def orders_page(request: Request) -> Response:
    viewer = pages.require_viewer(request)
    token = _page_token(request)
    request_pb = order_pb2.ListOrdersRequest(user_id=viewer.user_id, page_size=PAGE_SIZE, page_token=token)
    reply = await pages.shop(request).call("order", "ListOrders", request_pb, pages.call_context(request, viewer), authenticated=True)
    links = {"next": "/orders?" + urlencode({"page_token": reply.next_page_token}) if reply.next_page_token else "", "first": "/orders" if token else ""}
    return pages.render(request, "orders.html", {"orders": list(reply.orders), "links": links})


async def order_page(request: Request) -> Response:
    viewer = pages.require_viewer(request)
    order_id = pages.path_id(request, "order_id")
    shop = pages.shop(request)
    ctx = pages.call_context(request, viewer)
    order, (delivery, delivery_down) = await asyncio.gather(
        shop.call("order", "GetOrder", order_pb2.GetOrderRequest(id=order_id), ctx, authenticated=True),
        _delivery(request, order_id, ctx),
    )
    context = {
        "order": order,
        "delivery": delivery,
        "delivery_state": delivery_pb2.DeliveryState.Name(delivery.state) if delivery else "",
        "cancellable": delivery is not None and delivery.state in CANCELLABLE,
        "delivery_down": delivery_down,
    }
    return pages.render(request, "order.html", context)


async def _delivery(request: Request, order_id: str, ctx: CallContext) -> tuple[Any, str]:
    """The order's delivery record, or None: not created yet, or (with a message) the service is down."""
    try:
        return await pages.shop(request).call("delivery", "GetDelivery", delivery_pb2.GetDeliveryRequest(order_id=order_id), ctx, authenticated=True), ""
    except ServiceFailure as failure:
        if failure.code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
            raise
        if failure.code == grpc.StatusCode.NOT_FOUND:
            return None, ""
        return None, failure.user_message()


async def cancel_order(request: Request) -> Response:
    order_id = pages.path_id(request, "order_id")
    viewer = pages.require_viewer(request, back=f"/orders/{order_id}")
    data = await pages.read_form(request)
    version = data.get("version")
    expected = int(version) if isinstance(version, str) and version.isascii() and version.isdigit() and len(version) < 19 else 0
    request_pb = delivery_pb2.UpdateStatusRequest(order_id=order_id, state=delivery_pb2.CANCELLED, expected_version=expected)
    try:
        await pages.shop(request).call("delivery", "UpdateStatus", request_pb, pages.call_context(request, viewer), authenticated=True)
    except ServiceFailure as failure:
        if failure.http_status not in (400, 409):
            raise
        session.flash(request, "error", f"The order could not be cancelled: {failure.user_message()}")
        return pages.redirect(f"/orders/{order_id}")
    session.flash(request, "info", "Your order was cancelled.")
    return pages.redirect(f"/orders/{order_id}")


async def points_page(request: Request) -> Response:
    viewer = pages.require_viewer(request)
    token = _page_token(request)
    shop = pages.shop(request)
    ctx = pages.call_context(request, viewer)
    balance, history = await asyncio.gather(
        shop.call("point", "GetBalance", point_pb2.GetBalanceRequest(user_id=viewer.user_id), ctx, authenticated=True),
        shop.call("point", "ListHistory", point_pb2.ListHistoryRequest(user_id=viewer.user_id, page_size=PAGE_SIZE, page_token=token), ctx, authenticated=True),
    )
    links = {"next": "/points?" + urlencode({"page_token": history.next_page_token}) if history.next_page_token else "", "first": "/points" if token else ""}
    return pages.render(request, "points.html", {"balance": balance.points, "entries": list(history.entries), "links": links})
