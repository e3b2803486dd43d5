"""Engine overhead per component, side by side with plain asyncio and Apache Hamilton.

    python benchmarks/overhead.py [--rounds N]

(a) a parallel tier of 1000 no-op async components feeding one sink; (b) a chain of 1000
sequential components; (c) a tier of 200 sync components sleeping 10 ms, against the ideal
for the thread count used; (d) the cost of engine events when structlog filters them out.
Targets (engine events filtered out): fan <= 2x plain asyncio, chain <= 5 us per step, at
least 10x faster than Hamilton on both, sync tier within 10% of ideal.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import logging
import math
import os
import sys
import time
import types

sys.path.insert(0, os.path.dirname(__file__))
from _common import measure, median, table

from adf_core import DataFlow

N = 1000


def noop_components(count: int, prefix: str) -> list:
    made = []
    for i in range(count):
        async def component() -> None:
            return None
        component.__name__ = f"{prefix}{i}"
        made.append(component)
    return made


async def sink() -> None:
    return None


def hamilton_module(kind: str) -> types.ModuleType:
    """Hamilton builds its graph from a module: one function per node, edges by param name."""
    lines = []
    if kind == "fan":
        for i in range(N):
            lines.append(f"async def c{i}() -> int:\n    return {i}\n")
        params = ", ".join(f"c{i}: int" for i in range(N))
        lines.append(f"async def sink({params}) -> int:\n    return 0\n")
    else:
        lines.append("async def c0() -> int:\n    return 0\n")
        for i in range(1, N):
            lines.append(f"async def c{i}(c{i - 1}: int) -> int:\n    return c{i - 1}\n")
    module = types.ModuleType(f"hamilton_{kind}")
    sys.modules[module.__name__] = module  # Hamilton keeps only functions of a known module
    exec("\n".join(lines), module.__dict__)
    return module


async def hamilton_cases() -> dict:
    try:
        from hamilton import async_driver
    except ImportError:
        return {}
    fan_driver = await async_driver.Builder().with_modules(hamilton_module("fan")).build()
    chain_driver = await async_driver.Builder().with_modules(hamilton_module("chain")).build()
    return {
        "fan: Hamilton async driver": lambda: fan_driver.execute(["sink"], inputs={}),
        "chain: Hamilton async driver": lambda: chain_driver.execute([f"c{N - 1}"], inputs={}),
    }


def configure_filtered_events() -> None:
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                        cache_logger_on_first_use=True)


async def main(rounds: int) -> None:
    fan = noop_components(N, "f")
    chain = noop_components(N, "c")
    fan_flow = DataFlow((tuple(fan), sink))
    chain_flow = DataFlow(tuple(chain))

    async def plain_fan() -> None:
        await asyncio.gather(*(component() for component in fan))
        await sink()

    async def plain_chain() -> None:
        for component in chain:
            await component()

    async def build_and_run_fan() -> None:
        await DataFlow((tuple(fan), sink))({})

    async def build_and_run_chain() -> None:
        await DataFlow(tuple(chain))({})

    cases = {
        "fan: plain asyncio.gather (floor)": plain_fan,
        "fan: adf run": lambda: fan_flow({}),
        "fan: adf build + run": build_and_run_fan,
        "chain: plain sequential awaits (floor)": plain_chain,
        "chain: adf run": lambda: chain_flow({}),
        "chain: adf build + run": build_and_run_chain,
    }
    cases.update(await hamilton_cases())
    times = await measure(cases, rounds)
    us = {name: median(values) / N * 1e6 for name, values in times.items()}

    # Events: the same runs with structlog configured to drop info events.
    configure_filtered_events()
    filtered = await measure({"fan": lambda: fan_flow({}), "chain": lambda: chain_flow({})},
                             rounds)
    us["fan: adf run, events filtered out"] = median(filtered["fan"]) / N * 1e6
    us["chain: adf run, events filtered out"] = median(filtered["chain"]) / N * 1e6

    rows = []
    for name, value in us.items():
        floor = us["fan: plain asyncio.gather (floor)"] if name.startswith("fan") else \
            us["chain: plain sequential awaits (floor)"]
        rows.append([name, f"{value:.2f}", f"{value / floor:.2f}x"])
    print(f"Per-component overhead, median of {rounds} interleaved rounds, {N} components\n")
    print(table(["case", "us/component", "vs floor"], rows))

    hamilton_fan = us.get("fan: Hamilton async driver")
    hamilton_chain = us.get("chain: Hamilton async driver")
    print()
    checks = [
        ("fan <= 2x plain asyncio (events filtered)",
         us["fan: adf run, events filtered out"] / us["fan: plain asyncio.gather (floor)"], 2.0,
         "x"),
        ("chain <= 5 us per step (events filtered)", us["chain: adf run, events filtered out"],
         5.0, "us"),
    ]
    for label, value, limit, unit in checks:
        print(f"{label}: {value:.2f}{unit}  {'OK' if value <= limit else 'MISSED'}")
    if hamilton_fan and hamilton_chain:
        fan_speedup = hamilton_fan / us["fan: adf run"]
        chain_speedup = hamilton_chain / us["chain: adf run"]
        for label, value in (("fan", fan_speedup), ("chain", chain_speedup)):
            print(f">= 10x faster than Hamilton on {label}: {value:.1f}x  "
                  f"{'OK' if value >= 10 else 'MISSED'}")
    else:
        print("Hamilton not installed (pip install apache-hamilton): comparison skipped")
    await sync_tier(rounds)


async def sync_tier(rounds: int) -> None:
    count, sleep = 200, 0.010
    threads = 64
    components = []
    for i in range(count):
        def component() -> None:
            time.sleep(sleep)
        component.__name__ = f"s{i}"
        components.append(component)
    flow = DataFlow((tuple(components),), max_threads=threads)
    pool = concurrent.futures.ThreadPoolExecutor(threads)
    loop = asyncio.get_running_loop()

    async def raw() -> None:
        await asyncio.gather(*(loop.run_in_executor(pool, c) for c in components))

    times = await measure({"tier": lambda: flow({}), "raw": raw}, max(10, rounds))
    ideal = math.ceil(count / threads) * sleep
    got = median(times["tier"])
    floor = median(times["raw"])
    print(f"\nSync tier: {count} components sleeping {sleep * 1000:.0f} ms on {threads} threads")
    print(table(["case", "median ms", "vs ideal"], [
        ["ideal: ceil(200/64) rounds x 10 ms", f"{ideal * 1000:.1f}", "1.000x"],
        ["raw loop.run_in_executor + gather", f"{floor * 1000:.1f}", f"{floor / ideal:.3f}x"],
        ["adf parallel tier", f"{got * 1000:.1f}", f"{got / ideal:.3f}x"],
    ]))
    print(f"within 10% of ideal: {got / ideal:.3f}x  {'OK' if got <= ideal * 1.1 else 'MISSED'}"
          f"  (adf vs raw executor: {got / floor:.3f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    asyncio.run(main(parser.parse_args().rounds))
