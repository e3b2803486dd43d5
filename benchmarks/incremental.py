"""Incremental loads: a 1,000,000-row table, then 1% new rows.

    python benchmarks/incremental.py [--rows 1000000] [--rounds 3]

A `db` source reads a SQLite table into a counting sink, in one process: first the full load
(no state), then the incremental run after 1% new rows were added (the state restored before
each round, so every round reads the same new rows). Claims checked: the incremental run reads
only the new rows, in at most 5% of the full load's time, and its state stays a few bytes
whatever the table size (shown at a tenth of the rows too). Two cursors: `id` (no lag) and a
timestamp `updated_at` with `lag` = 60 s and `key` (the state then holds the last minute's
keys: one row a second here, so 60 of them, at any table size).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table

from adf_core import DataFlow
from adf_core.data.state_store import StateStore

T0 = dt.datetime(2026, 1, 1)
CURSORS = {
    "id": {"incremental": "id"},
    "updated_at, lag 60 s, key id": {"incremental": "updated_at", "lag": 60, "key": ["id"]},
}


def fill(path: Path, start: int, count: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, "
                     "updated_at TEXT, amount INTEGER, note TEXT)")
        conn.execute("CREATE INDEX IF NOT EXISTS events_updated ON events (updated_at)")
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", (
            (i, (T0 + dt.timedelta(seconds=i)).isoformat(sep=" "), i % 1000, f"event {i}")
            for i in range(start, start + count)))


def count_rows(upstream: dict[str, Any]) -> dict[str, int]:
    (stream,) = upstream.values()
    return {"rows": sum(len(batch) for batch in stream)}


def load(path: Path, store: str, name: str, options: dict[str, Any]) -> tuple[float, int]:
    flow = DataFlow.parse("src=db | count_rows", name=name, state=store,
                          resolver=lambda ref, kind: count_rows if ref == "count_rows"
                          else _registry(ref, kind),
                          options={"src": {"url": f"sqlite:///{path}", "table": "events",
                                           "batch_size": 5000, **options}})
    started = time.perf_counter()
    rows = flow.run()["rows"]
    return time.perf_counter() - started, rows


def _registry(ref: str, kind: str) -> Any:
    from adf_core.plugins.registry import resolve

    return resolve(ref, kind)


def measure(rows: int, rounds: int, workdir: Path, claim: bool) -> list[list[str]]:
    path = workdir / f"events_{rows}.db"
    store_url = f"sqlite:///{workdir / 'state.db'}"
    store = StateStore(store_url)
    fill(path, 1, rows)
    new = rows // 100
    results = []
    for label, options in CURSORS.items():
        name = f"bench_{rows}_{label.split(',')[0]}"
        store.reset(name)
        full_times, full_rows = [], 0
        for _ in range(rounds):
            store.reset(name)
            seconds, full_rows = load(path, store_url, name, options)
            full_times.append(seconds)
        results.append((label, name, options, full_times, full_rows, store.load(name)))
    fill(path, rows + 1, new)
    out = []
    for label, name, options, full_times, full_rows, after_full in results:
        inc_times, inc_rows = [], 0
        for _ in range(rounds):
            store.save(name, after_full, "bench")  # every round reads the same new rows
            seconds, inc_rows = load(path, store_url, name, options)
            inc_times.append(seconds)
        state_bytes = sum(r.size for r in store.rows(name))
        full, inc = statistics.median(full_times), statistics.median(inc_times)
        out.append([f"{rows:,}", label, f"{full_rows:,}", f"{full:.2f}", f"{inc_rows:,}",
                    f"{inc:.3f}", f"{inc / full:.1%}", str(state_bytes),
                    ("yes" if inc_rows == new and inc / full <= 0.05 else "NO") if claim
                    else "-"])
        store.reset(name)
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for size in (args.rows // 10, args.rows):
            rows += measure(size, args.rounds, Path(tmp), claim=size == args.rows)
    print(f"Incremental loads (SQLite, db source -> counting sink; medians of {args.rounds} "
          "rounds; 1% new rows)")
    print(table(["TABLE ROWS", "CURSOR", "FULL READ", "FULL S", "INCR READ", "INCR S",
                 "INCR/FULL", "STATE BYTES", "<= 5% & NEW ONLY"], rows))
    print(json.dumps({"ok": all(r[-1] in ("yes", "-") for r in rows)}))


if __name__ == "__main__":
    main()
