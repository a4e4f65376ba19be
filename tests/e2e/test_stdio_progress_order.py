"""The writer never lets a result share a read with the progress notification before it.

A host on the MCP TypeScript SDK drops a notification read together with the result that follows it
(tests/e2e/test_typescript_client.py shows it with that SDK); here the same rule over os.pipe(), with
the messages serialised exactly as the SDK's stdio writer does, on asyncio and on uvloop.
"""

from __future__ import annotations

import asyncio
import os
import sys

import anyio
import pytest
from mcp.types import JSONRPCNotification, JSONRPCResponse

from fw_mcp.stdio import open_pipes

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="counts a pipe's unread bytes (Linux)")


def line(message: JSONRPCNotification | JSONRPCResponse) -> str:
    return message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"  # as mcp.server.stdio writes


PROGRESS = line(
    JSONRPCNotification(
        jsonrpc="2.0", method="notifications/progress", params={"progressToken": 1, "progress": 5.0}
    )
)
RESULT = line(JSONRPCResponse(jsonrpc="2.0", id=1, result={"content": []}))


async def result_after_progress() -> tuple[bytes, bytes]:
    stdin_r, host_w = os.pipe()
    host_r, stdout_w = os.pipe()
    try:
        reader, writer = await open_pipes(stdin_r, stdout_w)
        try:
            await writer.write(PROGRESS)
            result = asyncio.get_running_loop().create_task(writer.write(RESULT))
            await asyncio.sleep(0)  # the result's write starts while the notification is unread
            first = os.read(host_r, 65536)  # the host's read: nothing else can run meanwhile
            if first != PROGRESS.encode():
                return first, b""
            with anyio.fail_after(10):
                await result
            os.set_blocking(host_r, False)
            second = os.read(host_r, 65536)
        finally:
            await writer.aclose()
            await reader.aclose()
    finally:
        for fd in (stdin_r, host_w, host_r, stdout_w):
            os.close(fd)
    return first, second


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_result_waits_until_the_host_read_the_last_notification(loop: str) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    first, second = anyio.run(
        result_after_progress, backend="asyncio", backend_options={"use_uvloop": loop == "uvloop"}
    )
    assert first == PROGRESS.encode() and second == RESULT.encode()
