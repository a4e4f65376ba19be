"""Turn the image references a tool caller sends into Fireworks `image_url` content parts.

This module is the security boundary for local file reads: the refs come from an untrusted caller (a
model, possibly prompt-injected), so

* http(s) URLs pass through untouched. Fireworks fetches them; we never do (no SSRF, not even DNS).
* `data:image/<fmt>;base64,` URIs are decoded strictly; the declared MIME type is not trusted.
* Anything else with a scheme (`file:`, `ftp:`, `javascript:` ...) is refused.
* Everything else is a local path. Its real path (symlinks resolved) must lie inside an allowed folder,
  and a path outside gets the same answer whether or not it exists. The file is opened without following
  a symlink swapped in after the check, must be a regular file (never a FIFO or device), and is read
  with a bounded read.
* Pillow only parses a short list of formats (never EPS, which runs Ghostscript) and a pixel cap stops
  decompression bombs. Formats Fireworks does not accept are converted to PNG.
* The base64 sent upstream stays within `max_image_payload_bytes`; images that do not fit are downscaled.

Pillow is imported lazily, inside functions: start-up time matters and many calls never see an image.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import logging
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import anyio.to_thread
from anyio.lowlevel import RunVar

from fw_mcp.errors import InvalidArgument
from fw_mcp.files import sandbox
from fw_mcp.image_budget import PIXELS, Stopped, Ticket
from fw_mcp.settings import ENV_ALLOWED_DIRS, Settings

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = ["SUPPORTED_FORMATS", "resolve_images"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Formats Fireworks accepts, as Pillow format name -> MIME type. Other images are converted to PNG.
SUPPORTED_FORMATS: Mapping[str, str] = MappingProxyType(
    {
        "PNG": "image/png",
        "JPEG": "image/jpeg",
        "GIF": "image/gif",
        "BMP": "image/bmp",
        "TIFF": "image/tiff",
        "PPM": "image/x-portable-pixmap",
    }
)
_ALIASES = {"MPO": "JPEG"}  # Multi-picture JPEGs (many phone photos) are plain JPEGs to Fireworks.
# The only formats Pillow may try: the accepted ones plus a few common ones worth converting.
_OPENABLE = (*SUPPORTED_FORMATS, "WEBP", "ICO", "AVIF")
_MAX_PIXELS = 89_478_485  # Pillow's own decompression-bomb threshold (~90 megapixels).
_MIN_SIDE = 64  # Below this on the long side an image is useless, so we refuse instead.
_JPEG_QUALITY = 85
_MAX_URL_CHARS = 8192
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_DATA_URI = re.compile(r"data:image/[A-Za-z0-9.+-]+;base64,", re.IGNORECASE)
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_WORKERS: RunVar[anyio.CapacityLimiter] = RunVar("fw_mcp.images.workers")
_WORKER_COUNT = 4  # image threads per event loop: waiting for pixels never starves other thread work
_DECODE_BLOCK = 16384  # compressed bytes per decoder step: a stop is seen within a few MB of pixels
_HOW = "pass a path to an image file inside an allowed folder, an http(s) URL or a data:image/...;base64 URI"


class _Interruptible(io.BytesIO):
    """An image's bytes as Pillow reads them, block by block, while it decodes: every read checks the
    call's ticket, so the decode of a cancelled (or timed-out) call stops at its next block (and its
    pixels go back to the budget) instead of running to the end in an abandoned thread."""

    def __init__(self, data: bytes, ticket: Ticket) -> None:
        super().__init__(data)
        self._ticket = ticket

    def read(self, size: int | None = -1, /) -> bytes:
        self._ticket.check()
        block = super().read(size)
        self._ticket.blocks += 1
        return block


@dataclass
class _Pending:
    """An image we must encode ourselves: a data URI or a local file."""

    index: int
    name: str
    ref: str
    is_file: bool
    size: int  # bytes, estimated; smaller images are encoded first, leaving their unused budget to big ones
    real: str = ""
    stat: os.stat_result | None = None


async def resolve_images(
    refs: Sequence[str], settings: Settings, *, argument: str = "image"
) -> list[dict[str, Any]]:
    """One Fireworks `image_url` content part per ref, in order, or InvalidArgument (nothing partial).

    Errors name the element as `argument[i]`, unless there is a single ref and `argument` does not end
    in "s" (a singular argument such as `image`). A bare string is taken as one ref.
    """
    items = [refs] if isinstance(refs, str) else list(refs)
    limits = settings.limits
    if len(items) > limits.max_images:
        raise InvalidArgument(
            argument,
            f"{len(items)} images were given but at most {limits.max_images} are allowed per call; "
            "send fewer images or split them over several calls.",
        )
    indexed = len(items) > 1 or argument.endswith("s")
    urls: list[str] = [""] * len(items)
    pending: list[_Pending] = []
    for i, ref in enumerate(items):
        name = f"{argument}[{i}]" if indexed else argument
        kind = _classify(ref, name, limits.max_image_file_bytes)
        if kind == "url":  # the scheme is case-insensitive; Fireworks is only sure to take lower case
            urls[i] = ref[: ref.index(":")].lower() + ref[ref.index(":") :]
        else:
            pending.append(_Pending(i, name, ref, is_file=kind == "path", size=len(ref) * 3 // 4))
    files = [p for p in pending if p.is_file]
    allowed = settings.allowed_dirs() if files else []
    if files and not allowed:
        raise InvalidArgument(
            files[0].name,
            f"no folder is allowed for local images. Set {ENV_ALLOWED_DIRS} in the server's environment to "
            f"the folders images may be read from (separated by '{os.pathsep}') and restart it, or pass an "
            "http(s) URL or a data:image/...;base64 URI instead.",
        )
    if pending:
        _return_big_buffers_to_the_os()
    for p in files:
        real, info = await _in_thread(p.name, _locate, p.ref, p.name, allowed, limits.max_image_file_bytes)
        p.real, p.stat, p.size = real, info, info.st_size
    budget = limits.max_image_payload_bytes
    pending.sort(key=lambda p: p.size)
    ticket = Ticket(PIXELS, limits.max_decoded_pixels)
    try:
        for k, p in enumerate(pending):
            share = budget // (len(pending) - k)
            url = await _in_thread(p.name, _encode, p, share, allowed, limits.max_image_file_bytes, ticket)
            budget -= len(url)
            urls[p.index] = url
    finally:
        ticket.stop()  # a worker of a cancelled call stops waiting for pixels
    return [{"type": "image_url", "image_url": {"url": url}} for url in urls]


@functools.cache
def _return_big_buffers_to_the_os() -> None:
    """glibc raises its mmap threshold (up to 32 MiB) each time a big block is freed, after which a
    large image's buffers come from the heap and stay resident for the life of the process (+50 MB
    after two 9 MB images). Pinning the threshold at 1 MiB hands them back on free. glibc only."""
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError, TypeError):  # not glibc (macOS has no mallopt; Windows no CDLL(None))
        pass


async def _in_thread(name: str, func: Callable[..., _T], *args: Any) -> _T:
    """Run blocking file and Pillow work off the event loop; a surprise becomes a refusal, not a traceback.

    A cancelled call (deadline, client gone) returns at once; its worker finishes or gives up alone.
    """
    try:
        limiter = _WORKERS.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(_WORKER_COUNT)
        _WORKERS.set(limiter)
    try:
        return await anyio.to_thread.run_sync(func, *args, abandon_on_cancel=True, limiter=limiter)
    except InvalidArgument:
        raise
    except Exception:
        logger.warning("Unexpected error while reading image %s", name, exc_info=True)
        raise InvalidArgument(name, "the image could not be processed; send a PNG or JPEG file.") from None


def _classify(ref: str, name: str, max_bytes: int) -> str:
    """Say whether `ref` is a URL, a data URI or a path, refusing anything else before any I/O."""
    if not isinstance(ref, str):
        raise InvalidArgument(name, f"must be a string; {_HOW}.")
    if not ref:
        raise InvalidArgument(name, f"is empty; {_HOW}.")
    head = ref[:8].lower()
    if head.startswith(("http://", "https://")):
        _check_url(ref, name)
        return "url"
    if _DATA_URI.match(ref):
        if len(ref) > 4 * math.ceil(max_bytes / 3) + 100:
            raise InvalidArgument(
                name, f"the data URI holds more than {max_bytes} bytes; send a smaller image."
            )
        return "data"
    if "\x00" in ref:
        raise InvalidArgument(name, f"contains a NUL character; {_HOW}.")
    scheme = _SCHEME.match(ref)
    if scheme and (len(scheme.group(1)) > 1 or os.name != "nt"):  # `C:` is a drive on Windows
        raise InvalidArgument(name, _scheme_problem(scheme.group(1).lower()))
    return "path"


def _scheme_problem(scheme: str) -> str:
    """Why a non-http(s) reference is refused, and what to send instead."""
    if scheme == "file":
        return (
            "file:// URLs are not accepted; pass a plain path to the file inside an allowed folder instead."
        )
    if scheme == "data":
        return "only data:image/<format>;base64,<data> URIs are accepted; encode the image that way."
    if scheme in ("http", "https"):
        return "is not a valid URL; it must start with http:// or https:// followed by a host name."
    return f"`{scheme}:` references are not supported; {_HOW}."


def _check_url(url: str, name: str) -> None:
    """Only a syntax check: the URL is never fetched or resolved here (Fireworks fetches it)."""
    if len(url) > _MAX_URL_CHARS:
        raise InvalidArgument(name, f"the URL is longer than {_MAX_URL_CHARS} characters; use a shorter one.")
    if _BAD_URL_CHARS.search(url):
        raise InvalidArgument(name, "the URL contains spaces or control characters; percent-encode them.")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
        host = parts.hostname
    except ValueError:
        host = None
    if not host:
        raise InvalidArgument(name, "is not a valid URL; it must look like https://host/path/image.png.")


_OUTSIDE = (
    "is not inside a folder this server may read images from. The allowed folders are "
    f"set with {ENV_ALLOWED_DIRS} (or `[images] allowed_dirs` in the config file): copy the image "
    "into one of them, or pass an http(s) URL or a data:image/...;base64 URI instead."
)


def _locate(ref: str, name: str, allowed: list[Path], max_bytes: int) -> tuple[str, os.stat_result]:
    """Resolve and stat a path; refuse it without reading it (`fw_mcp.files.sandbox`). Worker thread."""
    return sandbox.locate(
        ref,
        name,
        allowed,
        max_bytes,
        outside=_OUTSIDE,
        too_big=_too_big,
        folder="is a folder; pass the path of an image file inside it.",
    )


def _too_big(ref: str, size: int, max_bytes: int) -> str:
    return (
        f"{sandbox.show(ref)} is {size} bytes, more than the {max_bytes}-byte limit (max_image_file_bytes); "
        "shrink the image first."
    )


def _read(p: _Pending, allowed: list[Path], max_bytes: int) -> bytes:
    """Read the checked file, refusing it if it was swapped, replaced or grew since `_locate`."""
    return sandbox.read_checked(p.real, p.stat, p.ref, p.name, allowed, max_bytes, _too_big)


def _encode(p: _Pending, share: int, allowed: list[Path], max_bytes: int, ticket: Ticket) -> str:
    """The data URI for one data-URI or file ref, at most `share` characters. Runs in a worker thread."""
    if p.is_file:
        return _to_data_url(_read(p, allowed, max_bytes), p.name, share, None, ticket)
    b64 = p.ref[p.ref.index(",") + 1 :]
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(
            p.name,
            "the data URI's base64 is malformed; use standard base64 (A-Z a-z 0-9 + /, with = padding).",
        ) from None
    return _to_data_url(data, p.name, share, b64, ticket)


def _uri_len(mime: str, n_bytes: int) -> int:
    """Length of the data URI for `n_bytes` of image, without building it."""
    return len(f"data:{mime};base64,") + 4 * math.ceil(n_bytes / 3)


def _build(mime: str, data: bytes) -> str:
    """Encode once: the base64 of a big image is the largest object this module makes."""
    return (f"data:{mime};base64,".encode() + base64.b64encode(data)).decode("ascii")


def _to_data_url(data: bytes, name: str, share: int, b64: str | None, ticket: Ticket) -> str:
    """Pass an accepted image through (original bytes, real MIME type); otherwise convert or shrink it.

    Decoding holds the image's pixel count from the process-wide budget until it is done.
    """
    im = _open(data, name, ticket)
    with ticket.budget.hold(ticket, im.size[0] * im.size[1], name):
        return _decoded_url(im, data, name, share, b64, ticket)


def _decoded_url(im: PILImage, data: bytes, name: str, share: int, b64: str | None, ticket: Ticket) -> str:
    fmt = _ALIASES.get(im.format or "", im.format or "")
    mime = SUPPORTED_FORMATS.get(fmt)
    prefix = len(f"data:{mime or 'image/png'};base64,")
    needed = prefix + len(b64) if b64 is not None else _uri_len(mime or "image/png", len(data))
    if mime and needed <= share:
        with im:
            _load(im, name, draft=(1, 1))  # proves the pixel data decodes; JPEGs at 1/8 scale, cheaply
        return f"data:{mime};base64,{b64}" if b64 is not None else _build(mime, data)
    return _shrink(im, name, share, needed, ticket, convert=mime is None)


def _open(data: bytes, name: str, ticket: Ticket) -> PILImage:
    """Open with Pillow, restricted to known formats, after a verify pass and a pixel-count check.

    The image reads from an `_Interruptible` stream in small blocks: its decode stops when the
    ticket is stopped.
    """
    from PIL import Image

    def check(im: PILImage) -> PILImage:
        width, height = im.size
        if width * height > _MAX_PIXELS:
            raise InvalidArgument(
                name, f"the image is {width}x{height} pixels, more than the {_MAX_PIXELS} allowed; shrink it."
            )
        return im

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(_Interruptible(data, ticket), formats=_formats()) as probe:
                check(probe).verify()
            im = check(Image.open(_Interruptible(data, ticket), formats=_formats()))
            im.decodermaxblock = _DECODE_BLOCK  # type: ignore[attr-defined]  # an ImageFile attribute
            return im
    except (InvalidArgument, Stopped):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InvalidArgument(name, f"the image has more than {_MAX_PIXELS} pixels; shrink it.") from None
    except Exception:
        raise InvalidArgument(
            name, "is not an image this server can read; send a PNG, JPEG, GIF, BMP, TIFF, PPM or WEBP file."
        ) from None


@functools.cache
def _formats() -> tuple[str, ...]:
    """`_OPENABLE`, minus plugins this Pillow build lacks (Image.open fails on unknown names)."""
    from PIL import Image

    Image.init()
    return tuple(f for f in _OPENABLE if f in Image.OPEN)


def _load(im: PILImage, name: str, draft: tuple[int, int] | None = None) -> None:
    """Decode the pixels, so damaged data is refused here rather than by Fireworks."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if draft and im.format in ("JPEG", "MPO"):
                im.draft(None, draft)  # decode at a reduced scale (JPEG only), saving memory and time
            im.load()
    except Stopped:
        raise
    except Exception:
        raise InvalidArgument(name, "the image data is damaged or truncated; send an intact image.") from None


