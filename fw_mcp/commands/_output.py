"""How `fw-mcp call` shows a tool call: the answer on stdout as it streams, the rest on stderr.

The tool's progress notifications carry the last characters of the answer so far (see
`fw_mcp.tools.progress`); `TailFollower` turns them back into increments.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TextIO

from fw_mcp.commands._common import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from mcp.types import CallToolResult

__all__ = ["Printer", "TailFollower"]

# Progress messages that report status rather than carry answer text (fw_mcp.fireworks.client).
_STATUS = re.compile(r"^(Waiting for a free upstream slot|Fireworks answered .+; retrying in )")
_THINKING = "(thinking) "


def _is_account(text: str) -> bool:
    """The result's account of the call (model, tokens, notes) or the simulated label: not the answer."""
    from fw_mcp.server import SIMULATED_NOTE  # lazily: the server module imports the whole MCP SDK

    return text.rsplit("\n", 1)[-1].startswith("[model: ") or text == SIMULATED_NOTE


class TailFollower:
    """Rebuilds streamed text from progress messages that carry only its last characters.

    While the tail still grows it is the whole text so far. After that, what is new follows the
    part of the tail already shown; when repetitive text lets several overlaps fit, the token count
    (the progress value) picks the one that matches the characters per token measured so far.
    """

    def __init__(self) -> None:
        self.shown = ""
        self._last_len = 0
        self._last_tokens: float | None = None
        self._chars = 0
        self._tokens = 0.0

    def feed(self, tail: str, tokens: float | None = None) -> str:
        step = None if tokens is None or self._last_tokens is None else tokens - self._last_tokens
        overlap, exact = self._overlap(tail, step)
        if exact and step:
            self._chars += len(tail) - overlap
            self._tokens += step
        self._last_len, self._last_tokens = len(tail), tokens
        new = tail[overlap:]
        self.shown += new
        return new

    def _overlap(self, tail: str, step: float | None) -> tuple[int, bool]:
        """How much of `tail` was shown already, and whether that is certain."""
        if len(tail) > self._last_len and tail.startswith(self.shown):
            return len(self.shown), True
        fits = [k for k in range(min(len(self.shown), len(tail)), 0, -1) if self.shown.endswith(tail[:k])]
        if len(fits) > 1 and step and self._tokens:
            expected = step * self._chars / self._tokens
            return min(fits, key=lambda k: abs(len(tail) - k - expected)), False
        return (fits[0] if fits else 0), len(fits) == 1


class Printer:
    """Streams the answer to stdout and everything else to stderr."""

    def __init__(self, streamed: bool, out: TextIO, err: TextIO) -> None:
        self.streamed = streamed
        self.out, self.err = out, err
        self.follower = TailFollower()
        self.thinking_said = False
        self.counter_shown = False

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        if not message:
            return
        if _STATUS.match(message):
            self._status(message)
        elif message.startswith(_THINKING):
            if not self.thinking_said:
                self.thinking_said = True
                self._status("the model is thinking...")
        elif self.streamed:
            self.out.write(self.follower.feed(message, progress))
            self.out.flush()
        elif self.err.isatty():
            self.err.write(f"\rfw-mcp: receiving... {progress:.0f}")
            self.err.flush()
            self.counter_shown = True

    def _status(self, message: str) -> None:
        self._clear_counter()
        print(f"fw-mcp: {message}", file=self.err, flush=True)

    def _clear_counter(self) -> None:
        if self.counter_shown:
            self.err.write("\r\033[K")
            self.counter_shown = False

    def finish(self, result: CallToolResult) -> int:
        """Complete stdout with the whole answer; the rest of the result goes to stderr."""
        self._clear_counter()
        texts = [block.text for block in result.content if block.type == "text"]
        if result.is_error:
            self._end_line(self.follower.shown)
            for text in texts:
                print(text, file=self.err)
            return EXIT_FAILED
        if self.streamed:
            structured = result.structured_content
            answer = structured.get("text") if isinstance(structured, dict) else None
            answer = answer if isinstance(answer, str) else (texts[0] if texts else "")
            self._complete(answer)
            rest = [t for t in texts if t != answer]
        else:
            answer = "\n\n".join(t for t in texts if not _is_account(t))
            self.out.write(answer)
            rest = [t for t in texts if _is_account(t)]
        self._end_line(self.follower.shown if self.streamed else answer)
        for text in rest:
            print(text, file=self.err)
        return EXIT_OK

    def _complete(self, answer: str) -> None:
        shown = self.follower.shown
        if answer.startswith(shown):
            self.out.write(answer[len(shown) :])
        else:
            self._end_line(shown)
            print(
                "fw-mcp: the streamed text above missed part of the answer; all of it follows.", file=self.err
            )
            self.out.write(answer)
        self.follower.shown = answer

    def _end_line(self, written: str) -> None:
        if written and not written.endswith("\n"):
            self.out.write("\n")
        self.out.flush()
