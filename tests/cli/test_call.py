"""`fw-mcp call`: one tool from the shell, against the simulator; the answer streams to stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from fw_mcp.commands.call import typed_value
from fw_mcp.simulator import SimulatorServer
from tests.cli.helpers import ROOT, Cli, child_env, sim_env, spawn

PERSON = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}


@pytest.fixture
def sim_shell(simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    """This process's environment pointed at the simulator, for in-process runs."""
    for name, value in sim_env(simulator.base_url).items():
        monkeypatch.setenv(name, value)
    return simulator


def test_call_chat_prints_the_answer_on_stdout_and_the_account_on_stderr(simulator: SimulatorServer) -> None:
    ran = spawn(
        "call", "chat", "--arg", "prompt=hi", "--arg", "max_tokens=50", env=sim_env(simulator.base_url)
    )
    assert ran.code == 0, ran.err
    assert ran.out == "Simulated answer from deepseek-v3p1: hi\n"
    assert "[model: deepseek-v3p1" in ran.err and "Traceback" not in ran.err
    [request] = simulator.sim.requests
    assert request["body"]["max_tokens"] == 50  # typed by the tool's schema: a number, not "50"


def test_call_json_prints_the_whole_result(simulator: SimulatorServer) -> None:
    ran = spawn(
        "call",
        "extract_json",
        "--json",
        json.dumps({"text": "Ann is 31", "schema": PERSON}),
        env=sim_env(simulator.base_url),
    )
    assert ran.code == 0, ran.err
    result = json.loads(ran.out)
    assert result["isError"] is False
    assert isinstance(result["structuredContent"]["data"]["age"], int)
    assert result["content"][-1]["text"].startswith("[model: ")


def test_call_extract_json_prints_the_validated_json(cli: Cli, sim_shell: SimulatorServer) -> None:
    ran = cli("call", "extract_json", "--arg", "text=Ann is 31", "--arg", f"schema={json.dumps(PERSON)}")
    assert ran.code == 0, ran.err
    assert isinstance(json.loads(ran.out)["age"], int)
    assert "[model: " in ran.err and "[model: " not in ran.out


def test_tool_error_goes_to_stderr_with_exit_code_1(cli: Cli, sim_shell: SimulatorServer) -> None:
    ran = cli("call", "chat", "--arg", "prompt=hi", "--arg", "temperature=9")
    assert ran.code == 1 and ran.out == ""
    assert "temperature" in ran.err
    assert sim_shell.sim.requests == []


def test_missing_key_says_how_to_set_it(
    cli: Cli, simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_BASE_URL", simulator.base_url)
    ran = cli("call", "chat", "--arg", "prompt=hi")
    assert ran.code == 2 and "FIREWORKS_API_KEY is not set" in ran.err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["call", "nope"], "Unknown tool 'nope'"),
        (["call"], "Name the tool"),
        (["call", "chat", "--arg", "prompt"], "--arg takes KEY=VALUE"),
        (["call", "chat", "--json", "[1]"], "--json must be a JSON object"),
        (["call", "chat", "--json", "{oops"], "--json must be the arguments as a JSON object"),
    ],
)
def test_usage_errors_exit_2_and_say_what_to_give(
    cli: Cli, sim_shell: SimulatorServer, argv: list[str], expected: str
) -> None:
    ran = cli(*argv)
    assert ran.code == 2 and expected in ran.err and ran.out == ""


def test_json_flag_before_the_tool_name_still_works(cli: Cli, sim_shell: SimulatorServer) -> None:
    ran = cli("call", "--json", "chat", "--arg", "prompt=hi")
    assert ran.code == 0 and json.loads(ran.out)["structuredContent"]["text"].startswith("Simulated")


