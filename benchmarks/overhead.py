"""Engine overhead per component, side by side with plain asyncio and Apache Hamilton.

    python benchmarks/overhead.py [--rounds N] [--python PATH]...

(a) a parallel tier of 1000 no-op async components feeding one sink; (b) a chain of 1000
sequential components; (c) a tier of 200 sync components sleeping 10 ms, against the ideal
for the thread count used; (d) the cost of engine events when structlog filters them out;
(e) the fan and the chain on each Python given (and python3.11/3.12/3.13 found on PATH that
can import this checkout's dependencies), with and without eager task start (3.12+; what
``flow.run()`` uses), next to Hamilton's async driver on the same interpreter; (f) the fan
with no observer installed, and with a no-op one; (g) a streaming ETL flow (SQLite -> JSONL)
with adf-plugin-otel exporting to a local OTLP/HTTP receiver, in one process and as ``adf run``
processes (see ``_observing.py``).
Targets (engine events filtered out): fan <= 2x plain asyncio, chain <= 5 us per step, at
least 10x faster than Hamilton on both, sync tier within 10% of ideal, 0% added by the
lifecycle hooks with no observer, <= 3% added by adf-plugin-otel on the ETL flow.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import time
import types

sys.path.insert(0, os.path.dirname(__file__))
from _common import measure, median, table
from _observing import observing_cases

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


# ------------------------------------------------------------------ (e) Python versions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION_CASES = ("fan: adf", "chain: adf", "fan: Hamilton", "chain: Hamilton",
                 "fan: plain asyncio.gather")


async def version_child(rounds: int) -> dict:
    """In a child interpreter: the fan and chain cases per round, eager start off and on
    (interleaved, by switching the loop's task factory), in us per component."""
    loop = asyncio.get_running_loop()
    fan = noop_components(N, "f")
    fan_flow = DataFlow((tuple(fan), sink))
    chain_flow = DataFlow(tuple(noop_components(N, "c")))

    async def plain_fan() -> None:
        await asyncio.gather(*(component() for component in fan))
        await sink()

    hamilton = await hamilton_cases()
    cases = {"fan: adf": lambda: fan_flow({}), "chain: adf": lambda: chain_flow({}),
             "fan: plain asyncio.gather": plain_fan}
    if hamilton:
        cases["fan: Hamilton"] = hamilton["fan: Hamilton async driver"]
        cases["chain: Hamilton"] = hamilton["chain: Hamilton async driver"]
    eager_factory = getattr(asyncio, "eager_task_factory", None)
    modes = [False, True] if eager_factory is not None else [False]
    samples: dict[str, list[float]] = {}
    for round_ in range(rounds + 2):
        for eager in modes:
            loop.set_task_factory(eager_factory if eager else None)
            for name, case in cases.items():
                started = time.perf_counter()
                await case()
                if round_ >= 2:  # two warm-up rounds
                    samples.setdefault(f"{name}|{int(eager)}", []).append(
                        (time.perf_counter() - started) / N * 1e6)
    loop.set_task_factory(None)
    return {"python": sys.version.split()[0], "samples": samples}


def interpreters(extra: list[str]) -> list[str]:
    found = [sys.executable, *extra]
    for name in ("python3.11", "python3.12", "python3.13"):
        path = shutil.which(name)
        if path:
            found.append(path)
    unique: list[str] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def run_children(pythons: list[str], rounds: int, batches: int = 3) -> tuple[dict, list[str]]:
    """Each interpreter runs ``batches`` children in turn (A B C A B C), so that drift on a
    shared machine hits all alike; samples are pooled per interpreter."""
    pooled: dict[str, dict] = {}
    problems: list[str] = []
    live = list(pythons)
    paths = [ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}  # this checkout's adf_core
    for _ in range(batches):
        for python in list(live):
            done = subprocess.run([python, os.path.abspath(__file__), "--child-versions",
                                   "--rounds", str(max(rounds // batches, 3))],
                                  capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
            if done.returncode != 0:
                lines = done.stderr.strip().splitlines() or ["failed"]
                errors = [line for line in lines if re.match(r"\w+(Error|Exception)\b", line)]
                problems.append(f"{python}: {(errors or lines)[-1]}")
                live.remove(python)
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            entry = pooled.setdefault(python, {"python": result["python"], "samples": {}})
            for key, values in result["samples"].items():
                entry["samples"].setdefault(key, []).extend(values)
    seen_versions: dict[str, str] = {}
    for python, entry in list(pooled.items()):
        if entry["python"] in seen_versions:
            del pooled[python]  # the same version twice (a shim and a venv): keep the first
        else:
            seen_versions[entry["python"]] = python
    return pooled, problems


def versions_table(pooled: dict) -> None:
    rows = []
    for entry in sorted(pooled.values(), key=lambda e: [int(x) for x in
                                                         e["python"].split(".")[:2]]):
        samples = entry["samples"]
        for eager in (0, 1):
            med = {case: median(samples[f"{case}|{eager}"]) for case in VERSION_CASES
                   if f"{case}|{eager}" in samples}
            if "fan: adf" not in med:
                continue
            used = "yes (flow.run)" if eager else ("no (flow.run)" if not any(
                k.endswith("|1") for k in samples) else "no")
            # Hamilton as it runs by default (a loop without eager start) is the anchor.
            h_fan = median(samples["fan: Hamilton|0"]) if "fan: Hamilton|0" in samples else None
            h_chain = (median(samples["chain: Hamilton|0"])
                       if "chain: Hamilton|0" in samples else None)
            rows.append([
                entry["python"], used, f"{med['fan: adf']:.2f}", f"{med['chain: adf']:.2f}",
                f"{med['fan: plain asyncio.gather']:.2f}",
                f"{h_fan:.2f}" if h_fan else "-", f"{h_chain:.2f}" if h_chain else "-",
                f"{h_fan / med['fan: adf']:.1f}x" if h_fan else "-",
                f"{h_chain / med['chain: adf']:.1f}x" if h_chain else "-",
            ])
    print("\n(e) The fan and the chain on each Python, eager task start off and on "
          "(us/component, median;\n    Hamilton's async driver on the same Python, "
          "on a loop without eager start)\n")
    print(table(["python", "eager start", "fan adf", "chain adf", "fan gather",
                 "fan Hamilton", "chain Hamilton", "fan vs Hamilton", "chain vs Hamilton"],
                rows))


def compare_versions(pythons: list[str], rounds: int) -> None:
    pooled, problems = run_children(pythons, rounds)
    if pooled:
        versions_table(pooled)
    for problem in problems:
        print(f"skipped {problem} (install this project's dependencies there to compare it)")
    if len(pooled) < 2:
        print("only one Python compared: pass --python PATH for another (3.11 and 3.13)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--python", action="append", default=[],
                        help="another interpreter for (e); repeatable")
    parser.add_argument("--only-versions", action="store_true",
                        help="run only (e), the comparison across Pythons")
    parser.add_argument("--only-observers", action="store_true",
                        help="run only (f) and (g), what observing a run costs")
    parser.add_argument("--etl-rows", type=int, default=200_000,
                        help="rows of the streaming ETL in (g)")
    parser.add_argument("--child-versions", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_versions:
        print(json.dumps(asyncio.run(version_child(args.rounds))))
    elif args.only_observers:
        observing_cases(DataFlow((tuple(noop_components(N, "f")), sink)), args.rounds, N,
                        args.etl_rows)
    else:
        if not args.only_versions:
            asyncio.run(main(args.rounds))
            observing_cases(DataFlow((tuple(noop_components(N, "f")), sink)), args.rounds, N,
                            args.etl_rows)
        compare_versions(interpreters(args.python), args.rounds)
