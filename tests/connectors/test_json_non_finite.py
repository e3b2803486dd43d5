"""JSON output never holds NaN or Infinity (invalid JSON): the run fails naming the record,
and the target is not written (issue 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = '''
def numbers():
    return [{"id": 1, "x": 1.5}, {"id": 2, "x": float("{value}")}, {"id": 3, "x": 2.5}]
'''


def adf_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adf_core.cli", "run", "-q", *args], cwd=cwd,
        env={**os.environ, "ADF_LOG_FORMAT": "json", "PYTHONPATH": str(cwd)},
        capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_a_non_finite_float_fails_the_file_naming_the_record(tmp_path: Path, value: str,
                                                             fmt: str) -> None:
    (tmp_path / "nums.py").write_text(SOURCE.replace("{value}", value))
    (tmp_path / f"out.{fmt}").write_text("[]\n" if fmt == "json" else '{"old": 1}\n')
    done = adf_run(tmp_path, "nums:numbers | out=file", "-o", f"out.path=out.{fmt}")
    assert done.returncode == 1, done.stderr
    assert f"out.{fmt}: record 2 (input 'numbers') cannot be written as JSON" in done.stderr
    assert (tmp_path / f"out.{fmt}").read_text() == ("[]\n" if fmt == "json" else '{"old": 1}\n')
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_a_huge_number_read_from_jsonl_is_not_written_back_as_infinity(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"id": 1, "x": 1}\n{"id": 2, "x": 1e999}\n')
    done = adf_run(tmp_path, "file | out=file", "-o", "file.path=in.jsonl",
                   "-o", "out.path=out.jsonl")
    assert done.returncode == 1, done.stderr
    assert "record 2 (input 'file') cannot be written as JSON" in done.stderr
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_stdout_names_the_record_and_prints_only_valid_json(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "nums.py").write_text(SOURCE.replace("{value}", "nan"))
    done = adf_run(tmp_path, "nums:numbers | stdout", "-o", f"stdout.format={fmt}")
    assert done.returncode == 1, done.stderr
    assert "stdout: record 2 (input 'numbers') cannot be written as JSON" in done.stderr
    assert "NaN" not in done.stdout
    if fmt == "jsonl":
        assert [json.loads(line) for line in done.stdout.splitlines()] == []
