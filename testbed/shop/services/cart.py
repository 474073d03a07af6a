"""The cart service: one cart per user, and Commit, which turns the cart into an order.

Commit, and why it never places a double order:
  1. Read the cart: its lines and its checkout generation G. An empty cart is
     FAILED_PRECONDITION "cart is empty".
  2. Ask product for every line (in parallel) for the current name and price and check
     stock >= quantity; a product that is gone or short is FAILED_PRECONDITION naming it.
     Stock is only checked, not reserved or decremented: two carts can both pass the check
     for the last unit. Reservation would belong to product/order, which do not offer it.
  3. Call order.CreateOrder with idempotency_key "cart:<user_id>:<G>". The order service
     keeps one order per (user, key), so any number of attempts with G yield one order.
  4. Settle the cart: atomically, and only if the generation is still G, take the ordered
     quantities off the cart and increment the generation to G+1.
If step 4 fails (store down, process killed), the cart still holds G and its lines, so a
retried Commit sends the same key and gets the same order back, then settles. Once settled,
the next Commit uses G+1, which is a new order. Settling subtracts what the order bought
rather than emptying the cart, so anything added while a commit was in flight stays in the
cart instead of silently vanishing. If settling fails after the order exists, Commit still
answers with the order (the purchase happened) and logs a warning; the cart shows the lines
until a retried Commit settles them.

Carts are kept in SQL by default or in Redis when redis_url is set (cart_store.py).
"""

from __future__ import annotations

import logging

import grpc

from testbed.shop.runtime import validate
from testbed.shop.runtime.auth import Authenticator
from testbed.shop.runtime.deps import Toolkit
from testbed.shop.runtime.jsonlog import log
from testbed.shop.runtime.server import ServiceDefinition, serve
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.runtime.status import DependencyError, FailedPrecondition, RpcError
from testbed.shop.services.cart_store import MAX_LINE_QUANTITY, CartState, CartStore, open_store
from testbed.shop.v1 import cart_pb2, cart_pb2_grpc, order_pb2, order_pb2_grpc, product_pb2, product_pb2_grpc

PRODUCT_DEADLINE_S = 2.0
ORDER_DEADLINE_S = 10.0


def order_key(user_id: str, generation: int) -> str:
    return f"cart:{user_id}:{generation}"


def _to_proto(user_id: str, state: CartState) -> cart_pb2.Cart:
    items = [cart_pb2.CartItem(product_id=pid, quantity=qty) for pid, qty in state.items.items()]
    return cart_pb2.Cart(user_id=user_id, items=items, generation=state.generation)


class CartServicer(cart_pb2_grpc.CartServiceServicer):
    def __init__(self, store: CartStore, auth: Authenticator, products: product_pb2_grpc.ProductServiceStub, orders: order_pb2_grpc.OrderServiceStub, logger: logging.Logger) -> None:
        self._store = store
        self._auth = auth
        self._products = products
        self._orders = orders
        self._logger = logger

    def GetCart(self, request: cart_pb2.GetCartRequest, context: grpc.ServicerContext) -> cart_pb2.Cart:
        user_id = validate.ident("user_id", request.user_id)
        self._auth.owner(user_id)
        return _to_proto(user_id, self._store.get(user_id))

    def AddItem(self, request: cart_pb2.AddItemRequest, context: grpc.ServicerContext) -> cart_pb2.Cart:
        user_id = validate.ident("user_id", request.user_id)
        product_id = validate.ident("product_id", request.product_id)
        quantity = validate.int_range("quantity", request.quantity, 1, MAX_LINE_QUANTITY)
        self._auth.owner(user_id)
        try:
            self._products.GetProduct(product_pb2.GetProductRequest(id=product_id), timeout=PRODUCT_DEADLINE_S)
        except grpc.RpcError as err:
            raise DependencyError("product", err) from None
        return _to_proto(user_id, self._store.add(user_id, product_id, quantity))

    def RemoveItem(self, request: cart_pb2.RemoveItemRequest, context: grpc.ServicerContext) -> cart_pb2.Cart:
        user_id = validate.ident("user_id", request.user_id)
        product_id = validate.ident("product_id", request.product_id)
        quantity = validate.int_range("quantity", request.quantity, 0, MAX_LINE_QUANTITY)
        self._auth.owner(user_id)
        return _to_proto(user_id, self._store.remove(user_id, product_id, quantity))

    def _priced_lines(self, items: dict[str, int]) -> list[order_pb2.OrderLine]:
        """Current name and price of every line, after checking each product exists and has the stock."""
        futures = {pid: self._products.GetProduct.future(product_pb2.GetProductRequest(id=pid), timeout=PRODUCT_DEADLINE_S) for pid in items}
        lines = []
        for pid, future in futures.items():
            try:
                product = future.result()
            except grpc.RpcError as err:
                if isinstance(err, grpc.Call) and err.code() == grpc.StatusCode.NOT_FOUND:
                    raise FailedPrecondition(f"product {pid} is no longer available; remove it from the cart") from None
                raise DependencyError("product", err) from None
            if product.stock < items[pid]:
                raise FailedPrecondition(f"product {pid} ({product.name}) has {product.stock} in stock, the cart wants {items[pid]}")
            lines.append(order_pb2.OrderLine(product_id=pid, product_name=product.name, quantity=items[pid], unit_price_cents=product.price_cents))
        return lines

    def Commit(self, request: cart_pb2.CommitRequest, context: grpc.ServicerContext) -> cart_pb2.CommitResponse:
        user_id = validate.ident("user_id", request.user_id)
        payment_info_id = validate.ident("payment_info_id", request.payment_info_id)
        self._auth.owner(user_id)
        state = self._store.get(user_id)
        if not state.items:
            raise FailedPrecondition("cart is empty")
        create = order_pb2.CreateOrderRequest(
            user_id=user_id, payment_info_id=payment_info_id, lines=self._priced_lines(state.items),
            idempotency_key=order_key(user_id, state.generation),
        )
        try:
            order = self._orders.CreateOrder(create, timeout=ORDER_DEADLINE_S)
        except grpc.RpcError as err:
            raise DependencyError("order", err) from None
        ordered: dict[str, int] = {}
        for line in order.lines:
            ordered[line.product_id] = ordered.get(line.product_id, 0) + line.quantity
        try:
            settled = self._store.settle(user_id, state.generation, ordered)
        except RpcError as err:
            log(self._logger, logging.WARNING, "cart not settled after order; a retried Commit returns the same order",
                user_id=user_id, order_id=order.id, generation=state.generation, error=err.message)
        else:
            if not settled:
                log(self._logger, logging.INFO, "cart already settled by a concurrent commit", user_id=user_id, order_id=order.id, generation=state.generation)
        return cart_pb2.CommitResponse(order=order)


def build(settings: ServiceSettings) -> ServiceDefinition:
    kit = Toolkit(settings)
    store = open_store(redis_url=settings.redis_url, sql_url=settings.sql_url())
    servicer = CartServicer(
        store, kit.authenticator(),
        product_pb2_grpc.ProductServiceStub(kit.channel("product")),
        order_pb2_grpc.OrderServiceStub(kit.channel("order")),
        kit.logger,
    )

    def stop() -> None:
        store.close()
        kit.close()

    return ServiceDefinition(
        register=lambda server: cart_pb2_grpc.add_CartServiceServicer_to_server(servicer, server),
        service_names=[cart_pb2.DESCRIPTOR.services_by_name["CartService"].full_name],
        on_stop=stop,
    )


def run(settings: ServiceSettings) -> int:
    return serve(settings, build)
