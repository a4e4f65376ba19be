"""Turn streamed chat-completion chunks into one answer: text, reasoning, tool calls, usage.

Pure data handling (no I/O), so every wire vector can be replayed through it in a unit test. The
answer and reasoning are also split as they arrive (`ThinkSplitter`), so what is shown while the
model writes (a progress tail, the CLI's stream) costs the size of each delta, not of the text so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fw_mcp.fireworks.failures import MalformedResponse
from fw_mcp.redaction import redact

__all__ = [
    "Completion",
    "MalformedChunk",
    "StreamAccumulator",
    "ThinkSplitter",
    "ToolCall",
    "Usage",
    "split_think",
    "tail_of",
]

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"


class MalformedChunk(MalformedResponse):
    """A streamed event that is not a chat-completion chunk (or is an error event)."""


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> Usage:
        details = raw.get("prompt_tokens_details") or {}
        prompt = _int(raw.get("prompt_tokens"))
        completion = _int(raw.get("completion_tokens"))
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=_int(raw.get("total_tokens")) or prompt + completion,
            cached_tokens=_int(details.get("cached_tokens") if isinstance(details, dict) else 0),
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cached_tokens": self.cached_tokens,
        }


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(slots=True)
class ToolCall:
    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Completion:
    """The model's answer. `text` never contains reasoning; `reasoning` is None when there was none."""

    text: str
    reasoning: str | None
    tool_calls: list[ToolCall]
    finish_reason: str | None
    usage: Usage
    model: str


def split_think(raw: str) -> tuple[str, str | None]:
    """Separate a leading `<think>...</think>` block from the answer.

    An unclosed block (the stream was cut while the model thought) is all reasoning, no answer.
    """
    stripped = raw.lstrip()
    if not stripped.startswith(_THINK_OPEN):
        return raw, None
    body = stripped[len(_THINK_OPEN) :]
    thought, closed, answer = body.partition(_THINK_CLOSE)
    if not closed:
        return "", thought.strip()
    return answer.lstrip(), thought.strip()


def tail_of(parts: list[str], limit: int) -> str:
    """The last `limit` characters of `"".join(parts)`, reading only the parts it needs."""
    taken: list[str] = []
    size = 0
    for part in reversed(parts):
        taken.append(part)
        size += len(part)
        if size >= limit:
            break
    return "".join(reversed(taken))[-limit:] if limit else ""


class ThinkSplitter:
    """`split_think` done incrementally: content deltas in, answer and thought pieces out.

    The final answer is still `split_think` over the whole text (it is exact by definition); this
    gives the same text piece by piece while it streams, to show it without re-joining it.
    """

    def __init__(self) -> None:
        self.answer: list[str] = []
        self.thought: list[str] = []
        self._state = "start"  # start -> answer | think -> after
        self._held = ""  # start: the text before we know whether it opens <think>; think: a maybe-split tag

    def feed(self, piece: str) -> None:
        if self._state == "answer":
            self.answer.append(piece)
        elif self._state == "start":
            self._start(piece)
        elif self._state == "think":
            self._think(piece)
        else:
            self._after(piece)

    def thought_so_far(self) -> list[str]:
        """The thought pieces, with the few characters held back in case they start `</think>`."""
        return [*self.thought, self._held] if self._state == "think" and self._held else self.thought

    def _start(self, piece: str) -> None:
        held = self._held + piece
        stripped = held.lstrip()
        if not stripped or (len(stripped) < len(_THINK_OPEN) and _THINK_OPEN.startswith(stripped)):
            self._held = held  # undecided yet
            return
        self._held = ""
        if stripped.startswith(_THINK_OPEN):
            self._state = "think"
            self._think(stripped[len(_THINK_OPEN) :])
        else:
            self._state = "answer"
            self.answer.append(held)

    def _think(self, piece: str) -> None:
        held = self._held + piece
        end = held.find(_THINK_CLOSE)
        if end < 0:
            keep = len(_THINK_CLOSE) - 1  # the start of a closing tag split across deltas
            self._held = held[-keep:]
            if held[:-keep]:
                self.thought.append(held[:-keep])
            return
        self._held = ""
        if end:
            self.thought.append(held[:end])
        self._state = "after"
        self._after(held[end + len(_THINK_CLOSE) :])

    def _after(self, piece: str) -> None:
        if not self.answer:
            piece = piece.lstrip()  # split_think: the answer after </think> starts at its first word
        if piece:
            self.answer.append(piece)


