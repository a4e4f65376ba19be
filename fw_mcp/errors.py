"""The error tree. Every message says what happened and what to do next; none carries the API key.

    FwMcpError
    ├── ConfigError                  a setting is missing or wrong (names the setting)
    ├── InvalidArgument              a tool argument was refused before anything went upstream
    ├── InvalidModelOutput           the model answered, but not in the shape asked for (JSON Schema)
    └── FireworksError               talking to Fireworks failed
        ├── FireworksTransportError  could not connect, or timed out before an answer
        ├── FireworksHTTPError       Fireworks answered with an error status
        ├── StreamInterrupted        the stream broke after tokens arrived (carries the partial answer)
        └── DeadlineExceeded         the tool call's total time ran out (carries any partial answer)

The client raises the Fireworks errors; tools raise InvalidArgument; the server turns all of them
into `isError` results, and the CLI into a clean exit message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fw_mcp.fireworks.stream import Completion

__all__ = [
    "ConfigError",
    "DeadlineExceeded",
    "FireworksError",
    "FireworksHTTPError",
    "FireworksTransportError",
    "FwMcpError",
    "InvalidArgument",
    "InvalidModelOutput",
    "ShuttingDown",
    "StreamInterrupted",
    "missing_key_error",
]


class FwMcpError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(FwMcpError):
    """A setting is missing or invalid; the message names it and how to set it."""


def missing_key_error() -> ConfigError:
    return ConfigError(
        "FIREWORKS_API_KEY is not set. Create a key at https://fireworks.ai/account/api-keys and set it "
        "in the server's environment (for Claude Desktop, Cursor or VS Code: in the `env` of the fw-mcp "
        "entry of the host's config file), then restart the server."
    )


class InvalidArgument(FwMcpError):
    """A tool argument was refused. Nothing was sent upstream."""

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        self.problem = problem
        super().__init__(f"Invalid argument `{argument}`: {problem}")


class InvalidModelOutput(FwMcpError):
    """The model's answer did not validate (extract_json after its repair round)."""


class FireworksError(FwMcpError):
    """Talking to Fireworks failed. `attempts` counts the HTTP requests made."""

    attempts: int = 1

    def with_attempts(self, attempts: int) -> FireworksError:
        self.attempts = attempts
        return self


class FireworksTransportError(FireworksError):
    """No usable answer: connection refused, DNS, TLS, or a timeout before the first token."""

    def __init__(self, what: str, base_url: str, proxy_setting: str | None = None) -> None:
        self.what = what
        self.base_url = base_url
        self.proxy_setting = proxy_setting  # the variable naming the proxy it went through, if any
        super().__init__(what)

    def __str__(self) -> str:
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        if self.proxy_setting:
            return (
                f"Could not get an answer from Fireworks at {self.base_url} through the proxy set by "
                f"{self.proxy_setting}{tries}: {self.what}. Check {self.proxy_setting} (the proxy's "
                "address, user and password), or list the host in NO_PROXY to connect directly."
            )
        return (
            f"Could not get an answer from Fireworks at {self.base_url}{tries}: {self.what}. "
            "Check the network and FIREWORKS_BASE_URL; if Fireworks is slow, try again or raise "
            "[timeouts] in the config."
        )


# What to do, by status. Decided by status (and message), never by the body's `code`.
_ADVICE: dict[int, str] = {
    400: "The request was refused as malformed; check the arguments (model, sampling values, messages).",
    401: "The API key was refused: check FIREWORKS_API_KEY (https://fireworks.ai/account/api-keys).",
    402: "The Fireworks account cannot be billed (no paid plan, or the spend limit was reached): "
    "see https://fireworks.ai/account/billing.",
    403: "The key may not use this model or resource; check the model id and the account's permissions.",
    404: "Unknown model or path, or the model is not deployed for this account: check the `model` "
    "argument (or [models] in the config) and the model's page on fireworks.ai.",
    408: "Fireworks timed out; try again.",
    409: "Fireworks reported a conflict; try again.",
    412: "The account is suspended or a LoRA failed to load; see the Fireworks dashboard.",
    413: "The request is too large: send less text or fewer/smaller images.",
    429: "Over your account's rate limit (Fireworks counts tokens per minute, per model): wait and try "
    "again, send fewer or shorter requests at once, or ask Fireworks to raise the limits (`fw-mcp usage` "
    "shows the limits it reported last).",
    503: "Fireworks' serverless pool is shedding load: this is not your rate limit. Try again in a moment, "
    "set [fallback] models for this tool, or use a dedicated deployment.",
}
_SERVER_ADVICE = "Fireworks had a server-side problem; try again in a moment."


class FireworksHTTPError(FireworksError):
    """Fireworks answered with an error status (after any retries the policy allowed)."""

    def __init__(self, status_code: int, message: str, retry_after: float | None = None) -> None:
        self.status_code = status_code
        self.message = message
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def is_rate_limit(self) -> bool:
        return self.status_code == 429 or (self.status_code == 400 and "rate limit" in self.message.lower())

    def __str__(self) -> str:
        status = 429 if self.is_rate_limit else self.status_code
        advice = _ADVICE.get(status, _SERVER_ADVICE if status >= 500 else "")
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        detail = f": {self.message}" if self.message else ""
        wait = f" Fireworks asked to wait {self.retry_after:g} s." if self.retry_after else ""
        return f"Fireworks returned HTTP {self.status_code}{tries}{detail}. {advice}{wait}".rstrip()


class _PartialResultError(FireworksError):
    """A failure that still has the answer received so far."""

    def __init__(self, reason: str, partial: Completion | None) -> None:
        self.reason = reason
        self.partial = partial
        super().__init__(reason)


class StreamInterrupted(_PartialResultError):
    """The stream broke after tokens arrived. Not retried: that would bill twice and change the answer."""

    def __str__(self) -> str:
        return (
            f"The Fireworks stream broke before the answer was complete ({self.reason}). "
            "What arrived is returned below, marked incomplete; call again for a full answer."
        )


class ShuttingDown(StreamInterrupted):
    """The server's shutdown grace period ran out while the call was still streaming."""

    def __init__(self, partial: Completion | None) -> None:
        super().__init__("the server is shutting down", partial)

    def __str__(self) -> str:
        return (
            "The server is shutting down and stopped this call before the answer was complete. "
            "What arrived is returned below, marked incomplete; call again for a full answer."
        )


class DeadlineExceeded(_PartialResultError):
    """The tool call ran out of its total time ([timeouts] total)."""

    def __init__(self, seconds: float, partial: Completion | None) -> None:
        self.seconds = seconds
        super().__init__(f"deadline of {seconds:g} s", partial)

    def __str__(self) -> str:
        got = (
            " What arrived is returned below, marked incomplete."
            if self.partial and self.partial.text
            else ""
        )
        return (
            f"The call did not finish within {self.seconds:g} s (the [timeouts] total setting) and was "
            f"stopped.{got} Ask for a shorter answer (max_tokens), try again, or raise the deadline."
        )
