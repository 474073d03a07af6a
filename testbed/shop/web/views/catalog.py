"""Browsing: the product list with search and pages, the product page, images, ratings and comments.

The product itself is the page's primary data: if the catalogue is down the page is a 503.
The rating and the comment thread are secondary: if their service is down the page still
renders, with a notice naming the missing service in their place.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from testbed.shop.v1 import comment_pb2, product_pb2, rate_pb2
from testbed.shop.web import pages, session
from testbed.shop.web.failures import ServiceFailure
from testbed.shop.web.forms import CommentForm, FormInvalid, ProductQuery, RateForm

PAGE_SIZE = 12
COMMENTS_PAGE = 50
MAX_THREAD_DEPTH = 4
MAX_THREAD_FETCHES = 40
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass
class Thread:
    """A comment and the replies loaded under it."""

    comment: Any
    children: list[Thread] = field(default_factory=list)


async def product_list(request: Request) -> Response:
    try:
        query = ProductQuery.read(request.query_params, request.query_params.getlist("prev"))
    except FormInvalid as bad:
        return pages.render(request, "products.html", {"errors": bad.errors, "products": [], "query": None}, status_code=400)
    ctx = pages.call_context(request)
    try:
        reply = await pages.shop(request).call("product", "ListProducts", product_pb2.ListProductsRequest(page_size=PAGE_SIZE, page_token=query.page_token, filter=query.q), ctx)
    except ServiceFailure as failure:
        if failure.http_status != 400:
            raise
        return pages.render(request, "products.html", {"errors": {"q": failure.user_message()}, "products": [], "query": query}, status_code=400)
    links = {
        "next": _list_url(query.q, reply.next_page_token, [*query.prev, query.page_token]) if reply.next_page_token else "",
        "prev": _list_url(query.q, query.prev[-1], list(query.prev[:-1])) if query.prev else "",
        "first": _list_url(query.q, "", []) if query.page_token else "",
    }
    page_number = len(query.prev) + 1
    return pages.render(request, "products.html", {"products": list(reply.products), "query": query, "links": links, "total": reply.total_size, "page_number": page_number})


def _list_url(q: str, token: str, prev: list[str]) -> str:
    params: list[tuple[str, str]] = []
    if q:
        params.append(("q", q))
    if token:
        params.append(("page_token", token))
    params.extend(("prev", t) for t in prev)
    return "/?" + urlencode(params) if params else "/"


async def product_page(request: Request, *, status_code: int = 200, errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> Response:
    product_id = pages.path_id(request, "product_id")
    viewer = session.viewer(request)
    ctx = pages.call_context(request, viewer)
    shop = pages.shop(request)
    product_task = shop.call("product", "GetProduct", product_pb2.GetProductRequest(id=product_id), ctx)
    rating_task = _secondary(shop.call("rate", "GetProductRating", rate_pb2.GetProductRatingRequest(product_id=product_id), ctx))
    thread_task = _secondary(_load_thread(request, product_id))
    product, (rating, rating_down), (thread, comments_down) = await asyncio.gather(product_task, rating_task, thread_task)
    context = {
        "product": product,
        "rating": rating,
        "rating_down": rating_down,
        "thread": thread or [],
        "comments_down": comments_down,
        "errors": errors or {},
        "values": values or {},
    }
    return pages.render(request, "product.html", context, status_code=status_code)


async def _secondary(awaitable: Any) -> tuple[Any, str]:
    """Result of a call the page can live without, or (None, message) when its service is down."""
    try:
        return await awaitable, ""
    except ServiceFailure as failure:
        if failure.code.name == "NOT_FOUND":
            return None, ""
        if failure.code.name == "UNAUTHENTICATED":
            raise
        return None, failure.user_message()


async def _load_thread(request: Request, product_id: str) -> list[Thread]:
    """Top-level comments and their replies, breadth first, bounded in depth and in calls."""
    shop = pages.shop(request)
    ctx = pages.call_context(request)
    budget = MAX_THREAD_FETCHES

    async def children(parent_id: str) -> list[Thread]:
        reply = await shop.call("comment", "ListComments", comment_pb2.ListCommentsRequest(product_id=product_id, parent_id=parent_id, page_size=COMMENTS_PAGE), ctx)
        return [Thread(comment=c) for c in reply.comments]

    roots = await children("")
    level = roots
    for _ in range(MAX_THREAD_DEPTH):
        todo = [t for t in level if t.comment.reply_count > 0][:budget]
        if not todo:
            break
        budget -= len(todo)
        results = await asyncio.gather(*(children(t.comment.id) for t in todo))
        level = []
        for node, kids in zip(todo, results, strict=True):
            node.children = kids
            level.extend(kids)
    return roots


async def product_image(request: Request) -> Response:
    image_id = pages.path_id(request, "image_id")
    image = await pages.shop(request).call("product", "GetImage", product_pb2.GetImageRequest(id=image_id), pages.call_context(request))
    media_type = image.info.content_type if image.info.content_type in IMAGE_TYPES else "application/octet-stream"
    return Response(image.data, media_type=media_type, headers={"cache-control": "private, max-age=300"})


async def rate_product(request: Request) -> Response:
    product_id = pages.path_id(request, "product_id")
    viewer = pages.require_viewer(request, back=f"/products/{product_id}")
    data = await pages.read_form(request)
    try:
        form = RateForm.read(data)
        await pages.shop(request).call("rate", "RateProduct", rate_pb2.RateProductRequest(product_id=product_id, stars=form.stars, comment=form.comment), pages.call_context(request, viewer), authenticated=True)
    except FormInvalid as bad:
        return await product_page(request, status_code=400, errors=_prefixed("rate", bad.errors), values={"rate_comment": _raw(data, "comment")})
    except ServiceFailure as failure:
        if failure.http_status not in (400, 409):
            raise
        return await product_page(request, status_code=failure.http_status, errors={"rate": failure.user_message()}, values={"rate_comment": _raw(data, "comment")})
    session.flash(request, "info", "Thanks for rating this product.")
    return pages.redirect(f"/products/{product_id}#rating")


async def post_comment(request: Request) -> Response:
    product_id = pages.path_id(request, "product_id")
    viewer = pages.require_viewer(request, back=f"/products/{product_id}")
    data = await pages.read_form(request)
    try:
        form = CommentForm.read(data)
        await pages.shop(request).call("comment", "CreateComment", comment_pb2.CreateCommentRequest(product_id=product_id, parent_id=form.parent_id, body=form.body), pages.call_context(request, viewer), authenticated=True)
    except FormInvalid as bad:
        return await product_page(request, status_code=400, errors=_prefixed("comment", bad.errors), values={"comment_body": _raw(data, "body")})
    except ServiceFailure as failure:
        if failure.http_status not in (400, 409):
            raise
        return await product_page(request, status_code=failure.http_status, errors={"comment": failure.user_message()}, values={"comment_body": _raw(data, "body")})
    session.flash(request, "info", "Your comment was posted.")
    return pages.redirect(f"/products/{product_id}#comments")


async def delete_comment(request: Request) -> Response:
    product_id = pages.path_id(request, "product_id")
    viewer = pages.require_viewer(request, back=f"/products/{product_id}")
    comment_id = pages.path_id(request, "comment_id")
    await pages.read_form(request)
    await pages.shop(request).call("comment", "DeleteComment", comment_pb2.DeleteCommentRequest(id=comment_id), pages.call_context(request, viewer), authenticated=True)
    session.flash(request, "info", "Your comment was deleted.")
    return pages.redirect(f"/products/{product_id}#comments")


def _prefixed(form: str, errors: dict[str, str]) -> dict[str, str]:
    """Field errors of one of the product page's forms, keyed `<form>_<field>`, plus `<form>` for the first."""
    out = {f"{form}_{k}": v for k, v in errors.items()}
    out[form] = next(iter(errors.values()), "")
    return out


def _raw(data: Any, name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""
