"""Small in-memory gRPC implementations of the nine shop services, served in-process for web tests.

They implement the generated servicer bases on a real grpc.Server, so the web front end is
exercised over real gRPC (metadata, status codes, deadlines) without the service processes.
Semantics follow the proto comments closely enough for the front end: tokens, user scoping,
INVALID_ARGUMENT with field messages, FAILED_PRECONDITION for an empty cart, and so on.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import empty_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from testbed.shop.v1 import (
    cart_pb2,
    cart_pb2_grpc,
    comment_pb2,
    comment_pb2_grpc,
    delivery_pb2,
    delivery_pb2_grpc,
    order_pb2,
    order_pb2_grpc,
    payment_pb2,
    payment_pb2_grpc,
    point_pb2,
    point_pb2_grpc,
    product_pb2,
    product_pb2_grpc,
    rate_pb2,
    rate_pb2_grpc,
    user_pb2,
    user_pb2_grpc,
)

SLOW_FILTER = "slow"  # ListProducts with this filter takes 1.5 s (for graceful-shutdown tests)
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f0a7d10000000049454e44ae426082"
)


@dataclass
class World:
    """All the fake services' state, shared so Commit can create orders and credit points."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    users: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> {email, password, name}
    products: list[product_pb2.Product] = field(default_factory=list)
    carts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    cards: dict[str, payment_pb2.PaymentInfo] = field(default_factory=dict)
    orders: dict[str, order_pb2.Order] = field(default_factory=dict)
    deliveries: dict[str, delivery_pb2.Delivery] = field(default_factory=dict)
    points: dict[str, list[point_pb2.PointEntry]] = field(default_factory=lambda: defaultdict(list))
    comments: dict[str, comment_pb2.Comment] = field(default_factory=dict)
    ratings: dict[tuple[str, str], int] = field(default_factory=dict)
    request_ids: list[str] = field(default_factory=list)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids)}"

    def add_product(self, name: str, price_cents: int, stock: int = 10, description: str = "", with_image: bool = False) -> product_pb2.Product:
        pid = self.new_id("p")
        product = product_pb2.Product(id=pid, name=name, description=description, price_cents=price_cents, stock=stock, image_id=f"img-{pid}" if with_image else "")
        self.products.insert(0, product)
        return product


def _meta(context: grpc.ServicerContext) -> dict[str, str]:
    return {k: v for k, v in context.invocation_metadata()}


def _caller_request_id(world: World, context: grpc.ServicerContext) -> None:
    rid = _meta(context).get("x-request-id")
    if rid:
        world.request_ids.append(rid)


def _caller(world: World, context: grpc.ServicerContext) -> str:
    _caller_request_id(world, context)
    md = _meta(context)
    auth = md.get("authorization", "")
    if not auth.startswith("Bearer tok-") or auth.removeprefix("Bearer tok-") not in world.users:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid token")
    return auth.removeprefix("Bearer tok-")


def _own(world: World, context: grpc.ServicerContext, user_id: str) -> str:
    caller = _caller(world, context)
    if user_id != caller:
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "user_id: not the caller")
    return caller


