"""Issue 14, item 4: images small on the wire that decode to ~90 megapixels each, over stdio.

Their preparation counts against the call's deadline, and decoding runs in worker threads under a
process-wide pixel budget, so the server keeps answering while they decode.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from fw_mcp.simulator import SimulatorServer
from tests.e2e.attack import config_file, message, ping_during
from tests.e2e.helpers import server_env, stdio_session


def near_limit_png() -> str:
    """9400x9400 grey pixels (88 megapixels, just under Pillow's bomb limit) in about 90 KB."""
    buf = io.BytesIO()
    Image.new("L", (9400, 9400), 0).save(buf, "PNG", compress_level=9)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


async def test_thirty_near_limit_images_end_at_the_deadline(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    env = {**server_env(simulator.base_url), **config_file(tmp_path, timeouts={"total": 3.0})}
    images = {"images": [near_limit_png()] * 30}
    async with stdio_session(env, mode="legacy") as s:
        result = await ping_during(s, "describe_image", images, progress="Preparing 30 images")
    assert result.is_error
    assert "did not finish within 3 s (the [timeouts] total setting)" in message(result)
    assert simulator.sim.requests == [], "nothing went upstream"
