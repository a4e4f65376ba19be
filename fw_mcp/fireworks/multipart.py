"""A multipart/form-data body with one file, streamed from disk in chunks, never held in memory.

httpx2's own multipart encoder reads a file object synchronously, on the event loop; this one reads
through anyio's worker threads, so a large upload never blocks other calls.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

__all__ = ["MultipartFile"]

_CHUNK = 256 * 1024


class MultipartFile:
    """`field=@file`, as curl -F sends it. `chunks()` may be called again to resend (a retry)."""

    def __init__(self, field: str, path: Path, content_type: str | None = None) -> None:
        self._path = path
        self._boundary = secrets.token_hex(16)
        media = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        name = path.name.replace('"', "%22").replace("\r", "").replace("\n", "")
        self._head = (
            f"--{self._boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            f"Content-Type: {media}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self._boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self._boundary}"

    def size(self) -> int:
        """The body's length in bytes (sent as Content-Length, so no chunked encoding is needed)."""
        return len(self._head) + self._path.stat().st_size + len(self._tail)

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._head
        async with await anyio.open_file(self._path, "rb") as fh:
            while chunk := await fh.read(_CHUNK):
                yield chunk
        yield self._tail
