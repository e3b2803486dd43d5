"""The ``processes`` executor: a spawn-started process pool, for real."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

import adf_executor_jobs as jobs
import pytest

from adf_core import ComponentError, DataFlow, FlowDefinitionError, step


def test_sync_components_run_in_other_processes_and_pass_data() -> None:
    flow = DataFlow((jobs.add, jobs.double), executor="processes")

    result = flow.run({"x": 2, "y": 3})

    assert result["total"] == 5
    assert result["doubled"] == 10
    assert result["seen"] == ["total", "x", "y"]  # the read-only context arrives as a dict
    assert result["from"] == ["add"]


def test_executor_per_component_and_async_stays_on_the_loop() -> None:
    flow = DataFlow([{
        step(jobs.where, name="threaded"),
        step(jobs.where, name="forked", executor="processes"),
        step(jobs.where_async, name="on_loop", executor="processes"),
    }])

    outputs = flow.run().outputs

    assert outputs["threaded"] == os.getpid()
    assert outputs["on_loop"] == os.getpid()
    assert outputs["forked"] != os.getpid()
    executors = {c.alias: c.executor for c in flow.components}
    assert executors == {"threaded": "threads", "forked": "processes", "on_loop": "processes"}


def test_members_of_a_tier_run_at_once_in_separate_processes(tmp_path: Path) -> None:
    flow = DataFlow([{
        step(jobs.rendezvous, name="left", options={"name": "left"}),
        step(jobs.rendezvous, name="right", options={"name": "right"}),
    }], executor="processes")

    outputs = flow.run({"scratch": str(tmp_path)}).outputs

    assert len({outputs["left"], outputs["right"], os.getpid()}) == 3


def _parallelism(spans: list[tuple[float, float, float]]) -> float:
    """CPU seconds used over wall seconds from the first start to the last end."""
    wall = max(end for _, end, _ in spans) - min(start for start, _, _ in spans)
    return sum(cpu for _, _, cpu in spans) / wall


def test_cpu_bound_tier_uses_several_cpus_at_once_on_processes_only() -> None:
    # Parallelism as a ratio: above 1 is impossible unless CPUs worked at once; pure Python
    # on threads stays at or below 1 (the GIL). A raw process pool measured alongside tells
    # whether this (shared) machine has a second CPU free at all right now.
    rounds = jobs.calibrate(0.3)
    tier = [frozenset(step(jobs.burn_timed, name=f"burn{i}") for i in range(4))]
    flows = {name: DataFlow(tier, executor=name) for name in ("threads", "processes")}
    best = dict.fromkeys([*flows, "raw"], 0.0)
    context = multiprocessing.get_context("spawn")
    for _ in range(2):
        for name, flow in flows.items():
            spans = list(flow.run({"rounds": rounds}).outputs.values())
            best[name] = max(best[name], _parallelism(spans))
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
            spans = list(pool.map(jobs.burn_timed, [rounds] * 4))
        best["raw"] = max(best["raw"], _parallelism(spans))
    if best["raw"] < 1.3:
        pytest.skip(f"no second CPU free on this machine now: a raw process pool reached "
                    f"{best['raw']:.2f} CPUs")

    assert best["processes"] > 1.2, best
    assert best["processes"] > 1.15 * best["threads"], best


def test_unpicklable_components_fail_before_the_run_naming_the_component() -> None:
    def local() -> int:
        return 1

    with pytest.raises(FlowDefinitionError) as lambda_error:
        DataFlow((jobs.where, step(lambda: 1, name="inline")), executor="processes")
    with pytest.raises(FlowDefinitionError) as local_error:
        DataFlow((local, step(local, name="remote", executor="processes")))

    assert "'inline' (stage 2)" in str(lambda_error.value)
    assert "cannot run on executor 'processes'" in str(lambda_error.value)
    assert "'remote' (stage 2)" in str(local_error.value)
    assert "must pickle" in str(local_error.value)


def test_sync_streaming_components_are_refused_before_the_run() -> None:
    with pytest.raises(FlowDefinitionError, match="streams"):
        DataFlow((step(jobs.numbers, executor="processes"), jobs.use_lock))


def test_async_streams_stay_on_the_loop_whatever_the_executor() -> None:
    async def numbers() -> Any:
        for number in range(3):
            yield number

    async def total(numbers: Any) -> int:
        return sum([n async for n in numbers])

    flow = DataFlow((numbers, total), executor="processes")

    assert flow.run()["total"] == 3


def test_an_argument_that_does_not_pickle_fails_that_component() -> None:
    flow = DataFlow((jobs.make_lock, step(jobs.use_lock, executor="processes")))

    with pytest.raises(ComponentError) as error:
        flow.run()

    assert error.value.component == "use_lock"
    assert "pickle" in str(error.value.__cause__)


def test_errors_and_retries_cross_the_process_boundary(tmp_path: Path) -> None:
    failing = DataFlow((jobs.fail,), executor="processes")
    with pytest.raises(ComponentError) as error:
        failing.run({"message": "bad row 7"})
    assert error.value.component == "fail"
    assert isinstance(error.value.__cause__, ValueError)
    assert "bad row 7" in str(error.value.__cause__)

    retried = DataFlow((jobs.flaky,), executor="processes", retries=2, retry_delay=0.01)
    assert retried.run({"scratch": str(tmp_path)})["flaky"] == 3
    pids = {p.read_text() for p in tmp_path.glob("attempt-*")}
    assert str(os.getpid()) not in pids


def test_a_timeout_stops_the_process_running_the_component(tmp_path: Path) -> None:
    flow = DataFlow((step(jobs.hang, timeout=0.5),), executor="processes")
    try:
        with pytest.raises(ComponentError) as error:
            flow.run({"scratch": str(tmp_path)})
        pid = int(next(tmp_path.glob("pid-*")).name.removeprefix("pid-"))
        assert not jobs.alive(pid)  # stopped, not left to finish on its own
    finally:
        (tmp_path / "stop").write_text("")

    assert isinstance(error.value.__cause__, TimeoutError)


def test_cancelling_the_flow_stops_its_processes(tmp_path: Path,
                                                 cancel_once_running: Any) -> None:
    flow = DataFlow([{step(jobs.hang, name="one"), step(jobs.hang, name="two")}],
                    executor="processes")
    try:
        cancel_once_running(flow, tmp_path)
        pids = [int(p.name.removeprefix("pid-")) for p in tmp_path.glob("pid-*")]
        assert pids
        assert not any(jobs.alive(pid) for pid in pids)
    finally:
        (tmp_path / "stop").write_text("")


def test_a_timed_out_attempt_does_not_disturb_its_running_siblings(tmp_path: Path) -> None:
    # "first" times out while "waiter" still runs in the same pool: its process cannot be
    # stopped yet; after the grace period the retry runs in a fresh process, "waiter"
    # finishes, and only then is the abandoned process terminated.
    flow = DataFlow([{
        step(jobs.hang_first, name="first", timeout=0.5, retries=1),
        step(jobs.wait_for_second, name="waiter"),
    }], executor="processes", thread_grace=0.2, retry_delay=0.01)
    try:
        outputs = flow.run({"scratch": str(tmp_path)}).outputs
        abandoned = int((tmp_path / "first").read_text())
        assert not jobs.alive(abandoned)
    finally:
        (tmp_path / "stop").write_text("")

    assert outputs["first"] == int((tmp_path / "second").read_text()) != abandoned
    assert outputs["waiter"] not in (abandoned, os.getpid())


def test_async_components_keep_running_on_the_loop_thread() -> None:
    seen: list[str] = []

    async def probe() -> None:
        seen.append(threading.current_thread().name)

    DataFlow((probe,), executor="processes").run()

    assert seen == [threading.main_thread().name]


def test_a_flow_wide_executor_refuses_streams_it_cannot_move_naming_them() -> None:
    def total(numbers: Any) -> dict[str, int]:
        return {"total": sum(numbers)}

    with pytest.raises(FlowDefinitionError) as producer:
        DataFlow((step(jobs.numbers, options={"n": 4}), total), executor="processes")
    with pytest.raises(FlowDefinitionError) as reader:
        DataFlow((step(jobs.numbers, options={"n": 4}, executor="threads"), total),
                 executor="processes")

    assert "'numbers' (stage 1) cannot run on executor 'processes': it streams" in str(
        producer.value)
    assert "'total' (stage 2) cannot run on executor 'processes': it reads the stream of " \
        "'numbers'" in str(reader.value)
    assert "executor='threads'" in str(reader.value)


def test_components_declared_in_process_stay_on_threads_under_a_flow_wide_executor() -> None:
    from adf_core import component

    @component(in_process=True)
    def total(numbers: Any) -> dict[str, Any]:
        return {"total": sum(numbers), "reader": threading.current_thread().name}

    @component(in_process=True)
    def numbers(n: int) -> Any:
        yield from range(n)

    flow = DataFlow((step(numbers, options={"n": 4}), total, jobs.where), executor="processes")
    by_alias = {c.alias: (c.executor, c.executor_note) for c in flow.components}
    assert by_alias["numbers"] == ("threads", "stays in this process: it streams (a "
                                   "generator), and streams stay in this process")
    assert by_alias["total"][0] == "threads" and "reads the stream" in by_alias["total"][1]
    assert by_alias["where"] == ("processes", None)
    result = flow.run()
    assert result["total"] == sum(range(4))
    assert result["where"] != os.getpid(), "the plain component ran in a worker process"


def test_a_component_joining_a_commit_group_is_refused() -> None:
    with pytest.raises(FlowDefinitionError, match=r"'commits' .* joins a commit group"):
        DataFlow((jobs.where, step(jobs.commits, executor="processes")))
