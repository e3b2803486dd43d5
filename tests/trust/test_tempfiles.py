"""Temporary files carry the run id (``.NAME.adf-RUNID.tmp``); the next run of the same
destination removes those of processes that no longer exist (a SIGKILL leaves one behind),
and never one that a live run is still writing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from trust_support import events, run_adf, start_adf, wait_for

from adf_core import DataFlow, step
from adf_core.data.tempfiles import sweep, temporary_name

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and flock")


def _temporaries(directory: Path, name: str = "out.jsonl") -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(f".{name}.adf-"))


def _run_id(stderr: str) -> str:
    return next(e["run_id"] for e in events(stderr) if e["event"] == "flow.started")


def test_a_killed_run_leaves_a_named_temporary_file_that_the_next_run_removes(
        tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "old"}\n')
    marker = tmp_path / "reading"
    proc = start_adf("src=trust_jobs:slow_rows | out=file", "-o", f"src.marker={marker}",
                     "-o", f"out.path={out}", cwd=tmp_path)
    wait_for(marker.exists, "the run to be writing")
    proc.send_signal(signal.SIGKILL)
    _out, err = proc.communicate(timeout=30)
    (left,) = _temporaries(tmp_path)
    assert left.name == f".out.jsonl.adf-{_run_id(err)}.tmp"
    assert out.read_text() == '{"id": "old"}\n', "the target was not touched"

    again = run_adf("src=trust_jobs:rows | out=file", "-o", "src.count=3", "-o",
                    f"out.path={out}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _temporaries(tmp_path) == [], "the dead run's temporary file was removed"
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [0, 1, 2]


def test_the_temporary_file_of_a_live_run_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    marker = tmp_path / "reading"
    slow = start_adf("src=trust_jobs:slow_rows | out=file", "-o", f"src.marker={marker}",
                     "-o", "src.pause=0.5", "-o", f"out.path={out}", cwd=tmp_path)
    try:
        wait_for(marker.exists, "the slow run to be writing")
        (theirs,) = _temporaries(tmp_path)
        fast = run_adf("src=trust_jobs:rows | out=file", "-o", "src.count=3",
                       "-o", f"out.path={out}", cwd=tmp_path)
        assert fast.returncode == 0, fast.stderr
        assert theirs.exists(), "a live run's temporary file is not swept"
        assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [0, 1, 2]
    finally:
        slow.send_signal(signal.SIGTERM)
        slow.communicate(timeout=60)
    assert slow.returncode == 143
    assert _temporaries(tmp_path) == [], "the stopped run removed its own temporary file"


def test_the_file_destination_names_its_temporary_file_with_the_run_id(tmp_path: Path) -> None:
    from adf_plugins.files import write_file

    seen: list[str] = []

    def records() -> Iterator[list[dict[str, int]]]:
        yield [{"n": 1}]
        seen.extend(wait_for(lambda: [p.name for p in _temporaries(tmp_path)],
                             "the temporary file"))
        yield [{"n": 2}]

    out = step(write_file, name="out", options={"path": str(tmp_path / "out.jsonl")})
    result = DataFlow((records, out)).run(run_id="abc123")
    assert seen == [".out.jsonl.adf-abc123.tmp"]
    assert temporary_name(tmp_path / "out.jsonl", "abc123").name == seen[0]
    assert (tmp_path / "out.jsonl").read_text() == '{"n": 1}\n{"n": 2}\n'
    assert _temporaries(tmp_path) == []
    assert result.records["out"].records_out == 2


def test_sweep_only_takes_files_whose_writer_is_gone(tmp_path: Path) -> None:
    target = tmp_path / "data.csv"
    code = (
        "import sys, time\n"
        "from adf_core.data.tempfiles import temporary_file\n"
        f"with temporary_file({str(target)!r}, 'live') as (path, handle):\n"
        "    print(path, flush=True)\n"
        "    time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        live = Path(holder.stdout.readline().strip())
        dead = temporary_name(target, "dead")
        dead.write_text("left by a killed run")
        unrelated = tmp_path / ".data.csv.backup.tmp"
        unrelated.write_text("not ours")
        assert sweep(target) == [dead]
        assert live.exists() and unrelated.exists() and not dead.exists()
    finally:
        holder.kill()
        holder.wait()
    assert sweep(target) == [live], "once its process is gone, it is swept too"
