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


NESTED = '''
def nested():
    return [{"id": 1, "x": {"v": 1.5}}, {"id": 2, "x": {"v": float("nan")}},
            {"id": 3, "x": {"v": 2.5}}]
'''


@pytest.mark.parametrize("batch_format", ["records", "arrow"])
def test_a_nested_nan_in_csv_names_the_record_and_dead_letters_only_it(
        tmp_path: Path, batch_format: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV cell holding an object is its JSON text: NaN inside has none."""
    if batch_format == "arrow":
        pytest.importorskip("pyarrow")
    monkeypatch.setenv("ADF_BATCH_FORMAT", batch_format)
    (tmp_path / "nums.py").write_text(NESTED)
    (tmp_path / "out.csv").write_text("old\n")
    done = adf_run(tmp_path, "nums:nested | out=file", "-o", "out.path=out.csv")
    assert done.returncode == 1, done.stderr
    assert ("out.csv: record 2 (input 'nested') cannot be written as CSV: a nested value is "
            "not JSON") in done.stderr
    assert (tmp_path / "out.csv").read_text() == "old\n"
    kept = adf_run(tmp_path, "nums:nested | out=file", "-o", "out.path=out.csv",
                   "--on-error", "dead_letter", "--dead-letter", "bad.jsonl")
    assert kept.returncode == 0, kept.stderr
    assert (tmp_path / "out.csv").read_text() == 'id,x\n1,"{""v"": 1.5}"\n3,"{""v"": 2.5}"\n'
    (bad,) = [json.loads(line) for line in (tmp_path / "bad.jsonl").read_text().splitlines()]
    assert bad["position"] == {"record": 2} and "not JSON" in bad["error"]
