"""commit_group: the destinations of one stage commit only once all of them can."""

from __future__ import annotations

import asyncio
import time

import pytest

from adf_core import ComponentError, DataFlow, commit_group, step


def rows():
    return {"rows": [1, 2, 3]}


def committing(name: str, log: list, delay: float = 0.0, fail: bool = False):
    def destination(rows):
        with commit_group(f"the output of {name}") as ready:
            time.sleep(delay)  # writing
            if fail:
                raise ValueError(f"{name} cannot write record 3")
            ready()
            log.append((name, time.perf_counter()))
    return step(destination, name=name)


def test_a_sibling_failing_after_we_are_ready_stops_our_commit():
    log: list = []
    flow = DataFlow((rows, (committing("fast", log), committing("slow", log, 0.2, fail=True))))
    with pytest.raises(ComponentError) as info:
        flow.run()
    assert info.value.component == "slow", "the real failure is reported, not the refusal"
    assert log == [], "nothing was committed"
    assert [e.component for e in info.value.errors] == ["slow"]


def test_an_async_sibling_that_fails_late_stops_the_commit_too():
    log: list = []

    async def webhook(rows):
        await asyncio.sleep(0.2)
        raise ConnectionError("webhook down")

    with pytest.raises(ComponentError) as info:
        DataFlow((rows, (committing("file", log), webhook))).run()
    assert info.value.component == "webhook"
    assert log == []


def test_destinations_commit_after_every_sibling_finished():
    log: list = []
    finished: list = []

    def slow_sibling(rows):
        time.sleep(0.2)
        finished.append(time.perf_counter())

    DataFlow((rows, (committing("file", log), slow_sibling))).run()
    assert len(log) == 1
    assert log[0][1] >= finished[0], "the commit waited for the sibling to finish"


def test_two_committing_destinations_both_commit():
    log: list = []
    DataFlow((rows, (committing("a", log, 0.05), committing("b", log, 0.1)))).run()
    assert sorted(name for name, _ in log) == ["a", "b"]


@pytest.mark.parametrize("limits", [{"max_threads": 1}, {"max_concurrency": 1}])
def test_a_limit_that_keeps_a_sibling_queued_does_not_hang_the_commit(limits):
    log: list = []
    flow = DataFlow((rows, (committing("a", log), committing("b", log))), **limits)

    async def run():
        return await asyncio.wait_for(flow(), timeout=10)

    asyncio.run(run())
    assert sorted(name for name, _ in log) == ["a", "b"]


def test_outside_a_run_ready_does_not_wait():
    with commit_group("a file") as ready:
        ready()


def test_a_sibling_that_times_out_and_then_succeeds_on_retry_lets_us_commit():
    calls: list[int] = []
    log: list = []

    def slow():
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.5)  # outlives its timeout: the retry is what counts
        return {"slow": "ok"}

    def late_dest(x):
        time.sleep(0.2)
        with commit_group("out") as ready:
            ready()
            log.append("committed")

    def src():
        return {"x": 1}

    result = DataFlow((src, (step(slow, timeout=0.1, retries=1), late_dest)),
                      retry_delay=0.01).run()
    assert result["slow"] == "ok" and log == ["committed"]


def test_concurrent_runs_of_one_flow_share_the_pool_without_deadlock():
    tries: dict[int, int] = {}

    def a():
        with commit_group("a.out") as ready:
            ready()
        return {"a": 1}

    def b(run):
        tries[run] = tries.get(run, 0) + 1
        if tries[run] == 1:
            raise ConnectionError("transient")
        return {"b": 1}

    flow = DataFlow(((a, step(b, retries=1)),), max_threads=2, retry_delay=0.05)

    async def both():
        return await asyncio.wait_for(asyncio.gather(flow({"run": 1}), flow({"run": 2})), 20)

    results = asyncio.run(both())
    assert [r["b"] for r in results] == [1, 1]
