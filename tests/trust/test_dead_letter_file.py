"""The dead-letter file is written like the ``file`` destination's target: through the run's
temporary file ``.NAME.adf-RUNID.tmp`` (locked while it exists), removed when a second signal
makes ``adf`` exit at once, and swept by the next run after a kill."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from trust_support import events, run_adf, start_adf, wait_for

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and flock")


def _temporaries(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(".dead.jsonl.adf-"))


def test_a_killed_run_leaves_a_named_dead_letter_temporary_the_next_run_sweeps(
        tmp_path: Path) -> None:
    dead = tmp_path / "dead.jsonl"
    dead.write_text('{"component": "old"}\n')
    marker = tmp_path / "reading"
    proc = start_adf("src=trust_jobs:slow_rows | out=file", "-o", f"src.marker={marker}",
                     "-o", f"out.path={tmp_path / 'out.jsonl'}", "--dead-letter", str(dead),
                     cwd=tmp_path)
    wait_for(marker.exists, "the run to be reading")
    proc.send_signal(signal.SIGKILL)
    _out, err = proc.communicate(timeout=30)
    run_id = next(e["run_id"] for e in events(err) if e["event"] == "flow.started")
    (left,) = _temporaries(tmp_path)
    assert left.name == f".dead.jsonl.adf-{run_id}.tmp"
    assert dead.read_text() == '{"component": "old"}\n', "the dead-letter file was not touched"

    again = run_adf("src=trust_jobs:rows | out=file", "-o", "src.count=3",
                    "-o", f"out.path={tmp_path / 'out.jsonl'}", "--dead-letter", str(dead),
                    cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _temporaries(tmp_path) == [], "the dead run's temporary file was swept"
    assert dead.read_text() == "", "the file describes the last run: no bad record"


def test_a_second_signal_removes_the_dead_letter_temporary(tmp_path: Path) -> None:
    dead = tmp_path / "dead.jsonl"
    marker = tmp_path / "hanging"
    proc = start_adf("src=trust_jobs:rows | hang=trust_jobs:hang_writer",
                     "-o", f"hang.path={tmp_path / 'hung.txt'}", "-o", f"hang.marker={marker}",
                     "--dead-letter", str(dead), cwd=tmp_path)
    wait_for(marker.exists, "the hung writer to start")
    (temporary,) = _temporaries(tmp_path)
    proc.send_signal(signal.SIGTERM)
    time.sleep(1.5)  # past the notice: it now waits up to thread_grace (10 s) for the thread
    assert proc.poll() is None, "the first signal waits for the sync component"
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert not temporary.exists(), "the dead-letter temporary file is removed"
    assert not dead.exists()
