"""Product image uploads: reading the client stream under a size limit and checking the bytes.

Kept apart from the product servicer because it is the one place that deals with untrusted
binary input: the declared content type must be one we serve, and the first bytes must carry
that format's magic number, so a product page never serves something that is not an image.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from testbed.shop.runtime import validate
from testbed.shop.runtime.status import InvalidArgument
from testbed.shop.v1 import product_pb2

MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_FILENAME = 255
CONTENT_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def matches_magic(content_type: str, data: bytes) -> bool:
    """True if `data` starts like a file of `content_type`."""
    if content_type == "image/png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if content_type == "image/jpeg":
        return data.startswith(b"\xff\xd8\xff")
    if content_type == "image/gif":
        return data.startswith((b"GIF87a", b"GIF89a"))
    if content_type == "image/webp":
        return len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return False


@dataclass(frozen=True)
class UploadHeader:
    product_id: str
    content_type: str
    filename: str


def read_header(requests: Iterator[product_pb2.UploadImageRequest]) -> UploadHeader:
    """The validated metadata from the stream's first message."""
    first = next(requests, None)
    if first is None:
        raise InvalidArgument("metadata", "the stream carried no messages; the first must carry the metadata")
    if first.WhichOneof("part") != "metadata":
        raise InvalidArgument("metadata", "the first message must carry the metadata")
    meta = first.metadata
    product_id = validate.ident("metadata.product_id", meta.product_id)
    content_type = meta.content_type.strip().lower()
    if content_type not in CONTENT_TYPES:
        raise InvalidArgument("metadata.content_type", f"must be one of {', '.join(CONTENT_TYPES)}")
    filename = validate.text("metadata.filename", meta.filename, max_len=MAX_FILENAME, min_len=0)
    return UploadHeader(product_id=product_id, content_type=content_type, filename=filename)


def read_body(requests: Iterator[product_pb2.UploadImageRequest], content_type: str, limit: int = MAX_IMAGE_BYTES) -> bytes:
    """Concatenate the chunks, refusing more than `limit` bytes as soon as it is passed."""
    parts: list[bytes] = []
    size = 0
    for message in requests:
        part = message.WhichOneof("part")
        if part == "metadata":
            raise InvalidArgument("metadata", "only the first message may carry metadata")
        if part != "chunk":
            raise InvalidArgument("chunk", "each message after the first must carry a chunk")
        size += len(message.chunk)
        if size > limit:
            raise InvalidArgument("chunk", f"the image is larger than the limit of {limit} bytes")
        parts.append(message.chunk)
    data = b"".join(parts)
    if not data:
        raise InvalidArgument("chunk", "no image data was sent")
    if not matches_magic(content_type, data):
        raise InvalidArgument("chunk", f"the data is not a valid {content_type} file (magic number mismatch)")
    return data
