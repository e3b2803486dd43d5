"""Streaming throughput and memory: source -> map -> sink, side by side.

    python benchmarks/streaming.py [--records N] [--rounds R]

Each case runs in its own subprocess (so peak RSS is its own), the cases interleaved
round by round. Async: this engine vs a plain asyncio.Queue pipeline (the floor),
aiostream and pypeln's task stages. Sync: this engine's sync generators (worker threads)
vs a queue.Queue thread pipeline (the sync floor) and pypeln's thread stages. Then the
effect of batching (1, 100, 1000 records per item). Targets: >= 0.7x the floor per item,
ahead of aiostream and pypeln, and flat memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import resource
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import median, table

BUFFER = 64


def record(i: int) -> dict:
    return {"id": i, "amount": i * 0.5}


def work(item: dict) -> dict:
    return {"id": item["id"], "amount": item["amount"] * 2}


# Cases: each returns the number of records that reached the sink -------------------------

async def case_asyncio_queue(n: int, batch: int) -> int:
    done = object()
    q1: asyncio.Queue = asyncio.Queue(BUFFER)
    q2: asyncio.Queue = asyncio.Queue(BUFFER)

    async def source() -> None:
        for i in range(n):
            await q1.put(record(i))
        await q1.put(done)

    async def mapper() -> None:
        while (item := await q1.get()) is not done:
            await q2.put(work(item))
        await q2.put(done)

    async def sink() -> int:
        count = 0
        while (await q2.get()) is not done:
            count += 1
        return count

    _, _, count = await asyncio.gather(source(), mapper(), sink())
    return count


async def case_adf_async(n: int, batch: int) -> int:
    from adf_core import DataFlow, step

    if batch == 1:
        async def source(n: int):
            for i in range(n):
                yield record(i)

        async def mapper(source):
            async for item in source:
                yield work(item)

        async def sink(mapper):
            count = 0
            async for _ in mapper:
                count += 1
            return {"count": count}
    else:
        async def source(n: int):
            for start in range(0, n, batch):
                yield [record(i) for i in range(start, min(n, start + batch))]

        async def mapper(source):
            async for items in source:
                yield [work(item) for item in items]

        async def sink(mapper):
            count = 0
            async for items in mapper:
                count += len(items)
            return {"count": count}

    flow = DataFlow((step(source, options={"n": n}), mapper, sink), buffer_size=BUFFER)
    return (await flow())["count"]


async def case_aiostream(n: int, batch: int) -> int:
    from aiostream import pipe, stream

    async def source():
        for i in range(n):
            yield record(i)

    xs = stream.iterate(source()) | pipe.map(work)
    count = 0
    async with xs.stream() as streamer:
        async for _ in streamer:
            count += 1
    return count


async def case_pypeln_task(n: int, batch: int) -> int:
    import pypeln as pl

    async def source():
        for i in range(n):
            yield record(i)

    async def amap(item: dict) -> dict:
        return work(item)

    stage = pl.task.map(amap, source(), workers=1, maxsize=BUFFER)
    count = 0
    async for _ in stage:
        count += 1
    return count


def case_queue_threads(n: int, batch: int) -> int:
    done = object()
    q1: queue.Queue = queue.Queue(BUFFER)
    q2: queue.Queue = queue.Queue(BUFFER)
    result = []

    def source() -> None:
        for i in range(n):
            q1.put(record(i))
        q1.put(done)

    def mapper() -> None:
        while (item := q1.get()) is not done:
            q2.put(work(item))
        q2.put(done)

    def sink() -> None:
        count = 0
        while q2.get() is not done:
            count += 1
        result.append(count)

    threads = [threading.Thread(target=f) for f in (source, mapper, sink)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result[0]


def case_adf_sync(n: int, batch: int) -> int:
    from adf_core import DataFlow, step

    def source(n: int):
        for i in range(n):
            yield record(i)

    def mapper(source):
        for item in source:
            yield work(item)

    def sink(mapper):
        return {"count": sum(1 for _ in mapper)}

    flow = DataFlow((step(source, options={"n": n}), mapper, sink), buffer_size=BUFFER)
    return flow.run()["count"]


def case_pypeln_thread(n: int, batch: int) -> int:
    import pypeln as pl

    stage = pl.thread.map(work, (record(i) for i in range(n)), workers=1, maxsize=BUFFER)
    return sum(1 for _ in stage)


CASES = {
    "async: asyncio.Queue pipeline (floor)": (case_asyncio_queue, 1),
    "async: adf async generators": (case_adf_async, 1),
    "async: aiostream": (case_aiostream, 1),
    "async: pypeln task": (case_pypeln_task, 1),
    "sync: queue.Queue threads (floor)": (case_queue_threads, 1),
    "sync: adf sync generators": (case_adf_sync, 1),
    "sync: pypeln thread": (case_pypeln_thread, 1),
    "batching: adf async, 100 records/item": (case_adf_async, 100),
    "batching: adf async, 1000 records/item": (case_adf_async, 1000),
}


def run_case(name: str, n: int) -> None:
    fn, batch = CASES[name]
    started = time.perf_counter()
    count = asyncio.run(fn(n, batch)) if asyncio.iscoroutinefunction(fn) else fn(n, batch)
    elapsed = time.perf_counter() - started
    assert count == n, f"{name}: {count} records reached the sink, expected {n}"
    print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def spawn(name: str, n: int) -> tuple[float, int] | None:
    done = subprocess.run([sys.executable, __file__, "--case", name, "--records", str(n)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        print(f"  {name}: skipped ({last})", file=sys.stderr)
        return None
    elapsed, rss = done.stdout.split()
    return float(elapsed), int(rss)


def main(n: int, rounds: int) -> None:
    small = max(1000, n // 100)
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in CASES}
    memory_small: dict[str, int] = {}
    for round_number in range(rounds):
        for name in CASES:
            measured = spawn(name, n)
            if measured:
                results[name].append(measured)
        print(f"round {round_number + 1}/{rounds} done", file=sys.stderr)
    for name in CASES:
        measured = spawn(name, small)
        if measured:
            memory_small[name] = measured[1]
    rows = []
    floors = {"async": "async: asyncio.Queue pipeline (floor)",
              "sync": "sync: queue.Queue threads (floor)",
              "batching": "async: asyncio.Queue pipeline (floor)"}
    rates = {}
    for name, runs in results.items():
        if not runs:
            rows.append([name, "n/a", "", "", ""])
            continue
        rates[name] = n / median([r[0] for r in runs])
    for name, runs in results.items():
        if name not in rates:
            continue
        floor = rates.get(floors[name.split(":")[0]])
        peak = max(r[1] for r in runs) / 1024
        growth = (peak - memory_small.get(name, 0) / 1024) if name in memory_small else 0.0
        rows.append([name, f"{rates[name]:,.0f}", f"{rates[name] / floor:.2f}x" if floor else "",
                     f"{peak:.0f}", f"{growth:+.1f}"])
    print(f"\n{n:,} records through source -> map -> sink; median of {rounds} runs; "
          f"records/s; peak RSS in MiB and its growth from {small:,} records\n")
    print(table(["case", "records/s", "vs floor", "peak MiB", "growth MiB"], rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.records)
    else:
        main(args.records, args.rounds)
