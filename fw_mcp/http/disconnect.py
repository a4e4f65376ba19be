"""A client that drops its connection cancels its call, in every protocol era, and keeps its slot
until the call has really ended.

The SDK cancels a 2026-07-28 call when its response stream closes, but a 2025-11-25 session's call
runs in the session's task, not the request's: dropping the POST left it streaming from Fireworks
to its end (billed), while the request, and with it the per-token slot, ended at once. So each POST
gets a `CallWatch` (fw_mcp.calls) in its request state; the server runs tool calls under it. The
watch learns of the hang-up from the ASGI `http.disconnect` message, or from the app returning
before its response was complete, and this middleware then waits until the call has ended (the
upstream stream closed) before it returns, so the layers outside (the slot) are held until then.
"""

from __future__ import annotations

import logging

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fw_mcp.calls import CALL_WATCH, CallWatch

__all__ = ["DisconnectCancels"]

logger = logging.getLogger(__name__)


class DisconnectCancels:
    def __init__(self, app: ASGIApp, *, hold_limit: float) -> None:
        self.app = app
        self.hold_limit = hold_limit  # a call cannot outlive its own deadline; this is the backstop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        watch = CallWatch()
        scope = {**scope, "state": {**scope.get("state", {}), CALL_WATCH: watch}}
        state = {"started": False, "complete": False}

        async def watched_receive() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" and not state["complete"]:
                watch.disconnect()
            return message

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["complete"] = True
            await send(message)

        try:
            await self.app(scope, watched_receive, watched_send)
        finally:
            if not state["complete"]:
                watch.disconnect()
            if watch.busy:  # no checkpoint otherwise: the slot is freed as soon as the answer is out
                with anyio.CancelScope(shield=True), anyio.move_on_after(self.hold_limit) as waited:
                    await watch.settled()
                if waited.cancelled_caught:
                    logger.warning(
                        "A cancelled call was still running %.0f s after its client left.", self.hold_limit
                    )
