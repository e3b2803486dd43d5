"""A continuous destination's several inputs (micro_batches_of): streams read side by side,
where what was read must be in the batch handed out next (or ``committed()`` acknowledges
records that were not committed), and datasets handed whole."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from adf_core import DataFlow, step
from adf_core.acks import acknowledges, committed, finish, micro_batches_of, on_commit


def test_an_acknowledgement_never_covers_a_record_not_yet_committed() -> None:
    written: set[tuple[str, int]] = set()
    early: list[tuple[str, int]] = []

    def source(name: str) -> Any:
        @acknowledges
        async def produce() -> Any:
            for n in range(30):
                yield [{"src": name, "n": n}]

                def check(upto: int = n) -> None:
                    early.extend((name, k) for k in range(upto + 1)
                                 if (name, k) not in written)
                on_commit(check)
                await asyncio.sleep(0)
            await finish()
        return step(produce, name=name)

    def sink(upstream: Any) -> int:
        for batch in micro_batches_of(list(upstream.items()), commit_every=1,
                                      commit_interval=10):
            written.update((r["src"], r["n"]) for _, item in batch for r in item)
            committed()
            time.sleep(0.02)  # the acknowledgements run before the next batch is written
        return len(written)

    result = DataFlow(((source("a"), source("b")), step(sink, name="out"))).run({})
    assert result["out"] == 60
    assert early == []


@pytest.mark.parametrize("kind", ["table", "batch"])
@pytest.mark.parametrize("destination", ["file", "db"])
def test_a_whole_arrow_dataset_beside_a_broker_stream_is_written_as_records(
        tmp_path: Path, destination: str, kind: str) -> None:
    """A continuous file or db destination also given a dataset whole (a context key holding
    an Arrow table or batch) writes its rows; iterated, it would hand out its columns."""
    pa = pytest.importorskip("pyarrow")
    from adf_plugins.db import write_db
    from adf_plugins.files import write_file

    @acknowledges
    async def src() -> Any:
        yield [{"id": 1}]
        on_commit(lambda: None)
        await finish()

    data = pa.table({"id": [7, 8]}) if kind == "table" else pa.record_batch({"id": [7, 8]})
    if destination == "file":
        out = step(write_file, name="out", options={
            "path": str(tmp_path / "out.jsonl"), "input": ["src", "k"]})
    else:
        out = step(write_db, name="out", options={
            "url": f"sqlite:///{tmp_path / 'out.db'}", "table": "t", "input": ["src", "k"]})
    DataFlow((step(src, name="src"), out)).run({"k": data})
    if destination == "file":
        ids = [json.loads(line)["id"] for p in tmp_path.glob("out-*.jsonl")
               for line in p.read_text().splitlines()]
    else:
        with sqlite3.connect(tmp_path / "out.db") as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM t")]
    assert sorted(ids) == [1, 7, 8]
