"""Pure logic of the product service: image magic numbers, the upload stream, the text filter."""

from __future__ import annotations

import pytest

from testbed.shop.runtime.status import InvalidArgument
from testbed.shop.services.product import like_pattern, search_text
from testbed.shop.services.product_image import MAX_IMAGE_BYTES, matches_magic, read_body, read_header
from testbed.shop.v1 import product_pb2

pytestmark = pytest.mark.unit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
GIF = b"GIF89a" + b"\x00" * 32
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 32
PRODUCT_ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(("content_type", "data"), [("image/png", PNG), ("image/jpeg", JPEG), ("image/gif", GIF), ("image/gif", b"GIF87a..."), ("image/webp", WEBP)])
def test_magic_matches_its_type(content_type: str, data: bytes) -> None:
    assert matches_magic(content_type, data)


@pytest.mark.parametrize(("content_type", "data"), [("image/png", JPEG), ("image/jpeg", PNG), ("image/gif", b"GIF90a"), ("image/webp", b"RIFF\x00\x00\x00\x00WAVE"), ("image/webp", b"RIFF"), ("image/svg+xml", b"<svg/>"), ("image/png", b"")])
def test_magic_rejects_other_bytes(content_type: str, data: bytes) -> None:
    assert not matches_magic(content_type, data)


def _meta(**kw: str) -> product_pb2.UploadImageRequest:
    fields = {"product_id": PRODUCT_ID, "content_type": "image/png"} | kw
    return product_pb2.UploadImageRequest(metadata=product_pb2.ImageMetadata(**fields))


def _chunks(*parts: bytes) -> list[product_pb2.UploadImageRequest]:
    return [product_pb2.UploadImageRequest(chunk=p) for p in parts]


def test_upload_reads_header_then_concatenates_chunks() -> None:
    stream = iter([_meta(content_type="IMAGE/PNG", filename="a.png"), *_chunks(PNG[:5], PNG[5:])])
    header = read_header(stream)
    assert (header.product_id, header.content_type, header.filename) == (PRODUCT_ID, "image/png", "a.png")
    assert read_body(stream, header.content_type) == PNG


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "metadata"),
        (_chunks(PNG), "metadata"),
        ([_meta(product_id="nope")], "metadata.product_id"),
        ([_meta(content_type="text/html")], "metadata.content_type"),
        ([_meta(filename="x" * 300)], "metadata.filename"),
        ([_meta(filename="a\nb")], "metadata.filename"),
    ],
)
def test_upload_header_errors_name_the_field(messages: list[product_pb2.UploadImageRequest], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        read_header(iter(messages))
    assert info.value.field == field


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "chunk"),
        ([_meta()], "metadata"),
        ([product_pb2.UploadImageRequest()], "chunk"),
        (_chunks(JPEG), "chunk"),
    ],
)
def test_upload_body_errors_name_the_field(messages: list[product_pb2.UploadImageRequest], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        read_body(iter(messages), "image/png")
    assert info.value.field == field


def test_upload_stops_reading_once_over_the_limit() -> None:
    consumed: list[int] = []

    def stream():  # type: ignore[no-untyped-def]
        for i in range(100):
            consumed.append(i)
            yield product_pb2.UploadImageRequest(chunk=(PNG if i == 0 else b"\x00" * (512 * 1024)))

    with pytest.raises(InvalidArgument, match="larger than the limit"):
        read_body(stream(), "image/png")
    assert len(consumed) == 5  # 1 small + 4 * 512 KiB passes 2 MiB on the fifth message


def test_upload_accepts_exactly_the_limit() -> None:
    data = PNG + b"\x00" * (MAX_IMAGE_BYTES - len(PNG))
    assert len(read_body(iter(_chunks(data[:1000], data[1000:])), "image/png")) == MAX_IMAGE_BYTES


@pytest.mark.parametrize(("text", "pattern"), [("apple", "%apple%"), ("100%", "%100\\%%"), ("a_b", "%a\\_b%"), ("c:\\x", "%c:\\\\x%")])
def test_like_pattern_escapes_wildcards(text: str, pattern: str) -> None:
    assert like_pattern(text) == pattern


def test_search_text_is_case_folded_and_separated() -> None:
    assert search_text("Straße", "GRÜN") == "strasse\ngrün"


class _StaticAuth:
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id

    def principal(self):  # type: ignore[no-untyped-def]
        from testbed.shop.runtime.auth import Principal

        return Principal(user_id=self.user_id, roles=("customer",))


def test_list_filter_paginates_newest_first_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from testbed.shop.runtime.storage import Database
    from testbed.shop.services.product import ProductServicer, metadata

    db = Database(f"sqlite:///{tmp_path / 'product.db'}", metadata)
    try:
        servicer = ProductServicer(db, _StaticAuth("f" * 32))  # type: ignore[arg-type]
        for name in ["Red Apple", "100% Juice", "Straße_Map", "apple pie", "1000 Juices"]:
            servicer.CreateProduct(product_pb2.CreateProductRequest(name=name, price_cents=1), None)  # type: ignore[arg-type]

        def names(flt: str, size: int = 10, token: str = "") -> tuple[list[str], str, int]:
            resp = servicer.ListProducts(product_pb2.ListProductsRequest(filter=flt, page_size=size, page_token=token), None)  # type: ignore[arg-type]
            return [p.name for p in resp.products], resp.next_page_token, resp.total_size

        assert names("APPLE") == (["apple pie", "Red Apple"], "", 2)
        assert names("0%") == (["100% Juice"], "", 1)
        assert names("e_m") == (["Straße_Map"], "", 1)
        assert names("STRASSE") == (["Straße_Map"], "", 1)
        first, token, total = names("", size=3)
        assert (first, total) == (["1000 Juices", "apple pie", "Straße_Map"], 5)
        assert names("", size=3, token=token) == (["100% Juice", "Red Apple"], "", 5)
    finally:
        db.close()