def _shrink(im: PILImage, name: str, share: int, needed: int, ticket: Ticket, *, convert: bool) -> str:
    """Re-encode, downscaling until the data URI fits `share`: JPEG for photos, PNG to keep alpha."""
    from PIL import Image, ImageOps

    width, height = im.size
    long_side = max(width, height)
    target = _next_side(long_side, share, needed)
    # A JPEG need not be decoded at more than the first size we will try (draft is JPEG-only).
    _load(
        im,
        name,
        draft=None
        if convert
        else (max(1, width * target // long_side), max(1, height * target // long_side)),
    )
    try:
        ImageOps.exif_transpose(im, in_place=True)
        alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
        base = im if im.mode in ("RGB", "L") and not alpha else im.convert("RGBA" if alpha else "RGB")
    except Exception:
        raise InvalidArgument(name, "the image could not be converted; send a PNG or JPEG.") from None
    del im
    ticket.check()  # each costly step starts only for a call still running
    fmt, mime = ("PNG", "image/png") if alpha else ("JPEG", "image/jpeg")
    if convert:  # first try the whole image as PNG: a change of format alone may be enough
        out = _save(base, "PNG")
        if (needed := _uri_len("image/png", len(out))) <= share:
            return _build("image/png", out)
        target = _next_side(long_side, share, needed)
    base_w, base_h = base.size
    while long_side > _MIN_SIDE:
        ticket.check()
        size = (
            max(1, round(base_w * target / max(base_w, base_h))),
            max(1, round(base_h * target / max(base_w, base_h))),
        )
        out = _save(base.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0), fmt)
        if (needed := _uri_len(mime, len(out))) <= share:
            return _build(mime, out)
        long_side = target
        target = _next_side(long_side, share, needed)
    raise InvalidArgument(
        name,
        f"the image does not fit this call's image budget ({share} base64 characters for it, from "
        "max_image_payload_bytes) even when shrunk; send fewer or smaller images.",
    )


def _next_side(long_side: int, share: int, needed: int) -> int:
    """Next long side to try: encoded size grows with pixel count, so scale by sqrt(share/needed)."""
    factor = min(0.9, 0.95 * math.sqrt(max(share, 1) / needed))
    return max(_MIN_SIDE, min(long_side - 1, int(long_side * factor)))


def _save(im: PILImage, fmt: str) -> bytes:
    """Encode `im` (RGB, RGBA or L) as PNG or JPEG."""
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=_JPEG_QUALITY)
    else:
        im.save(buf, "PNG")
    return buf.getvalue()
