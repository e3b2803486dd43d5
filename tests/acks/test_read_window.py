"""ReadWindow, the head of a broker source's read loop, in a real continuous run: reads are
sized by batch_size, prefetch and max_messages, and a full window asks the destination to
commit now (rather than at commit_interval) and waits for the acknowledgements."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from adf_core import DataFlow, step
from adf_core.acks import acknowledges, finish, on_commit
from adf_core.messages import ReadWindow, decode_messages
from adf_plugins.files import write_file


def run_broker(tmp_path: Path, window: ReadWindow, backlog: int) -> tuple[list[int], list[int]]:
    """A source over an in-memory backlog of message bodies, read through ``window``; the
    destination commits every 100,000 records or every 60 s. Returns the size of each read
    and the number of unacknowledged messages seen before each read."""
    bodies = [json.dumps({"n": n}).encode() for n in range(backlog)]
    reads: list[int] = []
    unacked_at_read: list[int] = []

    @acknowledges
    async def broker() -> Any:
        while (count := await window.next_count()) and bodies:
            unacked_at_read.append(window.unacked)
            chunk, bodies[:count] = bodies[:count], []
            reads.append(len(chunk))
            records = decode_messages(chunk, window.received, "backlog")
            window.read(len(chunk))
            yield records
            on_commit(lambda n=len(chunk): window.acknowledged(n))
        await finish()

    DataFlow((step(broker, name="src"), step(write_file, name="out", options={
        "path": str(tmp_path / "out.jsonl"), "commit_every": 100_000,
        "commit_interval": 60}))).run({})
    return reads, unacked_at_read


def committed(tmp_path: Path) -> list[int]:
    return [json.loads(line)["n"] for p in sorted(tmp_path.glob("out-*.jsonl"))
            for line in p.read_text().splitlines()]


def test_a_full_window_asks_for_a_commit_and_waits_for_the_acks(tmp_path: Path) -> None:
    started = time.monotonic()
    reads, unacked = run_broker(tmp_path, ReadWindow(batch_size=100, prefetch=250), 1000)
    assert time.monotonic() - started < 30, "the destination waited for commit_interval"
    assert committed(tmp_path) == list(range(1000))
    assert sum(reads) == 1000
    assert all(u + r <= 250 for u, r in zip(unacked, reads, strict=True))
    assert 50 in reads  # the third read of a window: what prefetch leaves
    assert len(list(tmp_path.glob("out-*.jsonl"))) >= 4  # at least 1000/250 commits


def test_reads_stop_at_max_messages(tmp_path: Path) -> None:
    window = ReadWindow(batch_size=100, max_messages=250)
    reads, _ = run_broker(tmp_path, window, 1000)
    assert reads == [100, 100, 50]
    assert window.received == 250 and window.unacked == 0
    assert committed(tmp_path) == list(range(250))
