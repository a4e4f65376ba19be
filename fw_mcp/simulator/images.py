"""Image parts: the data-URI rules the API enforces, and the simulated model's description.

The simulator never fetches URLs: a remote image is only checked for its scheme. Pillow is
imported lazily because only image requests need it.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import Any

DATA_URI_RE = re.compile(r"^data:image/([A-Za-z0-9.+-]+);base64,(.*)$", re.DOTALL)
IMAGE_FORMATS = frozenset({"png", "jpeg", "jpg", "gif", "bmp", "tiff", "x-portable-pixmap", "ppm"})
MAX_IMAGES = 30
MAX_BASE64_CHARS = 10_000_000


class ImageError(ValueError):
    """An image part the API would refuse; the message says what is wrong."""


def parse_data_uri(url: str) -> tuple[str, str] | None:
    """Split ``data:image/<fmt>;base64,<data>`` into (format, data); None for other URLs."""
    match = DATA_URI_RE.match(url)
    return (match.group(1).lower(), match.group(2)) if match else None


def check_image_url(url: Any, where: str) -> int:
    """Check one image URL and return how many base64 characters it carries.

    Raises:
        ImageError: for a URL that is neither http(s) nor a well-formed image data URI.
    """
    if not isinstance(url, str) or not url:
        raise ImageError(f"{where}.image_url.url must be a non-empty string")
    if re.match(r"^https?://\S+$", url):
        return 0
    parsed = parse_data_uri(url)
    if parsed is None:
        raise ImageError(
            f"{where}.image_url.url must be an http(s) URL or a data:image/<format>;base64,<data> URI"
        )
    fmt, data = parsed
    if fmt not in IMAGE_FORMATS:
        raise ImageError(f"{where}: unsupported image format {fmt!r}; use one of {sorted(IMAGE_FORMATS)}")
    return len(data)


def check_image_data(url: str, where: str) -> None:
    """Decode a data URI's base64 strictly (done after the cheap size checks).

    Raises:
        ImageError: when the payload is not valid base64 or is empty.
    """
    parsed = parse_data_uri(url)
    if parsed is None:
        return
    try:
        raw = base64.b64decode(parsed[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageError(f"{where}: the image data is not valid base64 ({exc})") from exc
    if not raw:
        raise ImageError(f"{where}: the image data is empty")


def describe_images(parts: list[dict[str, Any]]) -> str:
    """``Simulated description of 1 image: PNG 64x48.`` with one entry per image."""
    entries = [describe_one((p.get("image_url") or {}).get("url", "")) for p in parts]
    noun = "image" if len(parts) == 1 else "images"
    return f"Simulated description of {len(parts)} {noun}: {', '.join(entries)}."


def describe_one(url: str) -> str:
    """Format and pixel size of a data URI (read with Pillow), or a note for a remote image."""
    parsed = parse_data_uri(url)
    if parsed is None:
        return "remote image (not fetched)"
    try:
        from PIL import Image, UnidentifiedImageError

        with Image.open(io.BytesIO(base64.b64decode(parsed[1]))) as image:
            return f"{image.format} {image.width}x{image.height}"
    except (UnidentifiedImageError, OSError, ValueError):
        return f"{parsed[0].upper()} (unreadable)"
