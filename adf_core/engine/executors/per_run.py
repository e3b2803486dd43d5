"""The executors of one run: created on first use, closed when the run ends."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from adf_core.engine.executors import Executor, get_factory

if TYPE_CHECKING:
    from adf_core.engine.events import RunEvents
    from adf_core.engine.plan import Plan


class RunExecutors:
    """One executor per name and run; the ``threads`` executor uses the flow's own pool."""

    def __init__(self, plan: Plan, events: RunEvents) -> None:
        self.plan = plan
        self.events = events
        self.started: dict[str, Executor] = {}
        self._lock = asyncio.Lock()

    async def get(self, name: str) -> Executor:
        executor = self.started.get(name)
        if executor is not None:
            return executor
        async with self._lock:
            executor = self.started.get(name)
            if executor is None:
                defaults = self.plan.defaults
                # The flow owns its thread pool; the executor looks it up on every call, so
                # a pool replaced after an abandoned thread is never used again.
                threads = self.plan.threads
                extra: dict[str, Any] = {"pool": threads.pool, "on_abandon": threads.discard} \
                    if name == "threads" else {}
                executor = get_factory(name)(max_workers=defaults.max_threads,
                                             grace=defaults.thread_grace,
                                             address=defaults.executor_address, **extra)
                await executor.start()
                self.started[name] = executor
        return executor

    async def close(self) -> None:
        for executor in self.started.values():
            try:
                await executor.close()
            except Exception as exc:  # close the others all the same; never mask the outcome
                self.events.error("executor.close_failed", executor=executor.name,
                                  error=str(exc))