def test_answer_streams_before_the_call_ends(simulator: SimulatorServer) -> None:
    text = " ".join(f"word{i}" for i in range(60))
    simulator.sim.enqueue({"reply": {"content": text}, "token_delay": 0.02})
    proc = subprocess.Popen(
        [sys.executable, "-m", "fw_mcp", "call", "chat", "--arg", "prompt=x"],
        env=child_env(sim_env(simulator.base_url)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    first = os.read(proc.stdout.fileno(), 65536)
    first_at = time.monotonic()
    rest, err = proc.communicate(timeout=60)
    ended_at = time.monotonic()
    assert proc.returncode == 0, err
    assert (first + rest).decode() == text + "\n"
    assert len(first) < len(text) and ended_at - first_at > 0.4  # the stream took ~1.2 s after it


def test_retry_status_goes_to_stderr_not_into_the_answer(cli: Cli, sim_shell: SimulatorServer) -> None:
    sim_shell.sim.enqueue({"error": "429_flat", "headers": {"retry-after": "0"}})
    ran = cli("call", "chat", "--arg", "prompt=hello")
    assert ran.code == 0, ran.err
    assert ran.out == "Simulated answer from deepseek-v3p1: hello\n"
    retry_lines = [line for line in ran.err.splitlines() if "again" in line]
    assert retry_lines == [
        "fw-mcp: Fireworks is rate limiting (HTTP 429); trying again in 0.0 s (attempt 2 of 3)."
    ]
    assert len(sim_shell.sim.requests) == 2


def test_a_retry_after_no_answer_does_not_say_fireworks_answered(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw_TESTKEY_0123456789abcdef")
    monkeypatch.setenv("FIREWORKS_BASE_URL", "http://127.0.0.1:9/inference/v1")
    ran = cli("call", "chat", "--arg", "prompt=hello")
    assert ran.code == 1
    retry_lines = [line for line in ran.err.splitlines() if "trying again" in line]
    assert len(retry_lines) == 2, ran.err  # one line per retry: no log line repeating it
    assert all(
        line.startswith("fw-mcp: No answer from Fireworks (could not connect)") for line in retry_lines
    )
    assert "answered" not in ran.err.split("Could not get an answer")[0]


def _call_with_stderr_on_a_terminal(base_url: str) -> tuple[int, bytes, bytes]:
    """`fw-mcp call chat` with stdout piped and stderr on a pseudo-terminal, as in a shell `> file`."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fw_mcp", "call", "chat", "--arg", "prompt=hi"],
        env=child_env(sim_env(base_url)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal (EIO on Linux)
            break
        if not chunk:
            break
        err += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    return proc.returncode, out, err


def test_a_terminal_shows_a_waiting_line_until_the_first_token(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"reply": {"content": "a b c"}, "delay": 0.3})
    code, out, err = _call_with_stderr_on_a_terminal(simulator.base_url)
    assert code == 0, err
    assert out == b"a b c\n"
    waiting = err.index(b"waiting for the model's first token")
    assert err.index(b"\r\x1b[K", waiting) > waiting, "the waiting line is cleared once the answer starts"


def test_a_pipe_gets_no_waiting_line(simulator: SimulatorServer) -> None:
    ran = spawn("call", "chat", "--arg", "prompt=hi", env=sim_env(simulator.base_url))
    assert ran.code == 0, ran.err
    assert "waiting" not in ran.err and "\x1b" not in ran.err


def test_simulate_needs_no_key_and_labels_the_answer(cli: Cli) -> None:
    ran = cli("call", "--simulate", "chat", "--arg", "prompt=hi")
    assert ran.code == 0 and ran.out.startswith("Simulated answer")
    assert "SIMULATED" in ran.err


@pytest.mark.parametrize(
    ("raw", "schema", "expected"),
    [
        ("50", {"anyOf": [{"type": "integer"}, {"type": "null"}]}, 50),
        ("42", {"anyOf": [{"type": "string"}, {"type": "null"}]}, "42"),
        ("null", {"type": "string"}, "null"),
        ('["a", "b"]', {"anyOf": [{"type": "string"}, {"type": "array"}]}, ["a", "b"]),
        ('{"type": "object"}', {"type": "object"}, {"type": "object"}),
        ("hello world", {"type": "string"}, "hello world"),
        ("0.5", {"type": "number"}, 0.5),
        ("7", None, 7),
    ],
)
def test_arg_values_are_typed_by_the_tools_schema(raw: str, schema: dict | None, expected: object) -> None:
    assert typed_value(raw, schema) == expected
