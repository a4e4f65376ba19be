"""The allowed output folder: nothing written unless configured, atomic, no symlinks, no clobbering."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fw_mcp.errors import InvalidArgument
from fw_mcp.files.output import write_atomic
from fw_mcp.settings import load_settings


def write(out: Path | None, ref: str, data: bytes = b"new\n", *, overwrite: bool = False) -> str:
    return write_atomic(out, ref, [data[:2], data[2:]], overwrite=overwrite, argument="output_path")


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_nothing_is_written_unless_an_output_folder_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().output_dir() is None
    with pytest.raises(InvalidArgument, match="FW_MCP_OUTPUT_DIR") as caught:
        write(None, str(tmp_path / "x.jsonl"))
    assert caught.value.argument == "output_path"
    assert not (tmp_path / "x.jsonl").exists()
    monkeypatch.setenv("FW_MCP_OUTPUT_DIR", str(tmp_path))
    assert load_settings().output_dir() == tmp_path.resolve()


def test_a_relative_path_lands_in_the_output_folder_whole(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    written = write(tmp_path, "sub/out.jsonl", b"line 1\nline 2\n")
    assert written == str(tmp_path / "sub" / "out.jsonl")
    assert Path(written).read_bytes() == b"line 1\nline 2\n"
    assert leftovers(tmp_path / "sub") == []
    absolute = write(tmp_path, str(tmp_path / "abs.jsonl"))
    assert Path(absolute).read_bytes() == b"new\n"


def test_an_existing_file_is_replaced_only_with_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old\n")
    with pytest.raises(InvalidArgument, match="overwrite: true"):
        write(tmp_path, "out.jsonl")
    assert target.read_bytes() == b"old\n" and leftovers(tmp_path) == []
    write(tmp_path, "out.jsonl", overwrite=True)
    assert target.read_bytes() == b"new\n"


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_symlink_is_never_written_through(tmp_path: Path, overwrite: bool) -> None:
    out, outside = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    outside.write_bytes(b"precious\n")
    (out / "link.jsonl").symlink_to(outside)
    with pytest.raises(InvalidArgument, match="symlink"):
        write(out, "link.jsonl", overwrite=overwrite)
    assert outside.read_bytes() == b"precious\n" and (out / "link.jsonl").is_symlink()


@pytest.mark.parametrize("ref", ["../escape.jsonl", "linked/escape.jsonl", "/etc/escape.jsonl"])
def test_paths_leading_out_of_the_folder_are_refused(tmp_path: Path, ref: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "linked").symlink_to(tmp_path)
    with pytest.raises(InvalidArgument, match="not inside the output folder"):
        write(out, ref)
    assert not (tmp_path / "escape.jsonl").exists()


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"half"
        raise OSError(28, "No space left on device")

    with pytest.raises(InvalidArgument, match="No space left"):
        write_atomic(tmp_path, "out.jsonl", chunks(), overwrite=False, argument="output_path")
    assert os.listdir(tmp_path) == []


def test_a_missing_folder_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="does not exist"):
        write(tmp_path, "nope/out.jsonl")
    assert not (tmp_path / "nope").exists()
