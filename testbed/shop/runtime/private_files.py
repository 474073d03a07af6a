"""Files holding secrets: created mode 0600 from the first byte, and published atomically.

The content is written to a private temporary file (O_EXCL, 0600, so it is never readable by
others even for a moment) and linked into place; if a concurrent writer won, its file is kept.
"""

from __future__ import annotations

import os
from pathlib import Path


def create_private_file(path: Path, content: bytes) -> bool:
    """Create `path` with `content` unless it exists; True if this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)
