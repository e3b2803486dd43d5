"""A continuous run through the `adf` command, without a broker: a source that acknowledges
after commit (its "broker" is a file of acknowledged numbers), SIGTERM drains, SIGTERM of a
batch run still cancels, and `db` commits one transaction per micro-batch."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adf_core import DataFlow, step
from adf_core.acks import acknowledges, finish, on_commit
from adf_plugins.db import write_db

SOURCE = '''
import asyncio, os
from adf_core.acks import acknowledges, draining, finish, on_commit

@acknowledges
async def numbers():
    """Counts up until drained; appends each acknowledged position to ACKS."""
    acks = open(os.environ["ACKS"], "a")
    n = 0
    while not draining():
        batch = [{"n": i} for i in range(n, n + 50)]
        n += 50
        yield batch
        on_commit(lambda upto=n: (acks.write(f"{upto}\\n"), acks.flush()))
        await asyncio.sleep(0.01)
    await finish()
    acks.close()

def counting():
    """A batch source (it acknowledges nothing)."""
    import time
    for i in range(10_000):
        yield [{"n": i}]
        time.sleep(0.01)
'''


def run_adf(tmp_path: Path, flow: str) -> subprocess.Popen[str]:
    (tmp_path / "ack_sources.py").write_text(SOURCE)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "ACKS": str(tmp_path / "acks.txt")}
    return subprocess.Popen(
        [sys.executable, "-m", "adf_core.cli", "run", flow, "-o",
         f"out.path={tmp_path / 'out' / 'n.jsonl'}", "-o", "out.commit_every=200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)


def committed(tmp_path: Path) -> list[int]:
    return [json.loads(line)["n"] for p in sorted((tmp_path / "out").glob("n-*.jsonl"))
            for line in p.read_text().splitlines()]


def wait_for(proc: subprocess.Popen[str], condition: object) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"adf ended or timed out: {proc.communicate()[1]}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_drains_a_continuous_run(tmp_path: Path, signum: int) -> None:
    proc = run_adf(tmp_path, "ack_sources:numbers | out=file")
    wait_for(proc, lambda: len(committed(tmp_path)) >= 600)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "drained on" in err
    written = committed(tmp_path)
    assert written == list(range(len(written)))  # no loss, no duplicate, in order
    acked = [int(x) for x in (tmp_path / "acks.txt").read_text().split()]
    assert acked[-1] == len(written)  # everything committed was acknowledged, nothing more


def test_sigterm_still_cancels_a_batch_run(tmp_path: Path) -> None:
    proc = run_adf(tmp_path, "ack_sources:counting | out=file")
    out = tmp_path / "out"
    wait_for(proc, lambda: out.is_dir() and any(out.glob(".n.jsonl.adf-*")))  # it writes
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert not (tmp_path / "out" / "n.jsonl").exists()
    assert not committed(tmp_path)


def test_db_commits_one_transaction_per_micro_batch(tmp_path: Path) -> None:
    database = tmp_path / "n.db"
    seen: list[tuple[int, int]] = []

    def rows() -> int:
        with sqlite3.connect(database) as conn:
            try:
                return int(conn.execute("select count(*) from n").fetchone()[0])
            except sqlite3.OperationalError:
                return 0

    @acknowledges
    async def src() -> object:
        for start in range(0, 2500, 100):
            yield [{"n": n} for n in range(start, start + 100)]
            on_commit(lambda upto=start + 100: seen.append((upto, rows())))
        await finish()

    DataFlow((step(src, name="src"), step(write_db, name="out", options={
        "url": f"sqlite:///{database}", "table": "n", "commit_every": 1000}))).run({})
    assert rows() == 2500
    assert seen[-1][0] == 2500
    assert all(acked <= in_table for acked, in_table in seen)  # acks never ahead of COMMIT
    assert {in_table for _, in_table in seen} <= {1000, 2000, 2500}  # one COMMIT per batch
