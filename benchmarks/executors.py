"""Executors side by side: a CPU-bound tier, and the cost of one task on each.

    python benchmarks/executors.py [--tasks 8] [--seconds 0.5] [--rounds 5] [--noop 400]

(a) ``--tasks`` pure-Python sync components of about ``--seconds`` each, in one parallel tier,
on threads, processes and Dask. The time is one whole ``flow.run``, executor start-up and
shutdown included, as a user sees it. Dask appears twice: a local cluster the flow starts
itself (``executor="dask"``, no address: its start-up is paid by every run) and a cluster
that is already running, reached by address (the "Scaling out" set-up: ``dask scheduler``
and ``dask worker`` subprocesses on 127.0.0.1, one worker process per CPU).
Target: >= 1.8x faster than threads for processes and for the running Dask cluster.
(b) The overhead per task on no-op work: ``--noop`` tasks submitted at once (time / tasks),
and one call at a time (round trip), through the adf executor next to the raw
``ThreadPoolExecutor``, ``ProcessPoolExecutor`` and ``client.submit`` it wraps.

Cases run interleaved (A B C A B C ...) and the median is reported, so that load from other
work on the machine hits every case alike; the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import median, table

from adf_core import DataFlow, step
from adf_core.engine.executors.dask import DaskExecutor
from adf_core.engine.executors.processes import ProcessExecutor
from adf_core.executors import ThreadExecutor, worker_count


def burn(rounds: int) -> int:
    """Pure-Python CPU work: it holds the GIL the whole time."""
    total = 0
    for i in range(rounds):
        total += i * i % 7
    return total


def burn_timed(rounds: int) -> tuple[float, float, float]:
    started, cpu = time.time(), time.thread_time()
    burn(rounds)
    return started, time.time(), time.thread_time() - cpu


def free_cpus(rounds: int) -> float:
    """CPUs this machine gives a raw process pool right now: CPU seconds over wall seconds."""
    spawn = multiprocessing.get_context("spawn")
    workers = worker_count()
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=spawn) as pool:
        list(pool.map(noop_arg, range(workers)))  # started
        spans = list(pool.map(burn_timed, [rounds] * workers * 2))
    wall = max(end for _, end, _ in spans) - min(start for start, _, _ in spans)
    return sum(cpu for _, _, cpu in spans) / wall


def noop_arg(_: object) -> None:
    return None


def noop() -> None:
    return None


def calibrate(seconds: float) -> int:
    rounds = 1_000_000
    fastest = min(_timed(burn, rounds) for _ in range(3))
    return max(1, int(rounds * seconds / fastest))


def _timed(fn: Callable[..., Any], *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def cpu_tier(tasks: int, rounds: int, repeats: int, address: str) -> list[list[str]]:
    tier = [frozenset(step(burn, name=f"burn{i}") for i in range(tasks))]
    cases = {
        "threads": DataFlow(tier, executor="threads"),
        "processes (pool started by the run)": DataFlow(tier, executor="processes"),
        "dask, local cluster started by the run": DataFlow(tier, executor="dask"),
        "dask, cluster already running (by address)": DataFlow(
            tier, executor="dask", executor_address=address),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, flow in cases.items():
            started = time.perf_counter()
            result = flow.run({"rounds": rounds})
            times[name].append(time.perf_counter() - started)
            assert len(set(result.outputs.values())) == 1
    threads = median(times["threads"])
    rows = []
    for name, values in times.items():
        took = median(values)
        rows.append([name, f"{took:.2f}", f"{min(values):.2f}", f"{threads / took:.2f}x"])
    return rows


async def per_task(count: int, repeats: int, address: str) -> list[list[str]]:
    from distributed import Client

    spawn = multiprocessing.get_context("spawn")
    workers = worker_count()
    raw_threads = concurrent.futures.ThreadPoolExecutor(64)
    raw_processes = concurrent.futures.ProcessPoolExecutor(workers, mp_context=spawn)
    client = await Client(address, asynchronous=True)
    adf_threads = ThreadExecutor()
    adf_processes = ProcessExecutor()
    adf_dask = DaskExecutor(address=address)
    for executor in (adf_threads, adf_processes, adf_dask):
        await executor.start()
    loop = asyncio.get_running_loop()

    def raw_pool(pool: concurrent.futures.Executor) -> tuple[Callable[[], Awaitable[Any]], ...]:
        async def many() -> None:
            await asyncio.gather(*[asyncio.wrap_future(pool.submit(noop))
                                   for _ in range(count)])

        async def one() -> None:
            await loop.run_in_executor(pool, noop)
        return many, one

    def raw_dask() -> tuple[Callable[[], Awaitable[Any]], ...]:
        async def many() -> None:
            await client.gather([client.submit(noop, pure=False) for _ in range(count)])

        async def one() -> None:
            await client.submit(noop, pure=False)
        return many, one

    def adf(executor: Any) -> tuple[Callable[[], Awaitable[Any]], ...]:
        async def many() -> None:
            await asyncio.gather(*[executor.call(noop, [], {}) for _ in range(count)])

        async def one() -> None:
            await executor.call(noop, [], {})
        return many, one

    cases = {
        ("threads", "raw ThreadPoolExecutor"): raw_pool(raw_threads),
        ("threads", "adf executor"): adf(adf_threads),
        ("processes", "raw ProcessPoolExecutor"): raw_pool(raw_processes),
        ("processes", "adf executor"): adf(adf_processes),
        ("dask", "raw client.submit"): raw_dask(),
        ("dask", "adf executor"): adf(adf_dask),
    }
    singles = 50
    many_times: dict[tuple[str, str], list[float]] = {key: [] for key in cases}
    one_times: dict[tuple[str, str], list[float]] = {key: [] for key in cases}
    try:
        for round_ in range(repeats + 1):  # the first round warms every pool up
            for key, (many, one) in cases.items():
                started = time.perf_counter()
                await many()
                batch = time.perf_counter() - started
                started = time.perf_counter()
                for _ in range(singles):
                    await one()
                single = time.perf_counter() - started
                if round_:
                    many_times[key].append(batch / count)
                    one_times[key].append(single / singles)
    finally:
        for executor in (adf_threads, adf_processes, adf_dask):
            await executor.close()
        await client.close()
        raw_threads.shutdown()
        raw_processes.shutdown()
    return [[kind, how, f"{median(many_times[(kind, how)]) * 1e6:.0f}",
             f"{median(one_times[(kind, how)]) * 1e6:.0f}"] for kind, how in cases]


@contextlib.contextmanager
def running_cluster(workers: int) -> Iterator[str]:
    """``dask scheduler`` and ``dask worker`` subprocesses on 127.0.0.1; yields the address."""
    from distributed import Client

    with tempfile.TemporaryDirectory() as folder:
        scheduler_file = os.path.join(folder, "scheduler.json")
        dask = [sys.executable, "-m", "dask"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        processes = [subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", scheduler_file], **quiet)]
        try:
            processes.append(subprocess.Popen(
                [*dask, "worker", "--scheduler-file", scheduler_file, "--nworkers",
                 str(workers), "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                **quiet))
            with Client(scheduler_file=scheduler_file, timeout=60) as client:
                client.wait_for_workers(workers, timeout=60)
                address = client.scheduler.address
            yield address
        finally:
            for process in reversed(processes):
                process.terminate()
                process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8, help="components in the CPU tier")
    parser.add_argument("--seconds", type=float, default=0.5, help="CPU seconds per component")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each case")
    parser.add_argument("--noop", type=int, default=400, help="no-op tasks per batch")
    args = parser.parse_args()

    workers = worker_count()
    rounds = calibrate(args.seconds)
    load_before = os.getloadavg()
    free_before = free_cpus(rounds // 2)
    # A cluster that outlives the runs, as a deployed one would (and nothing of it in this
    # process, which would take the GIL from the threads case); flows reach it by address.
    with running_cluster(workers) as address:
        tier = cpu_tier(args.tasks, rounds, args.rounds, address)
        overhead = asyncio.run(per_task(args.noop, args.rounds, address))
    load_after = os.getloadavg()
    free_after = free_cpus(rounds // 2)

    import distributed

    print(f"# executors: {os.cpu_count()} CPUs, {workers} worker processes, Python "
          f"{platform.python_version()}, distributed {distributed.__version__}\n")
    print(f"Load average {load_before[0]:.2f} before / {load_after[0]:.2f} after; CPUs free "
          f"for a raw process pool (CPU s / wall s) {free_before:.2f} before / "
          f"{free_after:.2f} after.\n")
    print(f"## (a) {args.tasks} CPU-bound components of ~{args.seconds} s in one tier "
          f"(whole flow.run, median of {args.rounds})\n")
    print(table(["executor", "median s", "best s", "speed-up vs threads"], tier))
    print(f"\n## (b) overhead per no-op task (median of {args.rounds}; "
          f"{args.noop} at once, and one at a time)\n")
    print(table(["executor", "how", f"us/task ({args.noop} at once)", "us/call (one at a time)"],
                overhead))


if __name__ == "__main__":
    main()
