"""Failure and cancellation (DESIGN section 4)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from adf_core import ComponentError, DataFlow, FlowError, MissingInputError


class Boom(Exception):
    pass


def test_a_raising_component_becomes_a_component_error():
    def load() -> dict:
        return {"rows": [1]}

    def broken(rows):
        raise Boom("bad row 1")

    with pytest.raises(ComponentError) as caught:
        DataFlow((load, (broken, lambda: None))).run()
    error = caught.value
    assert isinstance(error, FlowError)
    assert (error.component, error.stage, error.attempts) == ("broken", 2, 1)
    assert error.position == "stage 2, member 1"
    assert isinstance(error.__cause__, Boom) and str(error.__cause__) == "bad row 1"
    assert error.errors == [error]
    assert "'broken'" in str(error) and "Boom: bad row 1" in str(error)


def test_an_async_failure_is_reported_the_same_way():
    async def broken():
        await asyncio.sleep(0)
        raise Boom("async")

    with pytest.raises(ComponentError) as caught:
        DataFlow(broken).run()
    assert caught.value.component == "broken" and isinstance(caught.value.__cause__, Boom)


def test_running_siblings_are_cancelled_and_later_stages_never_start():
    seen: list[str] = []
    started = asyncio.Event()

    async def sibling():
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("sibling cancelled")
            raise
        seen.append("sibling finished")

    async def broken():
        await started.wait()
        raise Boom("now")

    def later():
        seen.append("later ran")

    began = time.perf_counter()
    with pytest.raises(ComponentError) as caught:
        DataFlow(((sibling, broken), later)).run()
    assert caught.value.component == "broken"
    assert seen == ["sibling cancelled"]
    assert time.perf_counter() - began < 5  # nowhere near the sibling's 10 s


def test_a_sync_sibling_already_running_is_waited_for_before_the_flow_raises():
    seen: list[str] = []
    in_thread = threading.Event()

    def sibling():
        in_thread.set()
        time.sleep(0.2)
        seen.append("sync sibling returned")

    async def broken():
        while not in_thread.is_set():
            await asyncio.sleep(0.005)
        raise Boom("now")

    with pytest.raises(ComponentError):
        DataFlow(((sibling, broken),)).run()
    seen.append("flow raised")
    assert seen == ["sync sibling returned", "flow raised"]


def test_several_simultaneous_failures_are_all_reported():
    arrived = []
    both = asyncio.Event()

    def failing(name: str):
        async def component():
            arrived.append(name)
            if len(arrived) == 2:
                both.set()
            await both.wait()
            raise Boom(name)

        component.__name__ = name
        return component

    with pytest.raises(ComponentError) as caught:
        DataFlow((lambda: None, (failing("first"), failing("second"), asyncio.sleep))).run(
            {"delay": 5})
    error = caught.value
    assert [e.component for e in error.errors] == ["first", "second"]
    assert [str(e.__cause__) for e in error.errors] == ["first", "second"]
    assert "and 1 more failed: 'second'" in str(error)


def test_a_sync_sibling_that_fails_while_the_flow_waits_for_it_is_reported_too():
    in_thread = threading.Event()

    def slow_fail():
        in_thread.set()
        time.sleep(0.15)
        raise Boom("sync sibling")

    async def fast_fail():
        while not in_thread.is_set():
            await asyncio.sleep(0.005)
        raise Boom("async")

    with pytest.raises(ComponentError) as caught:
        DataFlow(((fast_fail, slow_fail),)).run()
    assert sorted(e.component for e in caught.value.errors) == ["fast_fail", "slow_fail"]


def test_seed_style_missing_inputs_in_one_group_report_the_first_and_note_the_others():
    async def sourceA(endpointA):
        return {"sourceA": [1]}

    def sourceB(endpointB):
        return {"sourceB": [2]}

    with pytest.raises(MissingInputError) as caught:
        DataFlow(((sourceA, sourceB),)).run({"other": 1})
    error = caught.value
    assert (error.component, error.parameter) == ("sourceA", "endpointA")
    notes = "\n".join(getattr(error, "__notes__", []))
    assert "endpointB" in notes


# --------------------------------------------------------------------------- cancellation


def test_cancelling_the_flow_leaves_no_task_behind_and_waits_for_threads():
    seen: list[str] = []

    async def main() -> None:
        in_thread = threading.Event()
        async_running = asyncio.Event()

        def sync_part():
            in_thread.set()
            time.sleep(0.2)
            seen.append("thread returned")

        async def async_part():
            async_running.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                seen.append("async cancelled")
                raise

        async def nested():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                seen.append("nested cancelled")
                raise

        def before_nested() -> None:
            return None

        def after() -> None:
            seen.append("later stage ran")

        flow = DataFlow(((sync_part, async_part, (before_nested, nested)), after))
        before = asyncio.all_tasks()
        task = asyncio.create_task(flow())
        await async_running.wait()
        while not in_thread.is_set():
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)  # let the nested sequence reach its second step
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        seen.append("flow cancelled")
        assert asyncio.all_tasks() == before

    asyncio.run(main())
    assert seen[-2:] == ["thread returned", "flow cancelled"]
    assert sorted(seen[:-2]) == ["async cancelled", "nested cancelled"]


def test_cancellation_by_wait_for_timeout_cancels_a_top_level_stage():
    seen: list[str] = []

    async def main() -> None:
        async def slow():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        before = asyncio.all_tasks()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(DataFlow((slow, lambda: None))(), 0.05)
        assert asyncio.all_tasks() == before

    asyncio.run(main())
    assert seen == ["cancelled"]


def test_a_thread_that_outlives_the_grace_period_is_abandoned():
    done = threading.Event()

    def stuck():
        done.wait(2)

    async def main() -> float:
        task = asyncio.create_task(DataFlow(stuck, thread_grace=0.05)())
        await asyncio.sleep(0.05)
        began = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.perf_counter() - began

    try:
        waited = asyncio.run(main())
        assert waited < 1.0  # the grace (0.05 s), not the 2 s the thread would take
    finally:
        done.set()


def test_an_outside_cancellation_stays_a_cancellation_even_if_a_thread_then_fails():
    def failing():
        time.sleep(0.1)
        raise Boom("connection lost while the flow was being cancelled")

    async def main() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.02):
                await DataFlow(failing)()
        task = asyncio.create_task(DataFlow(failing)())
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
