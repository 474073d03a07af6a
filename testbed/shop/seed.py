"""Demo data for a fresh testbed: a seller with products (with images) and a demo shopper.

Passwords are generated at bring-up and kept in the state directory (mode 0600 from creation),
never in the repository. Seeding is idempotent and resumable.
"""

from __future__ import annotations

import json
import secrets
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import grpc

from testbed.shop.runtime.private_files import create_private_file
from testbed.shop.stubs import Stubs, log_in, sign_up
from testbed.shop.v1 import product_pb2

CATALOGUE = [
    ("Desk Lamp", "Warm LED desk lamp with a weighted base.", 3499, (240, 200, 80)),
    ("Coffee Mug", "Stoneware mug, 350 ml, dishwasher safe.", 1250, (120, 80, 60)),
    ("Notebook", "A5 dotted notebook, 160 pages.", 899, (60, 120, 200)),
    ("Fountain Pen", "Steel nib, converter included.", 4200, (30, 30, 30)),
    ("Backpack", "20 l daypack with laptop sleeve.", 6900, (70, 140, 90)),
    ("Water Bottle", "Insulated steel bottle, 750 ml.", 2400, (40, 170, 190)),
    ("Headphones", "Closed-back studio headphones.", 8900, (90, 90, 110)),
    ("Plant Pot", "Terracotta pot with saucer, 14 cm.", 1500, (200, 110, 70)),
    ("Wall Clock", "Silent sweep wall clock, 30 cm.", 2900, (230, 230, 230)),
    ("Tea Sampler", "Six loose-leaf teas, 25 g each.", 1999, (110, 160, 60)),
    ("Bike Light", "USB rechargeable front light.", 2599, (250, 250, 120)),
    ("Puzzle", "1000-piece landscape jigsaw.", 1799, (150, 100, 180)),
]


@dataclass(frozen=True)
class DemoCredentials:
    shopper_email: str
    shopper_password: str
    seller_email: str
    seller_password: str


def png(rgb: tuple[int, int, int], size: int = 64) -> bytes:
    """A solid-colour PNG, made here so the demo needs no image files."""
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _credentials(path: Path) -> DemoCredentials:
    if not path.exists():
        fresh = DemoCredentials("demo@shop.testbed", secrets.token_urlsafe(12), "seller@shop.testbed", secrets.token_urlsafe(12))
        create_private_file(path, json.dumps(fresh.__dict__).encode())
    return DemoCredentials(**json.loads(path.read_text()))


def seed(stubs: Stubs, state_dir: Path) -> DemoCredentials:
    """Seed once per state dir. The marker is written only after the whole catalogue exists, so an
    interrupted seeding is completed by the next call, and products are never created twice."""
    creds = _credentials(state_dir / "demo-credentials.json")
    marker = state_dir / "demo-seeded"
    if marker.exists():
        try:
            log_in(stubs, creds.shopper_email, creds.shopper_password)
            return creds
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNAUTHENTICATED:  # type: ignore[attr-defined]
                raise
            marker.unlink()  # the services' data was reset under us: seed again
    seller = _account(stubs, creds.seller_email, creds.seller_password, "Demo Seller")
    _account(stubs, creds.shopper_email, creds.shopper_password, "Demo Shopper")
    for name, description, price, colour in CATALOGUE:
        listed = stubs.product.ListProducts(product_pb2.ListProductsRequest(filter=name, page_size=100)).products
        if any(p.name == name and p.seller_id == seller.user_id and p.image_id for p in listed):
            continue
        product = next((p for p in listed if p.name == name and p.seller_id == seller.user_id), None)
        if product is None:
            product = stubs.product.CreateProduct(product_pb2.CreateProductRequest(name=name, description=description, price_cents=price, stock=500), metadata=seller.md)
        parts = [product_pb2.UploadImageRequest(metadata=product_pb2.ImageMetadata(product_id=product.id, content_type="image/png", filename=f"{product.id}.png")),
                 product_pb2.UploadImageRequest(chunk=png(colour))]
        stubs.product.UploadImage(iter(parts), metadata=seller.md)
    marker.write_text("seeded\n")
    return creds


def _account(stubs: Stubs, email: str, password: str, name: str):  # type: ignore[no-untyped-def]
    try:
        return sign_up(stubs, email, password, name)
    except grpc.RpcError as err:
        if err.code() != grpc.StatusCode.ALREADY_EXISTS:  # type: ignore[attr-defined]
            raise
        return log_in(stubs, email, password)
