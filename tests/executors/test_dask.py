"""The ``dask`` executor against real clusters: a local cluster the flow starts itself, and a
``dask scheduler`` plus ``dask worker`` started here as subprocesses and reached by address."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import adf_executor_jobs as jobs
import pytest

from adf_core import ComponentError, DataFlow, FlowDefinitionError, step

pytest.importorskip("distributed", reason="dask[distributed] is not installed")

async def _on_scheduler(address: str, function: Any, *args: Any) -> Any:
    from distributed import Client

    async with Client(address, asynchronous=True) as client:
        return await client.run_on_scheduler(function, *args)


async def _scheduler_tasks(address: str) -> int:
    return int(await _on_scheduler(address, jobs.scheduler_tasks))


# --- a local cluster, started by the flow --------------------------------------------------

def test_without_an_address_a_local_cluster_of_worker_processes_runs_the_tier(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADF_EXECUTOR_ADDRESS", raising=False)
    flow = DataFlow([
        {step(jobs.rendezvous, name="left", options={"name": "left"}),
         step(jobs.rendezvous, name="right", options={"name": "right"})},
        step(jobs.where_async, name="loop"),
    ], executor="dask")

    outputs = flow.run({"scratch": str(tmp_path)}).outputs

    assert len({outputs["left"], outputs["right"], os.getpid()}) == 3
    assert outputs["loop"] == os.getpid()


# --- a cluster started as subprocesses, reached by address ----------------------------------

def test_components_run_on_the_cluster_by_address(scheduler: str) -> None:
    flow = DataFlow((jobs.add, jobs.double, jobs.keyed, jobs.where), executor="dask",
                    executor_address=scheduler)

    result = flow.run({"x": 2, "y": 3, "key": "k"})

    assert result["doubled"] == 10
    assert result["seen"] == ["key", "total", "x", "y"]
    assert result["keyed"] == "k/1/p"  # not taken for Client.submit's own keywords
    assert result["where"] != os.getpid()


def test_the_address_comes_from_the_environment(scheduler: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADF_EXECUTOR_ADDRESS", scheduler)

    result = DataFlow((jobs.where,), executor="dask").run()

    assert result["where"] != os.getpid()


def test_executors_mix_per_component(scheduler: str) -> None:
    flow = DataFlow([{
        step(jobs.where, name="threaded"),
        step(jobs.where, name="forked", executor="processes"),
        step(jobs.where, name="remote", executor="dask"),
        step(jobs.where_async, name="on_loop", executor="dask"),
    }], executor_address=scheduler)

    outputs = flow.run().outputs

    assert outputs["threaded"] == outputs["on_loop"] == os.getpid()
    assert len({outputs["threaded"], outputs["forked"], outputs["remote"]}) == 3


def test_lambdas_travel_but_captured_locks_do_not(scheduler: str) -> None:
    flow = DataFlow((step(lambda x: x + 1, name="inc"),), executor="dask",
                    executor_address=scheduler)
    assert flow.run({"x": 1})["inc"] == 2

    lock = threading.Lock()

    def guarded() -> int:
        with lock:
            return 1

    with pytest.raises(FlowDefinitionError) as error:
        DataFlow((jobs.where, step(guarded, executor="dask")))
    assert "'guarded' (stage 2)" in str(error.value)
    assert "cannot run on executor 'dask'" in str(error.value)
    assert "lock" in str(error.value)


def test_errors_and_retries_on_the_cluster(scheduler: str, tmp_path: Path) -> None:
    failing = DataFlow((jobs.fail,), executor="dask", executor_address=scheduler)
    with pytest.raises(ComponentError) as error:
        failing.run({"message": "bad row 7"})
    assert error.value.component == "fail"
    assert isinstance(error.value.__cause__, ValueError)
    assert "bad row 7" in str(error.value.__cause__)

    retried = DataFlow((jobs.flaky,), executor="dask", executor_address=scheduler,
                       retries=2, retry_delay=0.01)
    assert retried.run({"scratch": str(tmp_path)})["flaky"] == 3
    assert len(list(tmp_path.glob("attempt-*"))) == 3


def test_a_timeout_cancels_the_dask_future(scheduler: str, tmp_path: Path) -> None:
    flow = DataFlow((step(jobs.hang, timeout=0.5),), executor="dask",
                    executor_address=scheduler)
    try:
        with pytest.raises(ComponentError) as error:
            flow.run({"scratch": str(tmp_path)})
    finally:
        (tmp_path / "stop").write_text("")

    assert isinstance(error.value.__cause__, TimeoutError)
    assert list(tmp_path.glob("pid-*"))  # it had started on a worker


def test_a_cancelled_call_cancels_its_future_on_the_scheduler(scheduler: str,
                                                              tmp_path: Path) -> None:
    from adf_core.engine.executors.dask import DaskExecutor

    async def scenario() -> tuple[int, int, list[str]]:
        executor = DaskExecutor(address=scheduler)
        await executor.start()
        try:
            call = asyncio.create_task(executor.call(jobs.hang, [str(tmp_path)], {}))
            await jobs.wait_for_file(str(tmp_path), "pid-*")
            running = await _scheduler_tasks(scheduler)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            deadline = time.monotonic() + 10
            left = await _scheduler_tasks(scheduler)
            while left and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                left = await _scheduler_tasks(scheduler)
            actions = await _on_scheduler(scheduler, jobs.scheduler_actions,
                                          executor.client.id)
            return running, left, actions
        finally:
            (tmp_path / "stop").write_text("")
            await executor.close()

    running, left, actions = asyncio.run(scenario())

    assert (running, left) == (1, 0)
    assert "cancel" in actions  # cancelled by the executor, not merely let go


def test_cancelling_the_flow_cancels_every_future(scheduler: str, tmp_path: Path,
                                                  cancel_once_running: Any) -> None:
    flow = DataFlow([{step(jobs.hang, name="one"), step(jobs.hang, name="two")}],
                    executor="dask", executor_address=scheduler)
    try:
        cancel_once_running(flow, tmp_path)
    finally:
        (tmp_path / "stop").write_text("")

    assert asyncio.run(_scheduler_tasks(scheduler)) == 0


def test_an_unreachable_scheduler_fails_the_component_clearly() -> None:
    import dask

    flow = DataFlow((jobs.where,), executor="dask", executor_address="tcp://127.0.0.1:9")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(ComponentError) as error:
        flow.run()

    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in str(error.value.__cause__)
