"""Logging to stderr (stdout is the MCP protocol channel), every record passed through the one redactor."""

from __future__ import annotations

import logging
import os
import sys

from fw_mcp.redaction import REDACTOR, redact

__all__ = ["RedactSecrets", "configure_logging"]


class RedactSecrets(logging.Filter):
    """Every record's message, arguments and traceback pass the process's one redactor."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
            record.exc_info = None  # the formatter prints exc_text, already redacted
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FORMATTER = logging.Formatter()


def configure_logging(level: str | None = None) -> None:
    """One stderr handler on the root logger; FW_MCP_LOG_LEVEL picks the level (default INFO)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    REDACTOR.add(*(os.environ.get(n) for n in ("FIREWORKS_API_KEY", "FW_MCP_AUTH_TOKEN")))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("FW_MCP_LOG_LEVEL") or "INFO").upper())
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpcore2").setLevel(logging.WARNING)
