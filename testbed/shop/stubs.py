"""Ready gRPC stubs for every shop service, for suites, tests, benchmarks and seeding."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import grpc

from testbed.shop.runtime.clients import bearer, open_channel
from testbed.shop.v1 import (
    cart_pb2_grpc,
    comment_pb2_grpc,
    delivery_pb2_grpc,
    events_pb2_grpc,
    order_pb2_grpc,
    payment_pb2_grpc,
    point_pb2_grpc,
    product_pb2_grpc,
    rate_pb2_grpc,
    user_pb2,
    user_pb2_grpc,
)


class Stubs:
    """One channel per service (created lazily) and its stub."""

    def __init__(self, addresses: Mapping[str, str], deadline_s: float = 10.0) -> None:
        self.addresses = dict(addresses)
        self._deadline_s = deadline_s
        self._channels: dict[str, grpc.Channel] = {}

    def channel(self, service: str) -> grpc.Channel:
        if service not in self._channels:
            self._channels[service] = open_channel(self.addresses[service], default_deadline_s=self._deadline_s)
        return self._channels[service]

    @property
    def user(self) -> user_pb2_grpc.UserServiceStub:
        return user_pb2_grpc.UserServiceStub(self.channel("user"))

    @property
    def product(self) -> product_pb2_grpc.ProductServiceStub:
        return product_pb2_grpc.ProductServiceStub(self.channel("product"))

    @property
    def cart(self) -> cart_pb2_grpc.CartServiceStub:
        return cart_pb2_grpc.CartServiceStub(self.channel("cart"))

    @property
    def order(self) -> order_pb2_grpc.OrderServiceStub:
        return order_pb2_grpc.OrderServiceStub(self.channel("order"))

    @property
    def feed(self) -> events_pb2_grpc.EventFeedStub:
        return events_pb2_grpc.EventFeedStub(self.channel("order"))

    @property
    def payment(self) -> payment_pb2_grpc.PaymentInfoServiceStub:
        return payment_pb2_grpc.PaymentInfoServiceStub(self.channel("payment"))

    @property
    def point(self) -> point_pb2_grpc.PointServiceStub:
        return point_pb2_grpc.PointServiceStub(self.channel("point"))

    @property
    def delivery(self) -> delivery_pb2_grpc.DeliveryStatusServiceStub:
        return delivery_pb2_grpc.DeliveryStatusServiceStub(self.channel("delivery"))

    @property
    def comment(self) -> comment_pb2_grpc.CommentServiceStub:
        return comment_pb2_grpc.CommentServiceStub(self.channel("comment"))

    @property
    def rate(self) -> rate_pb2_grpc.RateServiceStub:
        return rate_pb2_grpc.RateServiceStub(self.channel("rate"))

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()
        self._channels.clear()


@dataclass(frozen=True)
class Account:
    user_id: str
    email: str
    password: str
    token: str

    @property
    def md(self) -> list[tuple[str, str]]:
        """Call metadata carrying this account's token."""
        return bearer(self.token)


def sign_up(stubs: Stubs, email: str, password: str, display_name: str = "Test User") -> Account:
    stubs.user.SignUp(user_pb2.SignUpRequest(email=email, password=password, display_name=display_name))
    return log_in(stubs, email, password)


def log_in(stubs: Stubs, email: str, password: str) -> Account:
    auth = stubs.user.Authenticate(user_pb2.AuthenticateRequest(email=email, password=password))
    return Account(user_id=auth.user_id, email=email, password=password, token=auth.access_token)
