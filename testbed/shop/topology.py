"""Who calls whom in the shop. The launcher, the manifests and the NetworkPolicies derive from this."""

from __future__ import annotations

GRPC_SERVICES: tuple[str, ...] = ("user", "product", "payment", "order", "cart", "point", "delivery", "comment", "rate")
ALL_SERVICES: tuple[str, ...] = (*GRPC_SERVICES, "web")

DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "user": (),
    "product": ("user",),
    "payment": ("user",),
    "order": ("user", "payment"),
    "cart": ("user", "product", "order"),
    "point": ("user", "order"),
    "delivery": ("user", "order"),
    "comment": ("user", "product"),
    "rate": ("user", "comment", "product"),
    "web": GRPC_SERVICES,
}

# Full gRPC service name(s) each process serves (health checks use these).
GRPC_NAMES: dict[str, tuple[str, ...]] = {
    "user": ("testbed.shop.v1.UserService",),
    "product": ("testbed.shop.v1.ProductService",),
    "payment": ("testbed.shop.v1.PaymentInfoService",),
    "order": ("testbed.shop.v1.OrderService", "testbed.shop.v1.EventFeed"),
    "cart": ("testbed.shop.v1.CartService",),
    "point": ("testbed.shop.v1.PointService",),
    "delivery": ("testbed.shop.v1.DeliveryStatusService",),
    "comment": ("testbed.shop.v1.CommentService",),
    "rate": ("testbed.shop.v1.RateService",),
}
