"""The process-wide decoded-pixel budget: real threads, real Pillow images, nothing mocked."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from PIL import Image

from fw_mcp.errors import InvalidArgument
from fw_mcp.image_budget import PixelBudget, Stopped, Ticket
from fw_mcp.images import _to_data_url, resolve_images
from fw_mcp.settings import load_settings
from tests.test_images import data_uri, image_bytes


async def until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) until `condition()` holds; the budget has no event to await from a test."""
    with anyio.fail_after(5):
        while not condition():  # noqa: ASYNC110 - another thread changes it, with no event to await
            await anyio.sleep(0.005)


async def test_an_image_larger_than_the_budget_is_refused_before_decoding(tmp_path: Path) -> None:
    settings = load_settings(overrides={"limits": {"max_decoded_pixels": 1_000_000}})
    big = data_uri(image_bytes("BMP", (2000, 1000)), "image/bmp")
    with pytest.raises(InvalidArgument) as refused:
        await resolve_images([big], settings)
    assert "decodes to 2,000,000 pixels, more than this server decodes at once (1,000,000" in str(
        refused.value
    )
    small = data_uri(image_bytes("PNG", (1000, 1000)))
    assert len(await resolve_images([small], settings)) == 1, "one that fits is served"


async def test_a_second_decode_waits_until_the_first_gives_its_pixels_back() -> None:
    budget = PixelBudget()
    first, second = Ticket(budget, 1000), Ticket(budget, 1000)
    release, got = threading.Event(), threading.Event()

    def hold_first() -> None:
        with budget.hold(first, 800, "a"):
            release.wait(10)

    def hold_second() -> None:
        with budget.hold(second, 800, "b"):
            got.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, hold_first)
        await until(lambda: budget.used == 800)
        tg.start_soon(anyio.to_thread.run_sync, hold_second)
        await until(lambda: budget.waiting == 1)
        assert not got.is_set() and budget.used == 800, "800 + 800 does not fit in 1000"
        release.set()
    assert got.is_set() and budget.used == 0 and budget.waiting == 0


async def test_a_stopped_ticket_stops_waiting() -> None:
    budget = PixelBudget()
    holder, waiter = Ticket(budget, 100), Ticket(budget, 100)
    outcome: list[str] = []

    def wait_for_pixels() -> None:
        try:
            with budget.hold(waiter, 60, "b"):
                outcome.append("decoded")
        except Stopped:
            outcome.append("stopped")

    with budget.hold(holder, 60, "a"):
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, wait_for_pixels)
            await until(lambda: budget.waiting == 1)
            waiter.stop()
    assert outcome == ["stopped"] and budget.used == 0


def zeros_png(side: int) -> bytes:
    """A small PNG (tens of KB) that decodes to side * side pixels: the shape of a decompression bomb."""
    buf = io.BytesIO()
    Image.new("L", (side, side)).save(buf, "PNG")
    return buf.getvalue()


async def test_a_stopped_call_stops_decoding_and_gives_its_pixels_back() -> None:
    """The decode of a cancelled call (resolve_images stops its ticket) does not run to its end."""
    data, budget = zeros_png(9000), PixelBudget()
    whole = Ticket(budget, 100_000_000)
    await anyio.to_thread.run_sync(_to_data_url, data, "image", 100_000, None, whole)
    assert whole.blocks > 5, "an uninterrupted decode reads the image block by block"

    ticket, outcome = Ticket(budget, 100_000_000), []

    def decode() -> None:
        try:
            _to_data_url(data, "image", 100_000, None, ticket)
            outcome.append("finished")
        except Stopped:
            outcome.append("stopped")

    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, decode)
        await until(lambda: budget.used == 81_000_000)  # it holds its pixels: decoding has begun
        ticket.stop()
    await until(lambda: budget.used == 0)
    assert outcome == ["stopped"]
    assert ticket.blocks < whole.blocks, "it read no further block once stopped"
