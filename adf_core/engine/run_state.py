"""The state of one run of a plan, shared by the scheduler, the attempts and the pumps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from adf_core.engine.events import RunEvents
from adf_core.engine.executors.per_run import RunExecutors
from adf_core.engine.plan import Plan, PlannedComponent
from adf_core.engine.run_info import RunInfo
from adf_core.engine.streams import Stream
from adf_core.observe.lifecycle import Observers


class RunState:
    """What one run knows: its context and outputs, streams, limits, events and executors."""

    def __init__(self, plan: Plan, params: Mapping[str, Any], run_id: str) -> None:
        self.plan = plan
        self.defaults = plan.defaults
        self.run_id = run_id
        self.ctx: dict[str, Any] = dict(params)
        self.outputs: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        #: alias -> (records in, records out, records rejected), as components end
        self.records: dict[str, tuple[int, int, int]] = {}
        #: alias -> how it ended when not succeeded: failed or cancelled (a component with
        #: records and no entry here succeeded)
        self.ended_as: dict[str, str] = {}
        self.streams: dict[str, Stream] = {}
        self.collected: dict[str, list[Any]] = {}
        self.loop = asyncio.get_running_loop()
        limit = self.defaults.max_concurrency
        self.semaphore = asyncio.Semaphore(limit) if limit else None
        self.events = RunEvents(run_id)
        self.executors = RunExecutors(plan, self.events)
        self.tg: asyncio.TaskGroup | None = None  # the run's task group, for stream pumps
        #: the run's observers (None: nobody observes, and no work is done for them)
        self.observers: Observers | None = None
        self.info = RunInfo(run_id=run_id, flow=plan.expression, started_at=time.time(),
                            peers=plan.peers, can_start=self.can_start,
                            progress=self.progress)

    def progress(self) -> dict[str, int]:
        """Records each streaming component has produced so far."""
        return {alias: stream.records for alias, stream in list(self.streams.items())}

    def can_start(self) -> bool:
        """No limit is exhausted: a pending or queued component could start now."""
        if self.semaphore is not None and self.semaphore.locked():
            return False
        return self.plan.threads.busy() < self.defaults.max_threads

    def ended(self, comp: PlannedComponent, status: str, seconds: float, records_in: int,
              records_out: int, rejected: int = 0) -> None:
        """A component ended (``succeeded``, ``failed`` or ``cancelled``): keep its records and
        tell the observers."""
        self.records[comp.alias] = (records_in, records_out, rejected)
        if status != "succeeded":
            self.ended_as[comp.alias] = status
            self.timings.setdefault(comp.alias, seconds)
        observers = self.observers
        if observers is not None:
            observers.component_finished(self.info, comp.alias, status, seconds, records_in,
                                         records_out)

    @staticmethod
    def where(comp: PlannedComponent) -> str:
        """Where a component runs, as events name it: ``loop`` or its executor."""
        return "loop" if comp.is_async else comp.executor
