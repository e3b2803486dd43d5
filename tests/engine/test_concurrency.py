"""Concurrency, proven by ratios and by counting, never by absolute times."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from adf_core import DataFlow, current_run, step


class Gauge:
    """Counts components running at once (from the loop and from threads) and the peak."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.threads: set[str] = set()

    def enter(self) -> None:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.threads.add(threading.current_thread().name)

    def leave(self) -> None:
        with self.lock:
            self.running -= 1

    def sync(self, name: str, seconds: float):
        def component() -> None:
            self.enter()
            try:
                time.sleep(seconds)
            finally:
                self.leave()

        component.__name__ = name
        return component

    def async_(self, name: str, seconds: float):
        async def component() -> None:
            self.enter()
            try:
                await asyncio.sleep(seconds)
            finally:
                self.leave()

        component.__name__ = name
        return component


def test_a_tier_of_three_sleeps_runs_concurrently_async_and_sync_mixed():
    gauge = Gauge()
    tier = (gauge.async_("a", 0.3), gauge.sync("b", 0.3), gauge.sync("c", 0.3))
    began = time.perf_counter()
    result = DataFlow((tier,)).run()
    elapsed = time.perf_counter() - began
    serial = sum(result.timings.values())  # what the three took, each on its own
    assert serial >= 0.9 - 0.01
    assert elapsed < serial * 2 / 3, (elapsed, result.timings)
    assert gauge.peak == 3


def test_the_seed_layout_overlaps_its_sources():
    gauge = Gauge()
    flow = DataFlow(((gauge.async_("sourceA", 0.2), gauge.sync("sourceB", 0.2)),
                     gauge.async_("merge", 0.0), gauge.async_("destination", 0.2)))
    began = time.perf_counter()
    result = flow.run()
    elapsed = time.perf_counter() - began
    serial = sum(result.timings.values())
    # serial ~0.6 s; concurrent ~0.4 s: sources overlap, stages do not
    assert elapsed < serial * 0.85, (elapsed, result.timings)
    assert elapsed >= result.timings["sourceA"] + result.timings["destination"] - 0.01
    assert gauge.peak == 2


def test_the_loop_keeps_ticking_while_a_sync_component_sleeps_in_its_thread():
    done = threading.Event()
    ticks = 0

    def blocking() -> None:
        time.sleep(0.3)
        done.set()

    async def heartbeat() -> dict:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)
        return {"ticks": ticks}

    result = DataFlow(((blocking, heartbeat),)).run()
    # ~30 ticks when the loop is free; a blocked loop would give 1
    assert result["ticks"] >= 10, result["ticks"]


def test_a_sync_component_never_runs_on_the_loop_thread():
    def where() -> dict:
        return {"thread": threading.current_thread().name}

    result = DataFlow(where).run()
    assert result["thread"] != threading.main_thread().name


def test_by_default_many_sync_components_run_at_once():
    barrier = threading.Barrier(6, timeout=5)

    def member(index: int):
        def component() -> dict:
            barrier.wait()  # only passes when all six are running together
            return {f"m{index}": True}

        component.__name__ = f"m{index}"
        return component

    result = DataFlow((tuple(member(i) for i in range(6)),)).run()
    assert len(result) == 6


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_max_concurrency_bounds_components_running_at_once(limit):
    gauge = Gauge()
    members = tuple(
        gauge.async_(f"a{i}", 0.03) if i % 2 else gauge.sync(f"s{i}", 0.03) for i in range(8))
    DataFlow((members,), max_concurrency=limit).run()
    assert gauge.peak == limit


def test_max_concurrency_counts_across_nested_groups():
    gauge = Gauge()
    definition = ((gauge.async_("a", 0.03), (gauge.sync("b", 0.03), gauge.async_("c", 0.03)),
                   (gauge.async_("d", 0.03), (gauge.sync("e", 0.03), gauge.sync("f", 0.03)))),)
    DataFlow(definition, max_concurrency=2).run()
    assert gauge.peak == 2


def test_max_threads_bounds_the_worker_pool():
    gauge = Gauge()
    members = tuple(gauge.sync(f"s{i}", 0.03) for i in range(6))
    DataFlow((members,), max_threads=2).run()
    assert gauge.peak == 2
    assert len(gauge.threads) <= 2


def test_max_threads_does_not_limit_coroutines():
    gauge = Gauge()
    members = tuple(gauge.async_(f"a{i}", 0.05) for i in range(5))
    DataFlow((members,), max_threads=1).run()
    assert gauge.peak == 5


def test_fan_out_stream_under_max_concurrency_one_does_not_deadlock():
    async def numbers():
        for i in range(20):
            yield i

    async def first(numbers):
        return {"first": [n async for n in numbers]}

    async def second(numbers):
        return {"second": [n async for n in numbers]}

    async def main():
        flow = DataFlow((numbers, (first, second)), max_concurrency=1, buffer_size=2)
        return await asyncio.wait_for(flow(), 1)

    result = asyncio.run(main())
    assert result["first"] == result["second"] == list(range(20))