@dataclass
class StreamAccumulator:
    """Applies chunks in order. `tokens` counts deltas that carried new output (a token estimate)."""

    model: str = ""
    tokens: int = 0
    finish_reason: str | None = None
    usage: Usage | None = None
    _content: list[str] = field(default_factory=list)
    _reasoning: list[str] = field(default_factory=list)
    _tool_calls: dict[int, ToolCall] = field(default_factory=dict)
    _split: ThinkSplitter = field(default_factory=ThinkSplitter)

    def apply(self, chunk: Any) -> bool:
        """Apply one parsed chunk; True if it carried new output.

        Raises:
            MalformedChunk: not a chunk object, or an `{"error": ...}` event.
        """
        if not isinstance(chunk, dict):
            raise MalformedChunk("event is not a JSON object")
        if "error" in chunk:
            raise MalformedChunk(f"error event: {_error_text(chunk['error'])}")
        if isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        if isinstance(chunk.get("usage"), dict):
            self.usage = Usage.from_wire(chunk["usage"])
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            raise MalformedChunk("chunk has no `choices` list")
        grew = False
        for choice in choices:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                grew = self._apply_choice(choice) or grew
        if grew:
            self.tokens += 1
        return grew

    def _apply_choice(self, choice: dict[str, Any]) -> bool:
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return False
        grew = False
        if isinstance(content := delta.get("content"), str) and content:
            self._content.append(content)
            self._split.feed(content)
            grew = True
        if isinstance(reasoning := delta.get("reasoning_content"), str) and reasoning:
            self._reasoning.append(reasoning)
            grew = True
        for fragment in delta.get("tool_calls") or []:
            grew = self._apply_tool_fragment(fragment) or grew
        return grew

    def _apply_tool_fragment(self, fragment: Any) -> bool:
        if not isinstance(fragment, dict):
            raise MalformedChunk("tool call fragment is not an object")
        index = fragment.get("index", len(self._tool_calls))
        if not isinstance(index, int):
            raise MalformedChunk("tool call fragment has a non-integer index")
        call = self._tool_calls.setdefault(index, ToolCall(index=index))
        if isinstance(fragment.get("id"), str) and fragment["id"]:
            call.id = fragment["id"]
        function = fragment.get("function") or {}
        if isinstance(function.get("name"), str) and function["name"]:
            call.name = function["name"]
        if isinstance(args := function.get("arguments"), str):
            call.arguments += args
        return True

    @property
    def received_output(self) -> bool:
        return self.tokens > 0

    @property
    def has_text(self) -> bool:
        """Answer text (not reasoning) has arrived."""
        return bool(self._split.answer)

    @property
    def answer_pieces(self) -> list[str]:
        """The answer so far, in pieces as they arrived (reasoning split out); read, do not change."""
        return self._split.answer

    def tails(self, limit: int) -> tuple[str, str]:
        """(last `limit` characters of the answer, of the reasoning) so far, without re-joining either."""
        thought = self._split.thought_so_far()
        reasoning = [*self._reasoning[-limit:], "\n", *thought[-limit:]] if thought else self._reasoning
        return tail_of(self._split.answer, limit), tail_of(reasoning, limit).lstrip("\n")

    def visible(self) -> tuple[str, str | None]:
        """(answer so far, reasoning so far), think-tags split out."""
        text, think = split_think("".join(self._content))
        reasoning = "".join(self._reasoning) or None
        if think is not None:
            reasoning = f"{reasoning}\n{think}" if reasoning else think
        return text, reasoning

    def completion(self) -> Completion:
        text, reasoning = self.visible()
        calls = [self._tool_calls[i] for i in sorted(self._tool_calls)]
        return Completion(
            text=text,
            reasoning=reasoning,
            tool_calls=calls,
            finish_reason=self.finish_reason,
            usage=self.usage or Usage(),
            model=self.model,
        )


def _error_text(error: Any) -> str:
    """An in-stream error event's message, redacted before it is cut (it may echo a key)."""
    if isinstance(error, dict):
        return redact(str(error.get("message") or error.get("type") or "unknown error"))[:300]
    return redact(str(error))[:300]
