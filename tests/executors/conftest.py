"""Make ``adf_executor_jobs`` importable here, in spawned processes (they inherit sys.path)
and in ``dask worker`` subprocesses (through PYTHONPATH); start a real Dask cluster."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SCALING = HERE / "scaling"
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a real scheduler on 127.0.0.1 with two single-thread worker processes,
    started as ``dask scheduler`` and ``dask worker`` subprocesses."""
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE), str(SCALING), *filter(None, [os.environ.get("PYTHONPATH")])])}
    dask = [sys.executable, "-m", "dask"]
    log = (folder / "cluster.log").open("wb")
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(scheduler_file)], env=env, stdout=log, stderr=log))
        address = _read_address(scheduler_file, started[0], folder / "cluster.log")
        started.append(subprocess.Popen(
            [*dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
             "--host", "127.0.0.1"], env=env, stdout=log, stderr=log))
        asyncio.run(_wait_for_workers(address, 2))
        yield address
    finally:
        for process in reversed(started):
            _stop(process)
        log.close()


def _read_address(scheduler_file: Path, process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dask scheduler exited: {log.read_text()}")
        try:
            return str(json.loads(scheduler_file.read_text())["address"])
        except (OSError, ValueError, KeyError):
            time.sleep(0.05)
    pytest.fail(f"dask scheduler did not write {scheduler_file}: {log.read_text()}")


async def _wait_for_workers(address: str, count: int) -> None:
    from distributed import Client

    async with Client(address, asynchronous=True, timeout=30) as client:
        await client.wait_for_workers(count, timeout=60)


@pytest.fixture
def cancel_once_running() -> Any:
    """Run a flow of hanging jobs (``adf_executor_jobs.hang``) and cancel it as soon as one
    of them runs; the run must end cancelled. The caller releases the jobs (``stop`` file)."""
    import adf_executor_jobs as jobs

    def run(flow: Any, state: Path) -> None:
        async def scenario() -> None:
            task = asyncio.create_task(flow({"scratch": str(state)}))
            await jobs.wait_for_file(str(state), "pid-*")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(scenario())

    return run
