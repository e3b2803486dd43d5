"""Acknowledgement after commit (DESIGN 15), through the engine with real components."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from adf_core import DataFlow, step
from adf_core.acks import acknowledges, finish, on_commit
from adf_plugins.files import write_file


def parts(directory: Path) -> list[Path]:
    return sorted(directory.glob("out-*.jsonl"))


def read_parts(directory: Path) -> list[int]:
    return [json.loads(line)["n"] for p in parts(directory)
            for line in p.read_text().splitlines()]


def test_acks_run_only_after_the_part_file_holding_them_is_committed(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []  # (records acknowledged, records committed) at each ack
    ended: list[int] = []

    @acknowledges
    async def src() -> Any:
        sent = 0
        while sent < 5000:
            batch = [{"n": n} for n in range(sent, sent + 100)]
            sent += 100
            yield batch
            on_commit(lambda upto=sent: seen.append((upto, len(read_parts(tmp_path)))))
            await asyncio.sleep(0)
        await finish()
        ended.append(len(seen))  # every acknowledgement ran before the source returned

    flow = DataFlow((step(src, name="src"),
                     step(write_file, name="out", options={
                         "path": str(tmp_path / "out.jsonl"), "commit_every": 1000})))
    flow.run({})
    assert read_parts(tmp_path) == list(range(5000))
    assert [p.name for p in parts(tmp_path)] == [f"out-{i:06d}.jsonl" for i in range(1, 6)]
    assert seen[-1][0] == 5000 and ended == [50]
    assert all(acked <= written for acked, written in seen)  # never ahead of the commit
    assert any(acked < 5000 for acked, _ in seen)  # and not all held to the end


def test_acks_wait_for_every_destination(tmp_path: Path) -> None:
    seen: list[tuple[int, int, int]] = []

    def ack_point(upto: int) -> None:
        seen.append((upto, len(read_parts(tmp_path / "a")), len(read_parts(tmp_path / "b"))))

    @acknowledges
    async def src() -> Any:
        sent = 0
        while sent < 3000:
            batch = [{"n": n} for n in range(sent, sent + 100)]
            sent += 100
            yield batch
            on_commit(lambda upto=sent: ack_point(upto))
        await finish()

    flow = DataFlow((step(src, name="src"), (
        step(write_file, name="a", options={"path": str(tmp_path / "a" / "out.jsonl"),
                                            "commit_every": 500}),
        step(write_file, name="b", options={"path": str(tmp_path / "b" / "out.jsonl"),
                                            "commit_every": 1700}))))
    flow.run({})
    assert read_parts(tmp_path / "a") == read_parts(tmp_path / "b") == list(range(3000))
    assert seen[-1][0] == 3000
    assert all(acked <= min(a, b) for acked, a, b in seen)
    assert any(acked < a for acked, a, b in seen)  # b, the slower committer, held them back


def test_acks_pass_through_a_streaming_transform(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []

    @acknowledges
    async def src() -> Any:
        sent = 0
        while sent < 2000:
            batch = [{"n": n} for n in range(sent, sent + 100)]
            sent += 100
            yield batch
            on_commit(lambda upto=sent: seen.append((upto, len(read_parts(tmp_path)))))
        await finish()

    def evens(src: Any) -> Any:
        for batch in src:
            kept = [r for r in batch if r["n"] % 2 == 0]
            if kept:
                yield kept

    flow = DataFlow((step(src, name="src"), step(evens, name="evens"),
                     step(write_file, name="out", options={
                         "path": str(tmp_path / "out.jsonl"), "commit_every": 300})))
    flow.run({})
    assert read_parts(tmp_path) == list(range(0, 2000, 2))
    assert seen[-1][0] == 2000
    assert all(acked <= 2 * written for acked, written in seen)


def test_a_failed_destination_acknowledges_nothing_after_its_last_commit(tmp_path: Path
                                                                         ) -> None:
    acked: list[int] = []

    @acknowledges
    async def src() -> Any:
        sent = 0
        while sent < 2000:
            batch = [{"n": n} for n in range(sent, sent + 100)]
            sent += 100
            yield batch
            on_commit(lambda upto=sent: acked.append(upto))
        await finish()

    def breaks_at_1500(src: Any) -> Any:
        for batch in src:
            if batch[0]["n"] >= 1500:
                raise RuntimeError("boom")
            yield batch

    flow = DataFlow((step(src, name="src"), step(breaks_at_1500, name="t"),
                     step(write_file, name="out", options={
                         "path": str(tmp_path / "out.jsonl"), "commit_every": 1000})))
    with pytest.raises(Exception, match="boom"):
        flow.run({})
    assert max(acked, default=0) <= len(read_parts(tmp_path)) <= 1500


@pytest.mark.parametrize("destination", ["file", "db"])
def test_two_unbounded_sources_are_committed_side_by_side(tmp_path: Path, destination: str
                                                          ) -> None:
    """Each source produces until it sees the *other's* records committed (as two brokers
    that never end would): read one after the other, the first would wait for its deadline."""
    from adf_plugins.db import write_db

    database = tmp_path / "out.db"

    def committed_sources() -> set[str]:
        if destination == "file":
            return {json.loads(line)["src"] for p in sorted(tmp_path.glob("out-*.jsonl"))
                    for line in p.read_text().splitlines()}
        if not database.exists():
            return set()
        with sqlite3.connect(database) as conn:
            try:
                return {row[0] for row in conn.execute("SELECT DISTINCT src FROM t")}
            except sqlite3.OperationalError:  # the table is not there yet
                return set()

    acked: dict[str, int] = {"a": 0, "b": 0}
    waited_out: list[str] = []

    def source(name: str, other: str) -> Any:
        @acknowledges
        async def produce() -> Any:
            deadline = time.monotonic() + 15
            sent = 0
            while other not in committed_sources():
                if time.monotonic() > deadline:
                    waited_out.append(name)
                    break
                yield [{"src": name, "n": n} for n in range(sent, sent + 10)]
                sent += 10
                on_commit(lambda upto=sent: acked.__setitem__(name, upto))
                await asyncio.sleep(0.005)
            await finish()
        return step(produce, name=name)

    if destination == "file":
        out = step(write_file, name="out", options={
            "path": str(tmp_path / "out.jsonl"), "commit_every": 50, "commit_interval": 0.1})
    else:
        out = step(write_db, name="out", options={
            "url": f"sqlite:///{database}", "table": "t", "commit_every": 50,
            "commit_interval": 0.1})
    DataFlow(((source("a", "b"), source("b", "a")), out)).run({})
    assert waited_out == []
    assert committed_sources() == {"a", "b"}
    assert acked["a"] > 0 and acked["b"] > 0
