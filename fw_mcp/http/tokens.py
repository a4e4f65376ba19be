"""Static bearer tokens: one from FW_MCP_AUTH_TOKEN / [http] auth_token, and/or a file, one per user.

The file is re-read whenever it changes (checked on each request, a `stat` call), so deleting a
line revokes that user at once, in every worker, without a restart. If it becomes unreadable the
file's tokens stop working (fail closed) until it is fixed. Tokens are compared in constant time
against every entry, and only their names (or a fingerprint) ever reach a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from mcp.server.auth.provider import AccessToken

from fw_mcp.errors import ConfigError
from fw_mcp.redaction import REDACTOR

__all__ = ["MIN_TOKEN_CHARS", "NamedToken", "StaticTokenVerifier", "parse_tokens"]

logger = logging.getLogger(__name__)

MIN_TOKEN_CHARS = 16
_TOKEN_ADVICE = (
    f"use at least {MIN_TOKEN_CHARS} random characters, e.g. the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
)


@dataclass(frozen=True)
class NamedToken:
    name: str
    secret: bytes


def fingerprint(token: str) -> str:
    """A name for an unnamed token: stable, short, and useless for guessing it."""
    return "token-" + hashlib.sha256(token.encode()).hexdigest()[:8]


def parse_tokens(text: str, source: str) -> list[NamedToken]:
    """Lines `name token` or `token`; blank lines and lines starting with `#` are skipped.

    Raises:
        ConfigError: naming the line (never echoing the token) when a line is malformed or weak.
    """
    tokens = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) > 2:
            raise ConfigError(f"{source}, line {number}: expected `name token` or just `token`.")
        token = fields[-1]
        if len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(f"{source}, line {number}: the token is too short; {_TOKEN_ADVICE}.")
        tokens.append(NamedToken(fields[0] if len(fields) == 2 else fingerprint(token), token.encode()))
    return tokens


class StaticTokenVerifier:
    """The SDK's `TokenVerifier` for fixed tokens; the principal is the token's name."""

    def __init__(self, inline: str | None, path: str | None) -> None:
        self._inline: list[NamedToken] = []
        if inline is not None:
            if len(inline.strip()) < MIN_TOKEN_CHARS:
                raise ConfigError(f"FW_MCP_AUTH_TOKEN ([http] auth_token) is too short; {_TOKEN_ADVICE}.")
            self._inline = [NamedToken("default", inline.strip().encode())]
            REDACTOR.add(inline.strip())
        self._path = Path(path).expanduser() if path else None
        self._file: list[NamedToken] = []
        self._stamp: tuple[int, int, int] | None = None
        if self._path is not None:
            self._load_file(strict=True)
            if not self._file:
                raise ConfigError(f"Tokens file {self._path} holds no tokens; add one `name token` per line.")
            if os.name == "posix" and self._path.stat().st_mode & 0o004:
                logger.warning("Tokens file %s is readable by every user; run `chmod 600` on it.", self._path)

    @property
    def path(self) -> Path | None:
        return self._path

    def _load_file(self, *, strict: bool) -> None:
        assert self._path is not None
        try:
            st = self._path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self._stamp:
                return
            tokens = parse_tokens(self._path.read_text(encoding="utf-8"), f"Tokens file {self._path}")
        except (OSError, UnicodeDecodeError, ConfigError) as exc:
            if strict:
                raise ConfigError(
                    f"Tokens file {self._path} could not be used: {exc}. Fix it or unset "
                    "[http] auth_tokens_file / FW_MCP_AUTH_TOKENS_FILE."
                ) from None
            if self._stamp is not None:
                logger.error(
                    "Tokens file %s became unusable (%s); its tokens are refused until fixed.",
                    self._path,
                    exc,
                )
            self._file, self._stamp = [], None
            return
        if self._stamp is not None:
            logger.info("Tokens file %s changed: %d tokens now valid.", self._path, len(tokens))
        REDACTOR.add(*(t.secret.decode() for t in tokens))  # revoked ones stay secret: never removed
        self._file, self._stamp = tokens, stamp

    def problems(self) -> list[str]:
        """For /readyz: a tokens file that cannot be read means its users are locked out."""
        if self._path is None:
            return []
        self._load_file(strict=False)
        return [] if self._file or self._inline else [f"tokens file {self._path} is unreadable or empty"]

    async def verify_token(self, token: str) -> AccessToken | None:
        if self._path is not None:
            self._load_file(strict=False)
        given = token.strip().encode()
        found: str | None = None
        for entry in (*self._inline, *self._file):  # no early exit: the time does not depend on the match
            if hmac.compare_digest(given, entry.secret):
                found = entry.name
        if found is None:
            return None
        return AccessToken(token=token, client_id=found, scopes=[])
