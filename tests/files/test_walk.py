"""Which files a search reads: sandboxed named paths, walked folders, git's ignore rules, limits."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from fw_mcp.errors import InvalidArgument
from fw_mcp.files.notes import Notes
from fw_mcp.files.texts import read_texts
from fw_mcp.files.walk import find_files
from fw_mcp.settings import FilesSection, load_settings


def limits(**values: Any) -> FilesSection:
    return load_settings(overrides={"files": values}).files


def search_files(
    refs: list[str], allowed: Path, glob: str | None = None, **values: Any
) -> tuple[dict[str, str], list[str]]:
    notes = Notes()
    files = limits(**values)
    found = find_files(refs, [allowed.resolve()], glob, files, notes)
    texts = read_texts(found, [allowed.resolve()], files, notes)
    return {t.path: t.text for t in texts}, notes.lines()


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def test_a_folder_is_walked_skipping_hidden_binary_and_undecodable_files(tmp_path: Path) -> None:
    write(tmp_path / "docs/a.md", "alpha")
    write(tmp_path / "docs/sub/b.txt", "beta")
    write(tmp_path / "docs/.hidden/c.md", "hidden folder")
    write(tmp_path / "docs/.env", "SECRET=1")
    write(tmp_path / "docs/logo.png", b"\x89PNG\r\n")
    write(tmp_path / "docs/blob.dat2", b"text\x00with nul")
    write(tmp_path / "docs/latin1.txt", "caf\xe9".encode("latin-1"))
    got, notes = search_files([str(tmp_path / "docs")], tmp_path)
    assert sorted(got) == sorted([str(tmp_path / "docs/a.md"), str(tmp_path / "docs/sub/b.txt")])
    joined = "\n".join(notes)
    assert "Skipped 2 files (binary)" in joined and "logo.png" in joined and "blob.dat2" in joined
    assert "Skipped 1 file (not UTF-8 text)" in joined and "latin1.txt" in joined
    assert "hidden" not in joined and ".env" not in joined


def test_paths_are_shown_as_the_caller_wrote_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "docs/a.md", "alpha")
    monkeypatch.chdir(tmp_path)
    got, _ = search_files(["./docs", "docs/a.md"], tmp_path)
    assert list(got) == ["docs/a.md"], "the same file named twice is read once"


def test_git_ignored_files_are_skipped_in_a_checkout(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo / ".gitignore", "build/\n*.log\n")
    write(repo / "src/keep.py", "print('kept')")
    write(repo / "src/debug.log", "ignored by pattern")
    write(repo / "build/out.txt", "ignored folder")
    write(repo / "notes.md", "untracked but not ignored")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "src/keep.py"], check=True)
    got, _ = search_files([str(repo)], tmp_path)
    assert sorted(got) == sorted([str(repo / "notes.md"), str(repo / "src/keep.py")])


def test_glob_keeps_only_matching_files(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "a")
    write(tmp_path / "sub/b.md", "b")
    write(tmp_path / "c.py", "c")
    got, _ = search_files([str(tmp_path)], tmp_path, glob="*.md")
    assert sorted(got) == sorted([str(tmp_path / "a.md"), str(tmp_path / "sub/b.md")])


def test_a_path_outside_gets_the_same_refusal_whether_or_not_it_exists(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    write(tmp_path / "secret.txt", "s")
    messages = []
    for ref in (str(tmp_path / "secret.txt"), str(tmp_path / "missing.txt"), str(allowed / "../secret.txt")):
        with pytest.raises(InvalidArgument) as caught:
            search_files([str(allowed), ref], allowed)
        assert caught.value.argument == "paths[1]"
        messages.append(caught.value.problem.replace(repr(ref), "REF"))
    assert len(set(messages)) == 1 and "FW_MCP_ALLOWED_DIRS" in messages[0]


async def test_a_named_fifo_is_refused_and_a_walked_one_skipped_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    write(tmp_path / "a.txt", "a")
    with anyio.fail_after(5):
        with pytest.raises(InvalidArgument, match="not a regular file"):
            await anyio.to_thread.run_sync(
                search_files, [str(tmp_path / "pipe.txt")], tmp_path, abandon_on_cancel=True
            )
        got, notes = await anyio.to_thread.run_sync(
            search_files, [str(tmp_path)], tmp_path, abandon_on_cancel=True
        )
    assert list(got) == [str(tmp_path / "a.txt")]
    assert any("not a regular file" in n and "pipe.txt" in n for n in notes)


def test_dev_zero_behind_a_symlink_is_refused_or_skipped(tmp_path: Path) -> None:
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    with pytest.raises(InvalidArgument, match="not inside a folder"):
        search_files([str(tmp_path / "zero.txt")], tmp_path)
    got, notes = search_files([str(tmp_path)], tmp_path)
    assert got == {} and any("link out of the allowed folders" in n for n in notes)


def test_a_2_gb_file_is_refused_when_named_and_skipped_when_walked(tmp_path: Path) -> None:
    with open(tmp_path / "huge.log", "wb") as fh:
        fh.truncate(2 * 1024**3)  # sparse: no disk space used, and never read
    write(tmp_path / "small.txt", "small")
    with pytest.raises(InvalidArgument, match="max_file_bytes"):
        search_files([str(tmp_path / "huge.log")], tmp_path)
    got, notes = search_files([str(tmp_path)], tmp_path)
    assert list(got) == [str(tmp_path / "small.txt")]
    assert any("over max_file_bytes" in n and "huge.log" in n for n in notes)


def test_a_named_undecodable_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "bad.txt", b"\xff\xfe\xfa not utf-8")
    with pytest.raises(InvalidArgument, match="not a UTF-8 text file") as caught:
        search_files([str(tmp_path / "bad.txt")], tmp_path)
    assert caught.value.argument == "paths[0]"


def test_a_huge_folder_stops_at_the_walk_and_file_limits_and_says_so(tmp_path: Path) -> None:
    for i in range(300):
        write(tmp_path / f"d{i // 100}" / f"f{i:03}.txt", f"file {i}")
    got, notes = search_files([str(tmp_path)], tmp_path, max_walk_entries=120)
    assert 90 <= len(got) < 120
    assert any("max_walk_entries" in n for n in notes)
    got, notes = search_files([str(tmp_path)], tmp_path, max_files=25)
    assert len(got) == 25 and any("max_files" in n for n in notes)


def test_reading_stops_at_the_byte_budget_and_says_what_was_left_out(tmp_path: Path) -> None:
    for i in range(10):
        write(tmp_path / f"f{i}.txt", "x" * 100)
    got, notes = search_files([str(tmp_path)], tmp_path, max_total_bytes=450)
    assert len(got) == 4
    assert any("max_total_bytes" in n and "6 files left out" in n for n in notes)
