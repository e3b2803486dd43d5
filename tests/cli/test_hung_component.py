"""A sync component that never returns does not keep `adf` from exiting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

JOB = '''
import time

def source():
    return {"rows": [{"a": 1}]}

def hang(rows):
    time.sleep(120)  # cannot be interrupted: it runs in a worker thread
'''

PIPELINE = '''
pipeline = "hung_job:source | hung_job:hang"

[settings]
timeout = 0.3
thread_grace = 0.3
'''


def test_adf_reports_and_exits_while_an_abandoned_thread_still_runs(tmp_path: Path) -> None:
    (tmp_path / "hung_job.py").write_text(JOB)
    (tmp_path / "flow.toml").write_text(PIPELINE)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    adf = Path(sys.executable).with_name("adf")
    started = time.monotonic()
    done = subprocess.run([str(adf), "run", "-f", "flow.toml", "--log-format", "json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert "component 'hang' (stage 2) failed: TimeoutError" in done.stderr
    assert '"event": "component.abandoned"' in done.stderr
    assert '"event": "component.waiting"' not in done.stderr  # the grace (0.3 s) is below 1 s
    assert elapsed < 60, "the process did not wait for the 120 s sleep"
