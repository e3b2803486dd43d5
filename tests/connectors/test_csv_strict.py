"""CSV read strictly through the real `adf` command: malformed quoting, oversized cells and
undecodable bytes fail naming the file and line; well-formed multi-line cells still read
(issue 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adf_core.data.formats import RecordError, read_records


def adf_copy(cwd: Path, path: str) -> subprocess.CompletedProcess[str]:
    """``adf run 'file | out=file'`` from ``path`` to ``out.jsonl``."""
    return subprocess.run(
        [sys.executable, "-m", "adf_core.cli", "run", "-q", "file | out=file",
         "-o", f"file.path={path}", "-o", "out.path=out.jsonl"],
        cwd=cwd, env={**os.environ, "ADF_LOG_FORMAT": "json"}, capture_output=True,
        text=True, timeout=120)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(("out", ".out")))


def test_an_unterminated_quote_fails_naming_the_file_record_and_line(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text('id,name\n1,"abc\n2,def\n3,ghi\n')
    done = adf_copy(tmp_path, "orders.csv")
    assert done.returncode == 1, done.stderr
    assert "orders.csv record 1 (line 2): a quoted cell is never closed" in done.stderr
    assert leftovers(tmp_path) == []


def test_text_after_a_closing_quote_is_malformed(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text('id,name\n1,ok\n2,"ab"c\n')
    done = adf_copy(tmp_path, "orders.csv")
    assert done.returncode == 1, done.stderr
    assert "orders.csv record 2 (line 3): malformed csv" in done.stderr
    assert leftovers(tmp_path) == []


def test_a_quoted_cell_may_span_lines(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text('id,note\n1,"two\nlines"\n2,"say ""hi"""\n')
    done = adf_copy(tmp_path, "notes.csv")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert rows == [{"id": 1, "note": "two\nlines"}, {"id": 2, "note": 'say "hi"'}]


def test_a_cell_over_the_csv_limit_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "big.csv").write_text("id,blob\n1,small\n2," + "x" * (129 * 1024) + "\n")
    done = adf_copy(tmp_path, "big.csv")
    assert done.returncode == 1, done.stderr
    assert "big.csv record 2 (line 3): a cell is longer than 131,072 characters" in done.stderr
    assert leftovers(tmp_path) == []


def test_invalid_utf8_in_one_file_of_a_glob_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_bytes(b"id,name\n1,ok\n")
    (tmp_path / "in" / "b.csv").write_bytes(b"id,name\n2,caf\xe9\n")
    (tmp_path / "in" / "c.csv").write_bytes(b"id,name\n3,ok\n")
    done = adf_copy(tmp_path, "in/*.csv")
    assert done.returncode == 1, done.stderr
    error = next(line for line in done.stderr.splitlines() if line.startswith("error:"))
    assert "in/b.csv" in error and "cannot decode the csv as utf-8" in error
    assert "encoding" in error  # the fix: the `encoding` option
    assert "a.csv" not in error and "c.csv" not in error
    assert leftovers(tmp_path) == []


def test_the_strict_reader_serves_every_reader_of_csv() -> None:
    """The shared reader (the ``file`` built-in and adf-plugin-s3 both use it)."""
    import io

    with pytest.raises(RecordError, match=r"s3://b/k\.csv record 1 \(line 2\)"):
        list(read_records(io.BytesIO(b'id\n"open\n'), "csv", "s3://b/k.csv"))
