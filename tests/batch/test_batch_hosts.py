"""The batch flow as people and hosts run it: `python -m fw_mcp` over stdio, and `fw-mcp batch`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fw_mcp.cli import main
from fw_mcp.simulator import SimulatorServer
from tests.batch.conftest import ACCOUNT
from tests.conftest import TEST_KEY
from tests.e2e.helpers import server_env, stdio_session


async def test_a_host_submits_waits_and_pages_over_stdio(batch_sim: SimulatorServer) -> None:
    env = server_env(batch_sim.base_url, FIREWORKS_ACCOUNT_ID=ACCOUNT)
    async with stdio_session(env) as s:
        submitted = await s.call("batch_submit", {"requests": [{"prompt": f"q{i}"} for i in range(30)]})
        assert not submitted.is_error, submitted.content
        job = submitted.structured_content["job_id"]
        status = await s.call("batch_status", {"job_id": job, "wait": 20})
        page = await s.call("batch_results", {"job_id": job, "limit": 10, "offset": 10})
        listed = await s.call("batch_list", {})
    assert status.structured_content["state"] == "COMPLETED"
    assert [i["custom_id"] for i in page.structured_content["results"]] == [
        f"request-{n}" for n in range(11, 21)
    ]
    assert page.structured_content["next_offset"] == 20
    assert [j["job_id"] for j in listed.structured_content["jobs"]] == [job]


@pytest.fixture
def shell(batch_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    for name, value in {
        "FIREWORKS_BASE_URL": batch_sim.base_url,
        "FIREWORKS_API_KEY": TEST_KEY,
        "FIREWORKS_ACCOUNT_ID": ACCOUNT,
    }.items():
        monkeypatch.setenv(name, value)
    return batch_sim


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def line(i: int) -> dict[str, object]:
    return {"custom_id": f"c{i}", "body": {"messages": [{"role": "user", "content": f"text {i}"}]}}


def test_the_cli_submits_a_file_waits_with_plain_lines_and_writes_every_result(
    shell: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "prompts.jsonl", [line(i) for i in range(120)])
    assert (
        main(["batch", "submit", str(source), "--model", "deepseek-v3p1", "--max-tokens", "16", "--wait"])
        == 0
    )
    submitted = capsys.readouterr()
    job = submitted.out.splitlines()[0]
    assert "COMPLETED" in submitted.out and "submitted 120 requests" in submitted.err
    assert "Estimated cost: at most ~$" in submitted.err and "at batch prices" in submitted.err
    assert f"fw-mcp batch results {job} -o" in submitted.out
    assert "\r" not in submitted.err  # piped: plain lines, no bar redrawn in place
    out = tmp_path / "results.jsonl"
    assert main(["batch", "results", job, "-o", str(out)]) == 0
    said = capsys.readouterr().err
    rows = [json.loads(r) for r in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["custom_id"] for r in rows) == sorted(f"c{i}" for i in range(120))
    assert all(r["text"] for r in rows) and "every one of the 120 requests accounted for" in said
    assert main(["batch", "list"]) == 0 and capsys.readouterr().out.startswith(job)


def test_the_cli_refuses_a_bad_file_with_line_numbers_and_uploads_nothing(
    shell: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows: list[object] = [line(1), line(1), "not an object", {"custom_id": "x", "body": {"messages": []}}]
    source = write_jsonl(tmp_path / "bad.jsonl", rows)
    with source.open("a") as fh:
        fh.write("{broken\n")
    assert main(["batch", "submit", str(source)]) == 2
    err = capsys.readouterr().err
    assert "4 problems found, nothing was uploaded" in err
    assert "line 2: `custom_id` 'c1' is used twice" in err and "line 3: not a JSON object" in err
    assert "line 4: body.messages" in err and "line 5: not valid JSON" in err
    assert shell.app.batch.datasets == {}


def test_the_cli_refuses_a_file_over_the_size_limit(
    shell: SimulatorServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "fw.toml"
    config.write_text("[batch]\nmax_input_bytes = 100\n")
    source = write_jsonl(tmp_path / "big.jsonl", [line(i) for i in range(10)])
    assert main(["batch", "--config", str(config), "submit", str(source)]) == 2
    assert "over the limit of 100 ([batch] max_input_bytes)" in capsys.readouterr().err
    assert shell.app.batch.datasets == {}


def test_the_cli_status_of_a_cancelled_job_fails_and_says_so(
    shell: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.app.batch.configure(step_seconds=5)
    assert main(["batch", "submit", str(write_jsonl(tmp_path / "p.jsonl", [line(0)]))]) == 0
    job = capsys.readouterr().out.strip()
    assert main(["batch", "cancel", job]) == 0
    assert main(["batch", "status", job]) == 1
    assert f"Batch job {job} is CANCELLED" in capsys.readouterr().out
