"""The product service: the catalogue, its text search, and product images.

Reads are public. Writes need a token, and only the seller who created a product (or staff)
may change or delete it or upload its image. Images live in this service's own store (a
table of bytes) so the service stays self-contained; each product has at most one, and an
upload replaces the previous image.

The text filter is a case-insensitive substring match on name and description. It runs on
a lower-cased copy of both (`search_text`, Python's casefold) so matching behaves the same on
SQLite and PostgreSQL, including for non-ASCII text; LIKE wildcards in the filter are escaped.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator

import grpc
from google.protobuf import empty_pb2
from sqlalchemy import BigInteger, Column, Connection, Float, Integer, LargeBinary, MetaData, String, Table, Text, delete, func, insert, select, update

from testbed.shop.runtime import validate
from testbed.shop.runtime.auth import Authenticator, Principal
from testbed.shop.runtime.deps import Toolkit
from testbed.shop.runtime.server import ServiceDefinition, serve
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.runtime.status import NotFound, PermissionDenied
from testbed.shop.runtime.storage import Database
from testbed.shop.services.product_image import read_body, read_header
from testbed.shop.v1 import product_pb2, product_pb2_grpc

metadata = MetaData()
products = Table(
    "products",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("search_text", Text, nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("stock", Integer, nullable=False),
    Column("seller_id", String(32), nullable=False, index=True),
    Column("image_id", String(32), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False, index=True),
    Column("updated_at", Float, nullable=False),
)
images = Table(
    "product_images",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("product_id", String(32), nullable=False, index=True),
    Column("content_type", String(32), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
)

MAX_NAME = 200
MAX_DESCRIPTION = 5000
MAX_FILTER = 200
MAX_PRICE_CENTS = 100_000_000
MAX_STOCK = 1_000_000


def search_text(name: str, description: str) -> str:
    """What the filter matches against: both fields, case-folded, with a separator no filter can contain."""
    return f"{name.casefold()}\n{description.casefold()}"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with `\\` as the escape character."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _name(value: str) -> str:
    return validate.text("name", value, max_len=MAX_NAME)


def _description(value: str) -> str:
    return validate.text("description", value, max_len=MAX_DESCRIPTION, min_len=0, single_line=False)


def _to_proto(row: object) -> product_pb2.Product:
    msg = product_pb2.Product(
        id=row.id, name=row.name, description=row.description, price_cents=row.price_cents, stock=row.stock,  # type: ignore[attr-defined]
        seller_id=row.seller_id, image_id=row.image_id,  # type: ignore[attr-defined]
    )
    msg.created_at.FromNanoseconds(int(row.created_at * 1e9))  # type: ignore[attr-defined]
    msg.updated_at.FromNanoseconds(int(row.updated_at * 1e9))  # type: ignore[attr-defined]
    return msg


_PRODUCT_COLUMNS = [c for c in products.c if c.name != "search_text"]


class ProductServicer(product_pb2_grpc.ProductServiceServicer):
    def __init__(self, db: Database, auth: Authenticator) -> None:
        self._db = db
        self._auth = auth

    def _get(self, product_id: str) -> product_pb2.Product:
        with self._db.read() as conn:
            row = conn.execute(select(*_PRODUCT_COLUMNS).where(products.c.id == product_id)).first()
        if row is None:
            raise NotFound(f"product {product_id} not found")
        return _to_proto(row)

    def _editable(self, conn: Connection, product_id: str, who: Principal) -> object:
        """The product row, if it exists and `who` may change it."""
        row = conn.execute(select(products.c.seller_id, products.c.name, products.c.description, products.c.image_id).where(products.c.id == product_id)).first()
        if row is None:
            raise NotFound(f"product {product_id} not found")
        if row.seller_id != who.user_id and not who.is_staff():
            raise PermissionDenied("only the seller of this product may change it")
        return row

    def CreateProduct(self, request: product_pb2.CreateProductRequest, context: grpc.ServicerContext) -> product_pb2.Product:
        name = _name(request.name)
        description = _description(request.description)
        price = validate.int_range("price_cents", request.price_cents, 0, MAX_PRICE_CENTS)
        stock = validate.int_range("stock", request.stock, 0, MAX_STOCK)
        who = self._auth.principal()
        now = time.time()
        product_id = uuid.uuid4().hex
        with self._db.write() as conn:
            conn.execute(insert(products).values(
                id=product_id, name=name, description=description, search_text=search_text(name, description),
                price_cents=price, stock=stock, seller_id=who.user_id, image_id="", created_at=now, updated_at=now,
            ))
        return self._get(product_id)

    def GetProduct(self, request: product_pb2.GetProductRequest, context: grpc.ServicerContext) -> product_pb2.Product:
        return self._get(validate.ident("id", request.id))

    def UpdateProduct(self, request: product_pb2.UpdateProductRequest, context: grpc.ServicerContext) -> product_pb2.Product:
        product_id = validate.ident("id", request.id)
        changes: dict[str, object] = {}
        if request.HasField("name"):
            changes["name"] = _name(request.name)
        if request.HasField("description"):
            changes["description"] = _description(request.description)
        if request.HasField("price_cents"):
            changes["price_cents"] = validate.int_range("price_cents", request.price_cents, 0, MAX_PRICE_CENTS)
        if request.HasField("stock"):
            changes["stock"] = validate.int_range("stock", request.stock, 0, MAX_STOCK)
        who = self._auth.principal()
        with self._db.write() as conn:
            row = self._editable(conn, product_id, who)
            if changes:
                name = str(changes.get("name", row.name))  # type: ignore[attr-defined]
                description = str(changes.get("description", row.description))  # type: ignore[attr-defined]
                changes.update(search_text=search_text(name, description), updated_at=time.time())
                conn.execute(update(products).where(products.c.id == product_id).values(**changes))
        return self._get(product_id)

    def DeleteProduct(self, request: product_pb2.DeleteProductRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        product_id = validate.ident("id", request.id)
        who = self._auth.principal()
        with self._db.write() as conn:
            self._editable(conn, product_id, who)
            conn.execute(delete(images).where(images.c.product_id == product_id))
            conn.execute(delete(products).where(products.c.id == product_id))
        return empty_pb2.Empty()

    def ListProducts(self, request: product_pb2.ListProductsRequest, context: grpc.ServicerContext) -> product_pb2.ListProductsResponse:
        limit, offset = validate.page("page_size", request.page_size, "page_token", request.page_token)
        needle = validate.text("filter", request.filter, max_len=MAX_FILTER, min_len=0).casefold()
        condition = products.c.search_text.like(like_pattern(needle), escape="\\") if needle else None
        rows_query = select(*_PRODUCT_COLUMNS).order_by(products.c.created_at.desc(), products.c.id.desc()).limit(limit + 1).offset(offset)
        count_query = select(func.count()).select_from(products)
        if condition is not None:
            rows_query = rows_query.where(condition)
            count_query = count_query.where(condition)
        with self._db.read() as conn:
            total = int(conn.execute(count_query).scalar_one())
            rows, token = validate.page_of(conn.execute(rows_query).all() if offset < total else [], offset, limit)
        return product_pb2.ListProductsResponse(
            products=[_to_proto(r) for r in rows],
            next_page_token=token,
            total_size=total,
        )

    def UploadImage(self, request_iterator: Iterator[product_pb2.UploadImageRequest], context: grpc.ServicerContext) -> product_pb2.ImageInfo:
        header = read_header(request_iterator)
        who = self._auth.principal()
        with self._db.read() as conn:
            self._editable(conn, header.product_id, who)  # refuse before reading up to 2 MiB
        data = read_body(request_iterator, header.content_type)
        info = product_pb2.ImageInfo(
            id=uuid.uuid4().hex, product_id=header.product_id, content_type=header.content_type,
            size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
        )
        with self._db.write() as conn:
            row = self._editable(conn, header.product_id, who)  # it may have gone while the bytes arrived
            old_image = row.image_id  # type: ignore[attr-defined]
            conn.execute(insert(images).values(
                id=info.id, product_id=info.product_id, content_type=info.content_type, size_bytes=info.size_bytes,
                sha256=info.sha256, data=data, created_at=time.time(),
            ))
            conn.execute(update(products).where(products.c.id == header.product_id).values(image_id=info.id, updated_at=time.time()))
            if old_image:
                conn.execute(delete(images).where(images.c.id == old_image))
        return info

    def GetImage(self, request: product_pb2.GetImageRequest, context: grpc.ServicerContext) -> product_pb2.Image:
        image_id = validate.ident("id", request.id)
        with self._db.read() as conn:
            row = conn.execute(select(images).where(images.c.id == image_id)).first()
        if row is None:
            raise NotFound(f"image {image_id} not found")
        info = product_pb2.ImageInfo(id=row.id, product_id=row.product_id, content_type=row.content_type, size_bytes=row.size_bytes, sha256=row.sha256)
        return product_pb2.Image(info=info, data=row.data)


def build(settings: ServiceSettings) -> ServiceDefinition:
    kit = Toolkit(settings)
    db = Database(settings.sql_url(), metadata)
    servicer = ProductServicer(db, kit.authenticator())

    def stop() -> None:
        db.close()
        kit.close()

    return ServiceDefinition(
        register=lambda server: product_pb2_grpc.add_ProductServiceServicer_to_server(servicer, server),
        service_names=[product_pb2.DESCRIPTOR.services_by_name["ProductService"].full_name],
        on_stop=stop,
    )


def run(settings: ServiceSettings) -> int:
    return serve(settings, build)
