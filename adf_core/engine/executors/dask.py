"""The ``dask`` executor: sync components run on a Dask distributed cluster.

The run talks to the cluster through Dask's asyncio client (``Client(asynchronous=True)``), so
waiting for remote work never holds a thread here. What a caller must know:

- Where: ``executor_address`` (``adf run --executor-address tcp://host:8786``), else
  ``$ADF_EXECUTOR_ADDRESS``, else a local cluster started for the run with
  ``$ADF_EXECUTOR_WORKERS`` worker processes (default: one per CPU) of one thread each, so
  pure-Python work runs in parallel. The client, and a local cluster, close when the run ends.
- A component, its options and its arguments are pickled with cloudpickle: lambdas and nested
  functions work; a function closing over a lock, a socket or an open file does not, and is
  rejected before the run. Functions defined in an importable module are sent by reference,
  so that module must be importable on the workers (install your package there). Results
  travel back to this process, so keep them to what the next stage needs.
- ``adf_core.current_run()`` is None on a worker: context variables stay here.
- Cancellation (a timeout, a failing sibling, a cancelled flow) cancels the Dask future at
  once: a task that has not started never runs. Dask cannot interrupt a task already running
  in a worker thread: it runs to the end and its result is dropped (closing a local cluster
  stops its workers).
- Each attempt is a new task (``pure=False``): retries really run again.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import logging
from collections.abc import Callable
from typing import Any

from adf_core.engine.executors.remote import (
    executor_address,
    pickle_problem,
    portable,
    worker_count,
)

_HINT = ("make what it uses at call time (locks, connections, open files) inside the "
         "function instead of capturing it, or run it with executor='threads'")

_SUBMIT_KEYWORDS = frozenset({
    "key", "workers", "resources", "retries", "priority", "fifo_timeout",
    "allow_other_workers", "actor", "actors", "pure"})


class DaskExecutor:
    """Runs sync components on a Dask cluster; see the module docstring for the rules."""

    name = "dask"
    remote = True

    def __init__(self, max_workers: int | None = None, grace: float = 10.0,
                 address: str | None = None, workers: int | None = None, **_: Any) -> None:
        self.address = executor_address(address)
        self.workers = workers
        self.grace = grace
        self.client: Any = None
        self.cluster: Any = None

    @staticmethod
    def check_component(fn: Callable[..., Any]) -> str | None:
        """Why ``fn`` cannot be sent to a Dask worker, or None."""
        if importlib.util.find_spec("distributed") is None:
            return "Dask is not installed: pip install 'adf-core[dask]'"
        import cloudpickle

        return pickle_problem(fn, cloudpickle.dumps, "a Dask worker", _HINT)

    async def start(self) -> None:
        from distributed import Client

        if self.address:
            try:
                self.client = await Client(self.address, asynchronous=True,
                                           set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise OSError(f"cannot reach the Dask scheduler at {self.address}: {exc}"
                              ) from exc
            return
        from distributed import LocalCluster

        self.cluster = await LocalCluster(
            asynchronous=True, processes=True, n_workers=self.workers or worker_count(),
            threads_per_worker=1, dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
        try:
            self.client = await Client(self.cluster, asynchronous=True, set_as_default=False)
        except BaseException:
            await self.cluster.close()
            self.cluster = None
            raise

    async def call(self, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
                   on_cancel: Callable[[], None] | None = None) -> Any:
        args, kwargs = portable(args, kwargs)
        if _SUBMIT_KEYWORDS.isdisjoint(kwargs):
            future = self.client.submit(fn, *args, pure=False, **kwargs)
        else:  # a parameter named like a submit() keyword (key, workers, ...) must reach fn
            future = self.client.submit(functools.partial(fn, *args, **kwargs), pure=False)
        try:
            return await future
        except asyncio.CancelledError:
            await self.client.cancel([future], reason="adf: the component was cancelled")
            raise

    async def close(self) -> None:
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        try:
            if client is not None:
                await client.close()
        finally:
            if cluster is not None:
                await cluster.close()