def test_current_run_is_visible_on_the_loop_and_in_threads():
    seen = {}

    async def on_loop() -> None:
        info = current_run()
        seen["loop"] = (info.run_id, info.flow)

    def in_thread() -> None:
        info = current_run()
        seen["thread"] = (info.run_id, info.flow)

    result = DataFlow(((on_loop, in_thread),)).run(run_id="run-42")
    assert seen == {"loop": ("run-42", "on_loop, in_thread"),
                    "thread": ("run-42", "on_loop, in_thread")}
    assert result.run_id == "run-42"
    assert current_run() is None


def test_two_runs_of_one_flow_at_once_keep_their_own_state():
    async def echo(x) -> dict:
        await asyncio.sleep(0.02)
        return {"y": x, "run": current_run().run_id}

    def double(y) -> dict:
        time.sleep(0.02)
        return {"z": y * 2, "run_in_thread": current_run().run_id}

    flow = DataFlow((echo, double))

    async def main():
        return await asyncio.gather(flow({"x": 1}, run_id="r1"), flow({"x": 2}, run_id="r2"))

    first, second = asyncio.run(main())
    assert (first["z"], first["run"], first["run_in_thread"]) == (2, "r1", "r1")
    assert (second["z"], second["run"], second["run_in_thread"]) == (4, "r2", "r2")


def test_a_step_may_run_a_sync_component_on_the_threads_executor_explicitly():
    def where() -> dict:
        return {"thread": threading.current_thread().name}

    result = DataFlow(step(where, executor="threads")).run()
    assert result["thread"] != threading.main_thread().name


def numbers():
    yield from range(10)


def total(numbers) -> dict:
    return {"total": sum(numbers)}


def test_a_sync_stream_pair_runs_with_a_single_worker_thread():
    async def main():
        flow = DataFlow((numbers, total), max_threads=1, buffer_size=2)
        return await asyncio.wait_for(flow(), 1)

    assert asyncio.run(main())["total"] == 45


def test_two_concurrent_runs_of_one_streaming_flow_do_not_starve_each_other():
    flow = DataFlow((numbers, total), max_threads=2, buffer_size=2)
    assert flow.run()["total"] == 45  # one run alone is fine

    async def main():
        return await asyncio.wait_for(asyncio.gather(flow(), flow()), 1)

    assert [r["total"] for r in asyncio.run(main())] == [45, 45]


def test_a_thread_abandoned_by_a_cancelled_run_does_not_block_the_next_run():
    release = threading.Event()
    calls: list[int] = []

    def work() -> dict:
        calls.append(1)
        if len(calls) == 1:
            release.wait(1.0)  # the first run's call hangs (1 s here)
        return {"call": len(calls)}

    flow = DataFlow(work, max_threads=1, thread_grace=0.02)

    async def main() -> tuple[float, dict]:
        first = asyncio.create_task(flow())
        await asyncio.sleep(0.05)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        began = time.perf_counter()
        result = await flow()
        return time.perf_counter() - began, dict(result)

    try:
        took, result = asyncio.run(main())
    finally:
        release.set()
    assert result == {"call": 2}
    assert took < 0.5  # far less than the 1 s the abandoned thread still runs


def test_abandoning_a_thread_in_one_run_never_cancels_another_run_of_the_same_flow():
    """Run B's work is queued behind run A's hung thread; A is cancelled and abandons it.

    B was never cancelled: it must complete (on a fresh pool or after the thread frees),
    not end with a CancelledError because A's pool was shut down with cancel_futures=True.
    """
    release = threading.Event()
    calls: list[int] = []

    def work() -> dict:
        calls.append(1)
        call = len(calls)
        if call == 1:
            release.wait(1.0)  # run A's call hangs
        return {"call": call}

    flow = DataFlow(work, max_threads=1, thread_grace=0.02)

    async def main() -> dict:
        run_a = asyncio.create_task(flow())
        await asyncio.sleep(0.05)
        run_b = asyncio.create_task(flow())
        await asyncio.sleep(0.05)  # B's call is now queued in the pool
        run_a.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run_a
        return dict(await asyncio.wait_for(run_b, 5))

    try:
        assert asyncio.run(main()) == {"call": 2}
    finally:
        release.set()


def test_a_retry_after_an_abandoned_thread_runs_on_a_fresh_pool():
    calls: list[int] = []

    def hang():
        calls.append(1)
        if len(calls) == 1:
            time.sleep(1)  # past its timeout and the grace period: abandoned
        return {"h": len(calls)}

    def after(h):
        return {"done": h}

    flow = DataFlow((step(hang, timeout=0.1, retries=1), after), thread_grace=0.2,
                    retry_delay=0.01)
    assert flow.run()["done"] == 2
