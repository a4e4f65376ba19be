"""Logging to stderr (stdout is the MCP protocol channel), with the API key scrubbed from every record."""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["configure_logging"]


class _RedactKey(logging.Filter):
    """Defence in depth: even if a message or traceback carried the key, the log line will not."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if any(s in message for s in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if any(s in text for s in self._secrets):
                record.exc_info = None
                record.msg = f"{record.msg} (exception details withheld: they contained a secret)"
        return True


def configure_logging(level: str | None = None) -> None:
    """One stderr handler on the root logger; FW_MCP_LOG_LEVEL picks the level (default INFO)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactKey([os.environ.get(n, "") for n in ("FIREWORKS_API_KEY", "FW_MCP_AUTH_TOKEN")]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("FW_MCP_LOG_LEVEL") or "INFO").upper())
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpcore2").setLevel(logging.WARNING)
