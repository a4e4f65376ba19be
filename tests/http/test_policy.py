"""Pure rules: which Host/Origin values a bind accepts, how tokens files parse, what a launch carries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fw_mcp.errors import ConfigError
from fw_mcp.http.options import LAUNCH_ENV, HttpOptions, Launch
from fw_mcp.http.origin import matches
from fw_mcp.http.policy import allowed_hosts, allowed_origins, is_loopback
from fw_mcp.http.tokens import StaticTokenVerifier, parse_tokens

SECRET = "s3cr3t-value-that-is-long-enough"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("mcp.example.com", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_allowed_hosts_on_a_wildcard_bind() -> None:
    hosts = allowed_hosts("0.0.0.0", ["mcp.example.com", "10.0.0.5:8443", "fe80::1"])
    for ok in (
        "localhost:8000",
        "127.0.0.1:1",
        "[::1]:8000",
        "mcp.example.com",
        "mcp.example.com:443",
        "MCP.example.com:8000",
        "10.0.0.5:8443",
        "[fe80::1]:80",
    ):
        assert matches(ok, hosts), ok
    for refused in (
        "evil.example.com",
        "mcp.example.com.evil.com",
        "10.0.0.5:8000",
        "0.0.0.0:8000",
        "",
        "localhostx:1",
    ):
        assert not matches(refused, hosts), refused


def test_a_specific_bind_address_is_accepted_as_host() -> None:
    assert matches("10.1.2.3:8000", allowed_hosts("10.1.2.3", []))
    assert not matches("10.1.2.4:8000", allowed_hosts("10.1.2.3", []))


def test_allowed_origins() -> None:
    origins = allowed_origins(["https://app.example.com/"])
    for ok in ("http://localhost:3000", "http://127.0.0.1", "https://app.example.com"):
        assert matches(ok, origins), ok
    for refused in (
        "https://evil.example.com",
        "http://localhost.evil.com",
        "null",
        "https://app.example.com:444",
    ):
        assert not matches(refused, origins), refused


def test_tokens_file_lines() -> None:
    tokens = parse_tokens(f"# team\n\nalice {SECRET}\n  {SECRET}-2  \n", "f")
    assert [t.name for t in tokens] == ["alice", tokens[1].name]
    assert tokens[1].name.startswith("token-") and SECRET not in tokens[1].name
    assert tokens[1].secret == f"{SECRET}-2".encode()


@pytest.mark.parametrize("text", ["alice Zq9", "a b Xc7Yd", "alice Kp4Lm8Rt2Wq7Z1x"])
def test_a_bad_tokens_line_is_named_without_echoing_the_token(text: str) -> None:
    with pytest.raises(ConfigError, match="Tokens file f, line 2: ") as caught:
        parse_tokens(f"ok {SECRET}\n{text}\n", "Tokens file f")
    assert text.split()[-1] not in str(caught.value)


async def test_static_tokens_match_exactly(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"bob {SECRET}\n")
    verifier = StaticTokenVerifier("inline-token-0123456789", str(path))
    assert (await verifier.verify_token(SECRET)).client_id == "bob"
    assert (await verifier.verify_token("inline-token-0123456789")).client_id == "default"
    for wrong in (SECRET[:-1], SECRET + "x", "", "inline-token-012345678"):
        assert await verifier.verify_token(wrong) is None
    path.unlink()
    assert await verifier.verify_token(SECRET) is None, "an unreadable file fails closed"
    assert verifier.problems() == []  # the inline token still works, so the server is usable


def test_a_short_token_is_refused_with_advice_and_not_echoed() -> None:
    with pytest.raises(
        ConfigError, match=r"FW_MCP_AUTH_TOKEN .* too short.*secrets\.token_urlsafe"
    ) as caught:
        StaticTokenVerifier("hunter2hunter2", None)
    assert "hunter2" not in str(caught.value)


def test_an_empty_or_missing_tokens_file_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"could not be used"):
        StaticTokenVerifier(None, str(tmp_path / "missing"))
    (tmp_path / "empty").write_text("# nobody yet\n")
    with pytest.raises(ConfigError, match="holds no tokens"):
        StaticTokenVerifier(None, str(tmp_path / "empty"))


def test_a_launch_round_trips_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    launch = Launch(
        HttpOptions(host="::", port=0, workers=3, simulated=True), "/etc/fw.toml", {"api_key": "x"}
    )
    monkeypatch.setenv(LAUNCH_ENV, launch.to_env())
    assert Launch.from_env() == launch
    assert json.loads(launch.to_env())["options"]["workers"] == 3


def test_the_worker_entry_outside_a_launch_says_what_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LAUNCH_ENV, raising=False)
    with pytest.raises(ConfigError, match="--workers N"):
        Launch.from_env()
