"""The Arrow JSON-lines encoder alone, on the 6-column table of ``etl.py``'s columnar suite.

Encodes the same table, in the batches the ``db`` source hands over (4096 rows), with
``adf_core.data.arrow.text.jsonl_bytes`` and with the dict writer's own path
(``to_pylist`` then ``dumps`` per record, the anchor), checks the bytes are identical and
prints the median CPU seconds of each and their ratio. CPU time, not wall time: the encoder
is single-threaded and the wall time of a loaded machine says more about the machine.
Two tables: ``created_at`` as a timestamp (PostgreSQL) and as text (SQLite).

    python benchmarks/jsonl_encoder.py [--rows 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

BATCH_ROWS = 4096  # adf_plugins.db_arrow.ARROW_BATCH_ROWS


def orders(rows: int, stamps_as_text: bool) -> Any:
    """The columnar suite's table: id, customer, country, amount, status, created_at."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(range(1, rows + 1), pa.int64())
    created = pa.array([dt.datetime(2026, 11, 1 + i % 28, i % 24, i % 60)
                        for i in range(1, rows + 1)], pa.timestamp("us"))
    return pa.table({
        "id": ids,
        "customer": pc.binary_join_element_wise(
            "customer ", pc.cast(pa.array([i % 50000 for i in range(1, rows + 1)]),
                                 pa.string()), ""),
        "country": pa.array([("DE", "FR", "GB", "US", "PL")[i % 5] for i in range(1, rows + 1)]),
        "amount": pa.array([round((i % 100000) / 7.0, 2) for i in range(1, rows + 1)]),
        "status": pa.array([("paid", "open", "refunded")[i % 3] for i in range(1, rows + 1)]),
        "created_at": pc.cast(created.cast(pa.timestamp("s")), pa.string())
        if stamps_as_text else created,
    })


def dict_writer(batch: Any) -> bytes:
    from adf_core.data.encoding import dumps

    return ("\n".join(map(dumps, batch.to_pylist())) + "\n").encode()


def cpu_seconds(encode: Callable[[Any], bytes], batches: list[Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        for batch in batches:
            encode(batch)
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from adf_core.data.arrow.text import jsonl_bytes

    print(f"| table ({args.rows:,} rows) | dict writer CPU s | Arrow encoder CPU s "
          "| speed-up |")
    print("| --- | --- | --- | --- |")
    for label, as_text in (("created_at timestamp", False), ("created_at text", True)):
        batches = orders(args.rows, as_text).to_batches(max_chunksize=BATCH_ROWS)
        if b"".join(map(jsonl_bytes, batches)) != b"".join(map(dict_writer, batches)):
            raise SystemExit(f"{label}: the Arrow encoder's bytes differ from the dict writer's")
        anchor = cpu_seconds(dict_writer, batches, args.repeats)
        arrow = cpu_seconds(jsonl_bytes, batches, args.repeats)
        print(f"| {label} | {anchor:.3f} | {arrow:.3f} | {anchor / arrow:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
