"""resolve_images: the security boundary for local image reads, and the image payload budget.

Real files under tmp_path, real Pillow images; nothing of ours is mocked.
"""

from __future__ import annotations

import base64
import io
import os
import socket
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

from fw_mcp import images
from fw_mcp.errors import InvalidArgument
from fw_mcp.images import SUPPORTED_FORMATS, resolve_images
from fw_mcp.settings import Settings, load_settings


@pytest.fixture
def allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    monkeypatch.delenv("FW_MCP_CONFIG", raising=False)
    monkeypatch.setenv("FW_MCP_ALLOWED_DIRS", str(folder))
    return folder


def make_settings(**limits: int) -> Settings:
    return load_settings(overrides={"limits": limits} if limits else None)


@pytest.fixture
def settings(allowed: Path) -> Settings:
    return make_settings()


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 30), mode: str = "RGB", **save: Any) -> bytes:
    color: Any = {"RGBA": (10, 200, 30, 128), "LA": (90, 128), "CMYK": (0, 100, 200, 0)}.get(mode, 120)
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, fmt, **save)
    return buf.getvalue()


def noisy(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Incompressible pixels, so encoded size tracks pixel count."""
    bands = len(mode)
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * bands))


def save(img: Image.Image, path: Path, fmt: str | None = None, **kw: Any) -> Path:
    img.save(path, fmt, **kw)
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def url_of(part: dict[str, Any]) -> str:
    assert part["type"] == "image_url"
    return part["image_url"]["url"]


def decode(part: dict[str, Any]) -> tuple[str, bytes]:
    url = url_of(part)
    head, _, payload = url.partition(",")
    assert head.startswith("data:") and head.endswith(";base64")
    return head[5:-7], base64.b64decode(payload, validate=True)


def reopen(part: dict[str, Any]) -> Image.Image:
    mime, data = decode(part)
    img = Image.open(io.BytesIO(data))
    img.load()
    assert SUPPORTED_FORMATS[img.format or ""] == mime
    return img


async def refused(refs: Any, settings: Settings, **kw: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        await resolve_images(refs, settings, **kw)
    return info.value


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims a huge size: what a decompression bomb looks like to Image.open."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


# --- URLs -----------------------------------------------------------------------------------------


async def test_urls_pass_through_unchanged_without_any_network(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("resolve_images touched the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "gethostbyname", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    urls = [
        "https://no-such-host.invalid/cat.png",
        "http://10.0.0.1:8080/a.jpg?x=1&y=%20#frag",
        "HTTPS://Example.com/Image.PNG",
        "https://[2001:db8::1]/x.gif",
    ]
    parts = await resolve_images(urls, settings, argument="images")
    assert [url_of(p) for p in parts] == [*urls[:2], "https://Example.com/Image.PNG", urls[3]]


@pytest.mark.parametrize(
    "url",
    [
        "https://",
        "http:///path.png",
        "https://exa mple.com/a.png",
        "https://example.com/a\n.png",
        "https://example.com/a\x7f.png",
        "https://example.com/\u2028",
        "https://example.com/" + "a" * 8200,
        "http://[::1/x.png",
        "https://host:99999/x.png",
        "http:/host/x.png",
    ],
)
async def test_malformed_urls_are_refused(settings: Settings, url: str) -> None:
    exc = await refused([url], settings)
    assert "URL" in exc.problem
    assert exc.argument == "image"


async def test_urls_work_without_allowed_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FW_MCP_ALLOWED_DIRS", "")
    parts = await resolve_images(["https://example.com/a.png"], make_settings())
    assert url_of(parts[0]) == "https://example.com/a.png"


# --- local files: formats -------------------------------------------------------------------------


async def test_png_file_becomes_data_uri_with_the_same_bytes(allowed: Path, settings: Settings) -> None:
    data = image_bytes("PNG")
    [part] = await resolve_images([str(write(allowed / "a.png", data))], settings)
    assert decode(part) == ("image/png", data)


async def test_jpeg_file_passes_through(allowed: Path, settings: Settings) -> None:
    data = image_bytes("JPEG", size=(64, 48))
    [part] = await resolve_images([str(write(allowed / "photo.jpg", data))], settings)
    assert decode(part) == ("image/jpeg", data)


async def test_cmyk_jpeg_passes_through_as_jpeg(allowed: Path, settings: Settings) -> None:
    data = image_bytes("JPEG", mode="CMYK")
    [part] = await resolve_images([str(write(allowed / "print.jpg", data))], settings)
    assert decode(part) == ("image/jpeg", data)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "PPM"])
async def test_other_accepted_formats_pass_through(allowed: Path, settings: Settings, fmt: str) -> None:
    data = image_bytes(fmt)
    [part] = await resolve_images([str(write(allowed / "x.img", data))], settings)
    assert decode(part) == (SUPPORTED_FORMATS[fmt], data)


async def test_animated_gif_passes_through_as_gif(allowed: Path, settings: Settings) -> None:
    frames = [Image.new("RGB", (30, 30), (i * 60, 0, 255 - i * 60)) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    [part] = await resolve_images([str(write(allowed / "anim.gif", buf.getvalue()))], settings)
    assert decode(part) == ("image/gif", buf.getvalue())
    assert getattr(reopen(part), "n_frames", 1) == 4


async def test_webp_file_is_converted_to_png_keeping_alpha(allowed: Path, settings: Settings) -> None:
    path = write(allowed / "a.webp", image_bytes("WEBP", mode="RGBA", lossless=True))
    [part] = await resolve_images([str(path)], settings)
    img = reopen(part)
    assert (img.format, img.size, img.mode) == ("PNG", (40, 30), "RGBA")
    assert img.getpixel((0, 0)) == (10, 200, 30, 128)


async def test_text_file_named_png_is_not_an_image(allowed: Path, settings: Settings) -> None:
    path = write(allowed / "notes.png", b"just some text, not pixels\n" * 10)
    exc = await refused([str(path)], settings)
    assert "not an image" in exc.problem


async def test_eps_is_never_parsed(allowed: Path, settings: Settings) -> None:
    """EPS would run Ghostscript; Pillow must not even try that format."""
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    exc = await refused([str(write(allowed / "x.png", eps))], settings)
    assert "not an image" in exc.problem


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
async def test_truncated_image_is_refused(allowed: Path, settings: Settings, fmt: str) -> None:
    data = image_bytes(fmt, size=(300, 300), mode="RGB") if fmt == "PNG" else b""
    if fmt == "JPEG":
        buf = io.BytesIO()
        noisy((300, 300)).save(buf, "JPEG")
        data = buf.getvalue()
    exc = await refused([str(write(allowed / "cut.img", data[: len(data) * 2 // 3]))], settings)
    assert "damaged" in exc.problem or "not an image" in exc.problem


@pytest.mark.parametrize(("width", "height"), [(10_000, 9_000), (20_000, 20_000)])
async def test_decompression_bomb_is_refused(
    allowed: Path, settings: Settings, width: int, height: int
) -> None:
    exc = await refused([str(write(allowed / "bomb.png", png_header_only(width, height)))], settings)
    assert "pixels" in exc.problem


# --- local files: where they may be ---------------------------------------------------------------


async def test_relative_and_home_paths_resolve(
    allowed: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = image_bytes()
    write(allowed / "rel.png", data)
    monkeypatch.chdir(allowed)
    monkeypatch.setenv("HOME", str(allowed))
    parts = await resolve_images(["rel.png", "./rel.png", "~/rel.png"], settings, argument="images")
    assert [decode(p) for p in parts] == [("image/png", data)] * 3


async def test_etc_passwd_is_refused_naming_the_setting(settings: Settings) -> None:
    exc = await refused(["/etc/passwd"], settings)
    assert "FW_MCP_ALLOWED_DIRS" in exc.problem
    assert "allowed_dirs" in exc.problem
    assert "root:" not in str(exc)


async def test_outside_message_does_not_reveal_existence(tmp_path: Path, settings: Settings) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write(outside / "there.png", image_bytes())
    there = await refused([str(outside / "there.png")], settings)
    nowhere = await refused([str(outside / "nowhere.png")], settings)
    assert there.problem.replace("there", "X") == nowhere.problem.replace("nowhere", "X")


async def test_dotdot_escape_is_refused(
    tmp_path: Path, allowed: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "secret.png", image_bytes())
    monkeypatch.chdir(allowed)
    for ref in [
        "../secret.png",
        f"{allowed}/../secret.png",
        f"{allowed}/missing/../../secret.png",
        "../../../etc/passwd",
    ]:
        exc = await refused([ref], settings)
        assert "FW_MCP_ALLOWED_DIRS" in exc.problem, ref


async def test_symlink_pointing_outside_is_refused(tmp_path: Path, allowed: Path, settings: Settings) -> None:
    secret = write(tmp_path / "secret.png", image_bytes())
    (allowed / "link.png").symlink_to(secret)
    (allowed / "dirlink").symlink_to(tmp_path)
    for ref in [allowed / "link.png", allowed / "dirlink" / "secret.png"]:
        exc = await refused([str(ref)], settings)
        assert "FW_MCP_ALLOWED_DIRS" in exc.problem


async def test_symlink_pointing_inside_is_accepted(allowed: Path, settings: Settings) -> None:
    data = image_bytes()
    (allowed / "sub").mkdir()
    write(allowed / "sub" / "real.png", data)
    (allowed / "link.png").symlink_to(allowed / "sub" / "real.png")
    [part] = await resolve_images([str(allowed / "link.png")], settings)
    assert decode(part) == ("image/png", data)


async def test_sibling_folder_with_common_prefix_is_refused(tmp_path: Path, settings: Settings) -> None:
    evil = tmp_path / "allowed-evil"
    evil.mkdir()
    write(evil / "x.png", image_bytes())
    exc = await refused([str(evil / "x.png")], settings)
    assert "FW_MCP_ALLOWED_DIRS" in exc.problem


@pytest.mark.parametrize(
    ("ref", "hint"),
    [
        ("file:///etc/passwd", "plain path"),
        ("FILE://localhost/tmp/a.png", "plain path"),
        ("ftp://example.com/a.png", "`ftp:`"),
        ("gopher://example.com/", "`gopher:`"),
        ("javascript:alert(1)", "`javascript:`"),
        ("data:text/plain;base64,aGVsbG8=", "data:image/<format>;base64"),
        ("data:image/png,rawbytes", "data:image/<format>;base64"),
        ("c:/x.png", "`c:`"),
    ],
)
async def test_other_schemes_are_refused(settings: Settings, ref: str, hint: str) -> None:
    exc = await refused([ref], settings)
    assert hint in exc.problem


@pytest.mark.parametrize("swap", ["file", "folder"])
async def test_path_swapped_for_a_symlink_after_the_check_is_refused(
    tmp_path: Path, allowed: Path, settings: Settings, swap: str
) -> None:
    """The read re-checks what it opened: a symlink put in place after the check is refused.

    A real race cannot be timed in a test, so this drives the two halves (check, then read) directly.
    """
    (allowed / "sub").mkdir()
    path = write(allowed / "sub" / "a.png", image_bytes())
    write(tmp_path / "a.png", image_bytes("PNG", size=(7, 7)))
    p = images._Pending(0, "image", str(path), is_file=True, size=0)
    p.real, p.stat = images._locate(p.ref, p.name, settings.allowed_dirs(), 10**6)
    if swap == "file":  # the final component: O_NOFOLLOW refuses it
        path.unlink()
        path.symlink_to(tmp_path / "a.png")
    else:  # a folder on the way: the opened file is not the checked one, and lies outside
        (allowed / "sub").rename(allowed / "old")
        (allowed / "sub").symlink_to(tmp_path)
    with pytest.raises(InvalidArgument, match="changed while it was being read"):
        images._read(p, settings.allowed_dirs(), 10**6)


async def test_missing_file_inside(allowed: Path, settings: Settings) -> None:
    exc = await refused([str(allowed / "nope.png")], settings)
    assert "does not exist" in exc.problem


async def test_directory_is_refused(allowed: Path, settings: Settings) -> None:
    exc = await refused([str(allowed)], settings)
    assert "folder" in exc.problem


async def test_fifo_is_refused_without_hanging(allowed: Path, settings: Settings) -> None:
    fifo = allowed / "pipe.png"
    os.mkfifo(fifo)
    with anyio.fail_after(5):
        exc = await refused([str(fifo)], settings)
    assert "not a regular file" in exc.problem


async def test_file_over_the_size_limit_is_refused(allowed: Path) -> None:
    settings = make_settings(max_image_file_bytes=1000)
    path = write(allowed / "big.png", image_bytes("PNG", size=(200, 200), mode="RGB", compress_level=0))
    exc = await refused([str(path)], settings)
    assert "max_image_file_bytes" in exc.problem


async def test_no_allowed_folders_when_running_in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FW_MCP_ALLOWED_DIRS", raising=False)
    monkeypatch.delenv("FW_MCP_CONFIG", raising=False)
    monkeypatch.chdir("/")
    exc = await refused(["https://example.com/a.png", "pic.png"], make_settings(), argument="images")
    assert "FW_MCP_ALLOWED_DIRS" in exc.problem
    assert exc.argument == "images[1]"


# --- data URIs ------------------------------------------------------------------------------------


async def test_data_uri_passes_through(settings: Settings) -> None:
    uri = data_uri(image_bytes("PNG"))
    [part] = await resolve_images([uri], settings)
    assert url_of(part) == uri


async def test_data_uri_with_wrong_mime_is_corrected(settings: Settings) -> None:
    data = image_bytes("PNG")
    [part] = await resolve_images([data_uri(data, "image/jpeg")], settings)
    assert url_of(part) == data_uri(data, "image/png")


async def test_data_uri_in_unsupported_format_is_converted(settings: Settings) -> None:
    [part] = await resolve_images([data_uri(image_bytes("WEBP"), "image/webp")], settings)
    assert reopen(part).format == "PNG"


@pytest.mark.parametrize("payload", ["!!!notbase64", "iVBORw0KGgo", "aGVs bG8=", "héllo=="])
async def test_data_uri_with_bad_base64_is_refused(settings: Settings, payload: str) -> None:
    exc = await refused([f"data:image/png;base64,{payload}"], settings)
    assert "base64" in exc.problem


async def test_data_uri_that_is_not_an_image(settings: Settings) -> None:
    exc = await refused([data_uri(b"hello world")], settings)
    assert "not an image" in exc.problem


async def test_data_uri_over_the_size_limit_is_refused(allowed: Path) -> None:
    settings = make_settings(max_image_file_bytes=1000)
    exc = await refused([data_uri(os.urandom(2000))], settings)
    assert "1000" in exc.problem


# --- budget and downscaling -----------------------------------------------------------------------


async def test_large_image_is_downscaled_to_fit(allowed: Path) -> None:
    settings = make_settings(max_image_payload_bytes=300_000)
    path = save(noisy((3000, 3000)), allowed / "big.png", compress_level=1)
    [part] = await resolve_images([str(path)], settings)
    assert len(url_of(part)) <= 300_000
    img = reopen(part)
    assert img.format == "JPEG"
    assert img.width == img.height < 3000


async def test_downscaling_keeps_aspect_ratio_and_alpha(allowed: Path) -> None:
    settings = make_settings(max_image_payload_bytes=200_000)
    path = save(noisy((1200, 600), "RGBA"), allowed / "wide.png", compress_level=1)
    [part] = await resolve_images([str(path)], settings)
    assert len(url_of(part)) <= 200_000
    img = reopen(part)
    assert (img.format, img.mode) == ("PNG", "RGBA")
    assert abs(img.width / img.height - 2) < 0.05


@pytest.mark.parametrize("mode", ["L", "LA", "P", "1", "I;16", "CMYK", "RGBA"])
async def test_downscaling_handles_image_modes(allowed: Path, mode: str) -> None:
    settings = make_settings(max_image_payload_bytes=60_000)
    img = noisy((900, 700), "L").convert(mode) if mode not in ("L", "RGBA") else noisy((900, 700), mode)
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "I;16" else "PNG"
    path = save(img, allowed / f"m.{fmt.lower()}", fmt)
    [part] = await resolve_images([str(path)], settings)
    assert len(url_of(part)) <= 60_000
    assert reopen(part).width < 900


async def test_downscaling_applies_exif_orientation(allowed: Path) -> None:
    settings = make_settings(max_image_payload_bytes=100_000)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°: stored landscape, shown portrait
    path = save(noisy((1200, 600)), allowed / "phone.jpg", "JPEG", quality=95, exif=exif)
    [part] = await resolve_images([str(path)], settings)
    img = reopen(part)
    assert img.height > img.width


async def test_budget_is_shared_across_images_in_order(allowed: Path) -> None:
    limit = 600_000
    settings = make_settings(max_image_payload_bytes=limit)
    small = image_bytes("PNG")
    refs = [
        str(save(noisy((700, 350)), allowed / "a.png", compress_level=1)),
        str(write(allowed / "small.png", small)),
        str(save(noisy((350, 700)), allowed / "b.png", compress_level=1)),
        "https://example.com/c.png",
        data_uri(image_bytes("BMP", size=(600, 600))),
    ]
    parts = await resolve_images(refs, settings, argument="images")
    assert len(parts) == 5
    assert sum(len(url_of(p)) for p in parts if url_of(p).startswith("data:")) <= limit
    assert decode(parts[1]) == ("image/png", small)  # small images pass through untouched
    assert url_of(parts[3]) == refs[3]
    wide, tall, square = reopen(parts[0]), reopen(parts[2]), reopen(parts[4])
    assert wide.width > wide.height and tall.height > tall.width and square.width == square.height


async def test_image_that_cannot_fit_even_tiny_is_refused(allowed: Path) -> None:
    settings = make_settings(max_image_payload_bytes=500)
    path = save(noisy((1000, 1000)), allowed / "big.png", compress_level=1)
    exc = await refused(["https://example.com/x.png", str(path)], settings, argument="images")
    assert "max_image_payload_bytes" in exc.problem
    assert exc.argument == "images[1]"


async def test_passthrough_memory_stays_a_few_times_the_file(allowed: Path) -> None:
    settings = make_settings(max_image_payload_bytes=20_000_000)
    path = save(noisy((1700, 1700)), allowed / "nine.png", compress_level=1)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        [part] = await resolve_images([str(path)], settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert url_of(part).startswith("data:image/png;base64,")
    assert peak < 5 * size, (peak, size)


# --- arguments ------------------------------------------------------------------------------------


async def test_too_many_images(settings: Settings) -> None:
    settings = make_settings(max_images=2)
    exc = await refused(["https://example.com/a.png"] * 3, settings, argument="images")
    assert "at most 2" in exc.problem
    assert exc.argument == "images"


async def test_empty_ref_is_refused(settings: Settings) -> None:
    exc = await refused(["https://example.com/a.png", ""], settings, argument="images")
    assert "empty" in exc.problem
    assert exc.argument == "images[1]"


async def test_error_names_the_element(allowed: Path, settings: Settings) -> None:
    assert (await refused(["/etc/passwd"], settings)).argument == "image"
    assert (await refused(["/etc/passwd"], settings, argument="images")).argument == "images[0]"
    exc = await refused(["https://example.com/a.png", "/etc/passwd"], settings, argument="images")
    assert exc.argument == "images[1]"
    assert str(exc).startswith("Invalid argument `images[1]`:")


async def test_empty_list_gives_no_parts(settings: Settings) -> None:
    assert await resolve_images([], settings) == []


def test_importing_the_module_does_not_import_pillow() -> None:
    code = "import sys, fw_mcp.images; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- fuzz -----------------------------------------------------------------------------------------


@pytest.fixture
def fuzz_env(
    tmp_path: Path, allowed: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, list[str], bytes]:
    """An allowed folder with traps leading out of it; records every path os.open is asked to open."""
    secret = image_bytes("PNG", size=(7, 7))
    evil = tmp_path / "allowed-evil"
    evil.mkdir()
    write(evil / "secret.png", secret)
    write(tmp_path / "secret.png", secret)
    write(allowed / "ok.png", image_bytes())
    (allowed / "sub").mkdir()
    (allowed / "out.png").symlink_to(tmp_path / "secret.png")
    (allowed / "up").symlink_to(tmp_path)
    monkeypatch.chdir(allowed)
    opened: list[str] = []
    real_open = os.open

    def spy(path: Any, *args: Any, **kwargs: Any) -> int:
        opened.append(os.fsdecode(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    return make_settings(), opened, secret


_PARTS = ["..", ".", "", "ok.png", "out.png", "up", "secret.png", "allowed", "allowed-evil", "sub", "~"]
_PREFIXES = [
    "",
    "/",
    "./",
    "../",
    "~/",
    "file://",
    "http://",
    "https://",
    "data:image/png;base64,",
    "data:",
    "a:",
]
refs_strategy = st.one_of(
    st.text(max_size=40),
    st.tuples(st.sampled_from(_PREFIXES), st.text(max_size=30)).map("".join),
    st.tuples(st.sampled_from(_PREFIXES), st.lists(st.sampled_from(_PARTS), max_size=6).map("/".join)).map(
        "".join
    ),
)


@hsettings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(refs=st.lists(refs_strategy, min_size=1, max_size=3))
def test_fuzzed_refs_only_raise_invalid_argument(
    fuzz_env: tuple[Settings, list[str], bytes], allowed: Path, refs: list[str]
) -> None:
    settings, opened, secret = fuzz_env
    opened.clear()
    try:
        parts = anyio.run(resolve_images, refs, settings)
    except InvalidArgument as exc:
        assert exc.problem and "Traceback" not in exc.problem
    else:
        assert len(parts) == len(refs)
        for ref, part in zip(refs, parts, strict=True):
            if not ref.lower().startswith(("data:", "http")):
                assert decode(part)[1] != secret, ref
    for path in opened:
        assert Path(os.path.realpath(path)).is_relative_to(allowed.resolve()), path
