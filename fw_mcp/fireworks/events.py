"""What the client reports while a call runs, as data: the layers above decide how to say it.

The client never writes a sentence for a person. `progress.py` renders these for MCP hosts and the
CLI renders them for a terminal, each in its own words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fw_mcp.errors import FireworksError

__all__ = ["ClientEvent", "EventHook", "FirstOutput", "Retrying", "WaitingForSlot"]


@dataclass(frozen=True, slots=True)
class WaitingForSlot:
    """Every upstream slot is taken ([limits] max_concurrent_requests): the call waits its turn."""

    in_flight: int


@dataclass(frozen=True, slots=True)
class Retrying:
    """Attempt `attempt` of `of` failed with `cause`; the next one starts in `delay` seconds."""

    attempt: int
    of: int
    delay: float
    cause: FireworksError


@dataclass(frozen=True, slots=True)
class FirstOutput:
    """The first token (answer or reasoning) arrived: the model is writing."""

    reasoning: bool


ClientEvent = WaitingForSlot | Retrying | FirstOutput
EventHook = Callable[[ClientEvent], Awaitable[None]]