class Users(user_pb2_grpc.UserServiceServicer):
    def __init__(self, world: World) -> None:
        self.w = world

    def SignUp(self, request: Any, context: grpc.ServicerContext) -> Any:
        if len(request.password) < 8:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "password: must be at least 8 characters")
        with self.w.lock:
            if any(u["email"] == request.email for u in self.w.users.values()):
                context.abort(grpc.StatusCode.ALREADY_EXISTS, "email: already registered")
            uid = self.w.new_id("u")
            self.w.users[uid] = {"email": request.email, "password": request.password, "name": request.display_name}
        return user_pb2.User(id=uid, email=request.email, display_name=request.display_name)

    def Authenticate(self, request: Any, context: grpc.ServicerContext) -> Any:
        for uid, u in self.w.users.items():
            if u["email"] == request.email and u["password"] == request.password:
                reply = user_pb2.AuthenticateResponse(access_token=f"tok-{uid}", user_id=uid)
                reply.expires_at.GetCurrentTime()
                reply.expires_at.seconds += 3600
                return reply
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "wrong email or password")

    def GetUser(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _own(self.w, context, request.id)
        u = self.w.users[uid]
        return user_pb2.User(id=uid, email=u["email"], display_name=u["name"])


class Products(product_pb2_grpc.ProductServiceServicer):
    def __init__(self, world: World) -> None:
        self.w = world

    def ListProducts(self, request: Any, context: grpc.ServicerContext) -> Any:
        _caller_request_id(self.w, context)
        if request.filter == SLOW_FILTER:
            time.sleep(1.5)
        if request.page_token and not request.page_token.isdigit():
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "page_token: malformed")
        text = request.filter.lower()
        matches = [p for p in self.w.products if text in p.name.lower() or text in p.description.lower()]
        start = int(request.page_token or 0)
        size = request.page_size or 10
        page = matches[start : start + size]
        token = str(start + size) if start + size < len(matches) else ""
        return product_pb2.ListProductsResponse(products=page, next_page_token=token, total_size=len(matches))

    def GetProduct(self, request: Any, context: grpc.ServicerContext) -> Any:
        for p in self.w.products:
            if p.id == request.id:
                return p
        context.abort(grpc.StatusCode.NOT_FOUND, "product not found")

    def GetImage(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not request.id.startswith("img-"):
            context.abort(grpc.StatusCode.NOT_FOUND, "image not found")
        info = product_pb2.ImageInfo(id=request.id, product_id=request.id[4:], content_type="image/png", size_bytes=len(PNG_1PX))
        return product_pb2.Image(info=info, data=PNG_1PX)


class Carts(cart_pb2_grpc.CartServiceServicer):
    def __init__(self, world: World) -> None:
        self.w = world

    def _cart(self, uid: str) -> Any:
        items = [cart_pb2.CartItem(product_id=k, quantity=v) for k, v in self.w.carts[uid].items()]
        return cart_pb2.Cart(user_id=uid, items=items)

    def GetCart(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._cart(_own(self.w, context, request.user_id))

    def AddItem(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _own(self.w, context, request.user_id)
        if not 1 <= request.quantity <= 99:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "quantity: must be between 1 and 99")
        if not any(p.id == request.product_id for p in self.w.products):
            context.abort(grpc.StatusCode.NOT_FOUND, "product_id: no such product")
        cart = self.w.carts[uid]
        cart[request.product_id] = cart.get(request.product_id, 0) + request.quantity
        return self._cart(uid)

    def RemoveItem(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _own(self.w, context, request.user_id)
        self.w.carts[uid].pop(request.product_id, None)
        return self._cart(uid)

    def Commit(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _own(self.w, context, request.user_id)
        cart = self.w.carts[uid]
        if not cart:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "cart is empty")
        card = self.w.cards.get(request.payment_info_id)
        if card is None or card.user_id != uid:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "payment_info_id: no such payment method")
        by_id = {p.id: p for p in self.w.products}
        lines = [order_pb2.OrderLine(product_id=k, product_name=by_id[k].name, quantity=v, unit_price_cents=by_id[k].price_cents) for k, v in cart.items()]
        order = order_pb2.Order(id=self.w.new_id("o"), user_id=uid, payment_info_id=card.id, lines=lines, total_cents=sum(line.quantity * line.unit_price_cents for line in lines))
        order.created_at.GetCurrentTime()
        self.w.orders[order.id] = order
        self.w.deliveries[order.id] = delivery_pb2.Delivery(order_id=order.id, user_id=uid, state=delivery_pb2.PENDING, version=1)
        self.w.points[uid].append(point_pb2.PointEntry(order_id=order.id, points=order.total_cents // 100, reason="order"))
        cart.clear()
        return cart_pb2.CommitResponse(order=order)


class Orders(order_pb2_grpc.OrderServiceServicer):
    def __init__(self, world: World) -> None:
        self.w = world

    def GetOrder(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _caller(self.w, context)
        order = self.w.orders.get(request.id)
        if order is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "order not found")
        if order.user_id != uid:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "not your order")
        return order

    def ListOrders(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _own(self.w, context, request.user_id)
        return order_pb2.ListOrdersResponse(orders=[o for o in self.w.orders.values() if o.user_id == uid])


class Payments(payment_pb2_grpc.PaymentInfoServiceServicer):
    def __init__(self, world: World) -> None:
        self.w = world

    def CreatePaymentInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _own(self.w, context, request.user_id)
        if request.card_number.endswith("0000"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "card_number: declined by the fake")
        info = payment_pb2.PaymentInfo(id=self.w.new_id("pay"), user_id=uid, last4=request.card_number[-4:], brand="visa", cardholder_name=request.cardholder_name, expiry_month=request.expiry_month, expiry_year=request.expiry_year)
        self.w.cards[info.id] = info
        return info

    def ListPaymentInfos(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _own(self.w, context, request.user_id)
        return payment_pb2.ListPaymentInfosResponse(payment_infos=[c for c in self.w.cards.values() if c.user_id == uid])


class Points(point_pb2_grpc.PointServiceServicer):
    def __init__(self, world: World) -> None:
        self.w = world

    def GetBalance(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _own(self.w, context, request.user_id)
        return point_pb2.Balance(user_id=uid, points=sum(e.points for e in self.w.points[uid]))

    def ListHistory(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _own(self.w, context, request.user_id)
        return point_pb2.ListHistoryResponse(entries=self.w.points[uid])


class Deliveries(delivery_pb2_grpc.DeliveryStatusServiceServicer):
    def __init__(self, world: World) -> None:
        self.w = world

    def GetDelivery(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _caller(self.w, context)
        record = self.w.deliveries.get(request.order_id)
        if record is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no delivery")
        if record.user_id != uid:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "not yours")
        return record

    def UpdateStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.GetDelivery(delivery_pb2.GetDeliveryRequest(order_id=request.order_id), context)
        if record.state not in (delivery_pb2.PENDING, delivery_pb2.PACKED) or request.state != delivery_pb2.CANCELLED:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "state: transition not allowed")
        record.state = request.state
        record.version += 1
        return record


class Comments(comment_pb2_grpc.CommentServiceServicer):
    def __init__(self, world: World) -> None:
        self.w = world

    def CreateComment(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _caller(self.w, context)
        if not request.body.strip():
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "body: must not be empty")
        if request.parent_id:
            parent = self.w.comments.get(request.parent_id)
            if parent is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "parent_id: no such comment")
            parent.reply_count += 1
        comment = comment_pb2.Comment(id=self.w.new_id("c"), product_id=request.product_id, parent_id=request.parent_id, author_id=uid, body=request.body)
        self.w.comments[comment.id] = comment
        return comment

    def ListComments(self, request: Any, context: grpc.ServicerContext) -> Any:
        found = [c for c in self.w.comments.values() if c.product_id == request.product_id and c.parent_id == request.parent_id]
        return comment_pb2.ListCommentsResponse(comments=found)

    def DeleteComment(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _caller(self.w, context)
        comment = self.w.comments.get(request.id)
        if comment is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no comment")
        if comment.author_id != uid:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "not your comment")
        comment.deleted, comment.body = True, ""
        return empty_pb2.Empty()


class Rates(rate_pb2_grpc.RateServiceServicer):
    def __init__(self, world: World) -> None:
        self.w = world

    def RateProduct(self, request: Any, context: grpc.ServicerContext) -> Any:
        uid = _caller(self.w, context)
        if not 1 <= request.stars <= 5:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "stars: must be 1 to 5")
        self.w.ratings[(request.product_id, uid)] = request.stars
        return rate_pb2.Rating(product_id=request.product_id, user_id=uid, stars=request.stars)

    def GetProductRating(self, request: Any, context: grpc.ServicerContext) -> Any:
        stars = [s for (pid, _), s in self.w.ratings.items() if pid == request.product_id]
        return rate_pb2.ProductRating(product_id=request.product_id, average=sum(stars) / len(stars) if stars else 0.0, count=len(stars))


SERVICERS = {
    "user": (Users, user_pb2_grpc.add_UserServiceServicer_to_server),
    "product": (Products, product_pb2_grpc.add_ProductServiceServicer_to_server),
    "cart": (Carts, cart_pb2_grpc.add_CartServiceServicer_to_server),
    "order": (Orders, order_pb2_grpc.add_OrderServiceServicer_to_server),
    "payment": (Payments, payment_pb2_grpc.add_PaymentInfoServiceServicer_to_server),
    "point": (Points, point_pb2_grpc.add_PointServiceServicer_to_server),
    "delivery": (Deliveries, delivery_pb2_grpc.add_DeliveryStatusServiceServicer_to_server),
    "comment": (Comments, comment_pb2_grpc.add_CommentServiceServicer_to_server),
    "rate": (Rates, rate_pb2_grpc.add_RateServiceServicer_to_server),
}


@dataclass
class FakeShop:
    """One grpc.Server per service on 127.0.0.1, all sharing a World."""

    world: World = field(default_factory=World)
    servers: dict[str, grpc.Server] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def start(self, names: tuple[str, ...] = tuple(SERVICERS)) -> None:
        for name in names:
            servicer_class, add = SERVICERS[name]
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
            add(servicer_class(self.world), server)
            health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
            port = server.add_insecure_port(f"127.0.0.1:{self.ports.get(name, 0)}")
            server.start()
            self.servers[name] = server
            self.ports[name] = port
            self.addresses[name] = f"127.0.0.1:{port}"

    def stop(self, names: tuple[str, ...] | None = None) -> None:
        for name in names or tuple(self.servers):
            server = self.servers.pop(name, None)
            if server is not None:
                server.stop(grace=None).wait(5)


__all__ = ["FakeShop", "World", "health_pb2"]
