"""How `fw-mcp call` shows a tool call: the answer on stdout as it streams, the rest on stderr.

The server runs in-process with the `Printer` as its call watcher (`fw_mcp.tools.runtime`), so the
printer gets the answer's pieces and the client's events (retrying, waiting for a slot, first
output) as data, and says them in its own words. The result's blocks are told apart by their
marks (`fw_mcp.tools.results.ACCOUNT_META`), never by their text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from fw_mcp.commands._common import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from mcp.types import CallToolResult, TextContent

    from fw_mcp.fireworks.events import ClientEvent
    from fw_mcp.fireworks.stream import StreamAccumulator

__all__ = ["Printer"]

_WAITING = "fw-mcp: waiting for the model's first token..."


def _is_account(block: TextContent) -> bool:
    """The result's account of the call (model, tokens, notes) or the simulated label: not the answer."""
    from fw_mcp.server import SIMULATED_NOTE  # lazily: the server module imports the whole MCP SDK
    from fw_mcp.tools.results import ACCOUNT_META

    meta = block.meta or {}
    return all(meta.get(k) == v for k, v in ACCOUNT_META.items()) or block.text == SIMULATED_NOTE


class Printer:
    """Streams the answer to stdout and everything else to stderr (a `CallWatcher`).

    On a terminal, a waiting line stands on stderr until the first token; piped, nothing extra.
    """

    def __init__(self, streamed: bool, out: TextIO, err: TextIO) -> None:
        self.streamed = streamed
        self.out, self.err = out, err
        self.shown = ""  # the answer written to stdout so far
        self._tty = err.isatty()
        self._acc: StreamAccumulator | None = None
        self._pieces = 0
        self._waiting = False
        self._counter = False

    def start(self) -> None:
        """The call is about to go upstream."""
        if self._tty:
            self.err.write(_WAITING)
            self.err.flush()
            self._waiting = True

    def on_delta(self, acc: StreamAccumulator) -> None:
        if acc is not self._acc:  # a new round (extract_json's repair) or attempt
            self._acc, self._pieces = acc, 0
        pieces = acc.answer_pieces
        if len(pieces) == self._pieces:
            return
        new = "".join(pieces[self._pieces :])
        self._pieces = len(pieces)
        self._clear_line()
        if self.streamed:
            self.out.write(new)
            self.out.flush()
            self.shown += new
        elif self._tty:
            self.err.write(f"\rfw-mcp: receiving... {acc.tokens}")
            self.err.flush()
            self._counter = True

    async def on_event(self, event: ClientEvent) -> None:
        from fw_mcp.fireworks.events import FirstOutput
        from fw_mcp.tools.progress import describe_event

        if isinstance(event, FirstOutput):
            self._clear_line()
            if event.reasoning:
                self._status("the model is thinking...")
            return
        message = describe_event(event)
        if message is not None:
            self._status(message)
            if self._tty and not self.shown and not self._counter:
                self.start()  # still waiting: the indicator comes back under the status line

    def _status(self, message: str) -> None:
        self._clear_line()
        print(f"fw-mcp: {message}", file=self.err, flush=True)

    def _clear_line(self) -> None:
        if self._waiting or self._counter:
            self.err.write("\r\033[K")
            self.err.flush()
            self._waiting = self._counter = False

    def finish(self, result: CallToolResult) -> int:
        """Complete stdout with the whole answer; the rest of the result goes to stderr."""
        self._clear_line()
        blocks = [block for block in result.content if block.type == "text"]
        if result.is_error:
            self._end_line(self.shown)
            for block in blocks:
                print(block.text, file=self.err)
            return EXIT_FAILED
        answer_blocks = [b.text for b in blocks if not _is_account(b)]
        rest = [b.text for b in blocks if _is_account(b)]
        if self.streamed:
            structured = result.structured_content
            answer = structured.get("text") if isinstance(structured, dict) else None
            answer = answer if isinstance(answer, str) else (answer_blocks[0] if answer_blocks else "")
            self._complete(answer)
            rest = [t for t in answer_blocks if t != answer] + rest
        else:
            answer = "\n\n".join(answer_blocks)
            self.out.write(answer)
            self.shown = answer
        self._end_line(self.shown)
        for text in rest:
            print(text, file=self.err)
        return EXIT_OK

    def _complete(self, answer: str) -> None:
        if answer.startswith(self.shown):
            self.out.write(answer[len(self.shown) :])
        else:
            self._end_line(self.shown)
            print(
                "fw-mcp: the streamed text above missed part of the answer; all of it follows.", file=self.err
            )
            self.out.write(answer)
        self.shown = answer

    def _end_line(self, written: str) -> None:
        if written and not written.endswith("\n"):
            self.out.write("\n")
        self.out.flush()
