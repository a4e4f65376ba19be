"""batch_submit `input_path` and batch_results `output_path`: local files, inside the sandbox folders,
checked line by line before anything is uploaded, written atomically, and paged from a cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fw_mcp.settings import Settings, load_settings
from fw_mcp.simulator import SimulatorServer
from fw_mcp.tools.batch_input import check_input_path
from tests.batch.conftest import ACCOUNT
from tests.batch.test_batch_tools import MODEL, call, data, host, text
from tests.conftest import TEST_KEY, make_settings


def settings_for(sim: SimulatorServer, inputs: Path, outputs: Path | None = None, **batch: Any) -> Settings:
    return make_settings(
        sim.base_url,
        fireworks={"account_id": ACCOUNT},
        batch={"poll_interval": 0.02, **batch},
        images={"allowed_dirs": [str(inputs)]},
        files={"output_dir": str(outputs) if outputs else ""},
    )


def row(i: int, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": f"doc-{i}",
        "body": {"messages": [{"role": "user", "content": f"label doc {i}"}], **body},
    }


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def uploaded(sim: SimulatorServer) -> list[bytes]:
    """The content of every input dataset uploaded to the simulator."""
    datasets = sim.app.batch.datasets
    return [
        f.read_bytes() for (_, name), ds in datasets.items() if "input" in name for f in ds.files.values()
    ]


async def test_a_file_of_more_requests_than_a_call_takes_is_checked_uploaded_as_is_and_run(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "docs.jsonl", [row(i, max_tokens=8) for i in range(1500)])
    async with host(settings_for(batch_sim, tmp_path)) as client:
        submitted = data(await call(client, "batch_submit", input_path=str(source), display_name="docs"))
        status = data(await call(client, "batch_status", job_id=submitted["job_id"], wait=30))
        page = data(await call(client, "batch_results", job_id=submitted["job_id"], offset=1490, limit=50))
    assert (submitted["requests"], submitted["model"]) == (1500, MODEL)
    assert uploaded(batch_sim) == [source.read_bytes()]
    assert status["state"] == "COMPLETED" and status["succeeded"] == 1500
    assert [i["custom_id"] for i in page["results"]] == [f"doc-{i}" for i in range(1490, 1500)]
    assert page["next_offset"] is None and all(i["text"] for i in page["results"])


async def test_every_bad_line_is_listed_by_number_and_nothing_is_uploaded(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    rows: list[Any] = [
        row(1),
        row(1),
        "{not json",
        {"custom_id": "x", "body": {"messages": []}},
        {"custom_id": "y", "body": {"messages": [{"role": "user", "content": "hi"}], "stream": True}},
        {"body": {"messages": [{"role": "user", "content": "no id"}]}},
        row(7, note="x" * 3000),
    ]
    source = write_jsonl(tmp_path / "bad.jsonl", rows)
    async with host(settings_for(batch_sim, tmp_path, max_line_bytes=2048)) as client:
        result = await call(client, "batch_submit", input_path=str(source))
    said = text(result)
    assert result.is_error and "6 problems found, nothing was uploaded" in said
    assert "line 2: `custom_id` 'doc-1' is used twice" in said and "line 3: not valid JSON" in said
    assert "line 4: body.messages" in said and "line 5: `stream` cannot be used" in said
    assert "line 6: `custom_id` must be a non-empty string" in said
    assert "line 7: longer than 2,048 bytes ([batch] max_line_bytes)" in said
    assert batch_sim.app.batch.datasets == {} and batch_sim.app.batch.jobs == {}


async def test_past_twenty_bad_lines_the_rest_are_counted(batch_sim: SimulatorServer, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "bad.jsonl", ["[]"] * 30)
    async with host(settings_for(batch_sim, tmp_path)) as client:
        result = await call(client, "batch_submit", input_path=str(source))
    said = text(result)
    assert result.is_error and "30 problems" in said and "... and 10 more" in said
    assert "line 20: not a JSON object" in said and "line 21:" not in said
    assert batch_sim.app.batch.datasets == {}


async def test_files_outside_the_allowed_folders_over_the_limit_or_on_a_shared_server_are_refused(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    secret = write_jsonl(outside / "secret.jsonl", [row(1)])
    link = inside / "link.jsonl"
    link.symlink_to(secret)
    fine = write_jsonl(inside / "fine.jsonl", [row(i) for i in range(10)])
    settings = settings_for(batch_sim, inside)
    async with host(settings) as client:
        away = await call(client, "batch_submit", input_path=str(secret))
        linked = await call(client, "batch_submit", input_path=str(link))
        missing = await call(client, "batch_submit", input_path=str(inside / "nope.jsonl"))
    async with host(settings_for(batch_sim, inside, max_input_bytes=100)) as client:
        big = await call(client, "batch_submit", input_path=str(fine))
    async with host(
        make_settings(batch_sim.base_url, fireworks={"account_id": ACCOUNT}).for_http_server()
    ) as c:
        shared = await call(c, "batch_submit", input_path=str(fine))
    for refused in (away, linked):
        assert (
            refused.is_error and "input_path" in text(refused) and "is not inside a folder" in text(refused)
        )
    assert missing.is_error and "does not exist" in text(missing)
    assert big.is_error and "over the limit of 100 ([batch] max_input_bytes)" in text(big)
    assert shared.is_error and "no folder is allowed for local files" in text(shared)
    assert batch_sim.app.batch.datasets == {}


@pytest.mark.parametrize("given", ["both", "neither"])
async def test_exactly_one_of_requests_and_input_path(
    batch_sim: SimulatorServer, tmp_path: Path, given: str
) -> None:
    source = write_jsonl(tmp_path / "docs.jsonl", [row(1)])
    args: dict[str, Any] = (
        {"requests": [{"prompt": "hi"}], "input_path": str(source)} if given == "both" else {}
    )
    async with host(settings_for(batch_sim, tmp_path)) as client:
        result = await call(client, "batch_submit", **args)
    said = text(result)
    assert result.is_error and "exactly one of `requests`" in said and "`input_path`" in said
    assert batch_sim.app.batch.datasets == {}


def test_a_checked_file_edited_or_replaced_afterwards_no_longer_counts_as_checked(tmp_path: Path) -> None:
    settings = make_settings("http://127.0.0.1:9/inference/v1")
    source = write_jsonl(tmp_path / "docs.jsonl", [row(i) for i in range(3)])
    checked = check_input_path(str(source), [tmp_path], MODEL, settings.batch)
    assert checked.count == 3 and checked.unchanged()
    with source.open("a") as fh:
        fh.write(json.dumps(row(9)) + "\n")
    assert not checked.unchanged()
    again = check_input_path(str(source), [tmp_path], MODEL, settings.batch)
    write_jsonl(tmp_path / "other.jsonl", [row(1)]).replace(source)
    assert again.count == 4 and not again.unchanged()


async def finished_job(client: Any, source: Path) -> str:
    job = data(await call(client, "batch_submit", input_path=str(source)))["job_id"]
    assert data(await call(client, "batch_status", job_id=job, wait=30))["state"] == "COMPLETED"
    return str(job)


async def test_output_path_writes_every_result_once_and_shows_the_first_few(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    outputs = tmp_path / "out"
    outputs.mkdir()
    batch_sim.app.batch.configure(fail_match="doc-7")  # doc-7, doc-70..79, doc-700..799, doc-1007..
    source = write_jsonl(tmp_path / "docs.jsonl", [row(i) for i in range(1200)])
    async with host(settings_for(batch_sim, tmp_path, outputs)) as client:
        job = await finished_job(client, source)
        result = await call(client, "batch_results", job_id=job, output_path="results.jsonl")
    got = data(result)
    written = [
        json.loads(line) for line in (outputs / "results.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    failed = {f"doc-{i}" for i in range(1200) if "doc-7" in f"doc-{i}"}
    assert sorted(r["custom_id"] for r in written) == sorted(f"doc-{i}" for i in range(1200))
    assert {r["custom_id"] for r in written if "error" in r} == failed
    assert all(r["text"] and r["finish_reason"] and r["usage"] for r in written if "error" not in r)
    assert got["output_path"] == str((outputs / "results.jsonl").resolve()) and got["lines_written"] == 1200
    assert (got["total"], got["failed"], got["next_offset"]) == (1200, len(failed), None)
    assert [i["custom_id"] for i in got["results"]] == [f"doc-{i}" for i in range(5)]
    assert "wrote all 1,200 results to" in text(result)
    assert sorted(p.name for p in outputs.iterdir()) == ["results.jsonl"]  # no temporary file left


async def test_output_path_is_refused_before_anything_is_downloaded(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    outputs = tmp_path / "out"
    outputs.mkdir()
    (outputs / "taken.jsonl").write_text("mine\n")
    source = write_jsonl(tmp_path / "docs.jsonl", [row(i) for i in range(5)])
    async with host(settings_for(batch_sim, tmp_path)) as client:  # no output folder configured
        job = await finished_job(client, source)
        unset = await call(client, "batch_results", job_id=job, output_path="r.jsonl")
    async with host(settings_for(batch_sim, tmp_path, outputs)) as client:
        taken = await call(client, "batch_results", job_id=job, output_path="taken.jsonl")
        away = await call(client, "batch_results", job_id=job, output_path=str(tmp_path / "r.jsonl"))
        paged = await call(client, "batch_results", job_id=job, output_path="r.jsonl", offset=2)
    assert unset.is_error and "FW_MCP_OUTPUT_DIR" in text(unset)
    assert taken.is_error and "already exists; pass overwrite: true" in text(taken)
    assert away.is_error and "not inside the output folder" in text(away)
    assert paged.is_error and "offset" in text(paged)
    assert batch_sim.app.batch.downloads == [] and (outputs / "taken.jsonl").read_text() == "mine\n"


async def test_results_that_do_not_add_up_leave_no_file_behind(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    outputs = tmp_path / "out"
    outputs.mkdir()
    source = write_jsonl(tmp_path / "docs.jsonl", [row(i) for i in range(20)])
    async with host(settings_for(batch_sim, tmp_path, outputs)) as client:
        job = await finished_job(client, source)
        output = next(ds for (_, name), ds in batch_sim.app.batch.datasets.items() if "output" in name)
        lines = output.files["results.jsonl"].read_bytes().splitlines(keepends=True)
        output.files["results.jsonl"].write_bytes(b"".join(lines[:-1]))  # the last result lost
        result = await call(client, "batch_results", job_id=job, output_path="results.jsonl")
    assert result.is_error and "1 request(s) with neither a result nor an error (doc-19)" in text(result)
    assert list(outputs.iterdir()) == []


async def test_paging_a_finished_job_downloads_its_files_once_even_across_restarts(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "docs.jsonl", [row(i) for i in range(1000)])
    settings = settings_for(batch_sim, tmp_path, cache_dir=str(tmp_path / "cache"))
    items: list[dict[str, Any]] = []
    async with host(settings) as client:
        job = await finished_job(client, source)
        for offset in range(0, 600, 100):
            items += data(await call(client, "batch_results", job_id=job, offset=offset, limit=100))[
                "results"
            ]
    async with host(settings) as restarted:
        for offset in range(600, 1000, 100):
            items += data(await call(restarted, "batch_results", job_id=job, offset=offset, limit=100))[
                "results"
            ]
    assert [i["custom_id"] for i in items] == [f"doc-{i}" for i in range(1000)]
    assert len(batch_sim.app.batch.downloads) == 2  # the input file and the results file, once each
    assert len([p for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")]) == 1


async def test_a_job_larger_than_the_cache_is_downloaded_for_every_page(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "docs.jsonl", [row(i) for i in range(50)])
    settings = settings_for(batch_sim, tmp_path, cache_dir=str(tmp_path / "cache"), cache_bytes=1000)
    async with host(settings) as client:
        job = await finished_job(client, source)
        for offset in (0, 25):
            data(await call(client, "batch_results", job_id=job, offset=offset, limit=25))
    assert len(batch_sim.app.batch.downloads) == 4
    assert [p for p in (tmp_path / "cache").iterdir()] == []  # nothing kept, no staging left


async def test_a_file_is_costed_like_the_same_requests_and_refused_over_budget_before_any_upload(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    from tests.spend.test_batch_spend import HELLO_CEILING, config_file

    rows = [
        {
            "custom_id": f"r{i}",
            "body": {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 100},
        }
        for i in range(3)
    ]
    source = write_jsonl(tmp_path / "hello.jsonl", rows)
    costs = {}
    for limit in (5, 0.0002):
        config = config_file(tmp_path, str(tmp_path / "usage.db"), daily_usd=limit)
        settings = load_settings(
            str(config),
            overrides={
                "fireworks": {"base_url": batch_sim.base_url},
                "api_key": TEST_KEY,
                "images": {"allowed_dirs": [str(tmp_path)]},
            },
        )
        async with host(settings) as client:
            costs[limit] = await call(client, "batch_submit", input_path=str(source))
    assert data(costs[5])["estimated_cost"]["usd"] == round(HELLO_CEILING, 9)
    refused = costs[0.0002]
    assert refused.is_error and "Refused before anything was sent" in text(refused)
    assert len(uploaded(batch_sim)) == 1  # the first submission's, not the refused one's
