"""The state of one run of a plan, shared by the scheduler, the attempts and the pumps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from adf_core.engine.data_warnings import RunWarnings, check_routes
from adf_core.engine.definition import render
from adf_core.engine.events import RunEvents
from adf_core.engine.executors.per_run import RunExecutors
from adf_core.engine.plan import Plan, PlannedComponent
from adf_core.engine.rejects import RunRejects, bound_datasets, static_records
from adf_core.engine.run_info import RunInfo
from adf_core.engine.streams import Stream


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
        self.streams: dict[str, Stream] = {}
        self.collected: dict[str, list[Any]] = {}
        self.loop = asyncio.get_running_loop()
        limit = self.defaults.max_concurrency
        self.semaphore = asyncio.Semaphore(limit) if limit else None
        self.events = RunEvents(run_id)
        self.executors = RunExecutors(plan, self.events)
        self.tg: asyncio.TaskGroup | None = None  # the run's task group, for stream pumps
        self.warnings = RunWarnings(self.defaults.strict, self.events.warning)
        self.rejects = RunRejects(
            {c.alias: (c.on_error, c.max_errors) for c in plan.components},
            self.defaults.dead_letter, run_id,
            lambda: {c.alias: c.options for c in plan.components})
        self.rejects.records_read = self.records_read
        #: alias -> records in its inputs so far (kept for fractional ``max_errors`` only)
        self.input_sizes: dict[str, Callable[[], int]] = {}
        self.info = RunInfo(run_id=run_id, flow=render(plan.root), started_at=time.time(),
                            peers=plan.peers, can_start=self.can_start,
                            progress=self.progress, rejects=self.rejects,
                            warnings=self.warnings)

    def progress(self) -> dict[str, int]:
        """Records each streaming component has produced so far."""
        return {alias: stream.records for alias, stream in list(self.streams.items())}

    def can_start(self) -> bool:
        """No limit is exhausted: a pending or queued component could start now."""
        if self.semaphore is not None and self.semaphore.locked():
            return False
        return self.plan.threads.busy() < self.defaults.max_threads

    def check_outcome(self, comp: PlannedComponent, value: Any = None) -> None:
        """Before a component counts as finished: its error budget (a fraction needs the
        whole input), and the groups a routing component returned that nobody reads."""
        if comp.max_errors is not None and isinstance(comp.max_errors, float):
            produced = None if comp.streaming else static_records(value)
            self.rejects.check_budget(comp.alias, produced)
        if comp.routes and isinstance(value, dict):
            check_routes(self.plan, self.warnings, comp, value)

    def capture_inputs(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any]
                       ) -> None:
        """Remember how to count the records ``comp`` reads (for a fractional budget)."""
        values = bound_datasets(comp.binding.names, args, kwargs)
        if not values:
            return  # a source: it reads what it produces, plus what it rejects
        streams = [v for v in values if isinstance(v, Stream)]
        fixed = sum(static_records(v) for v in values if not isinstance(v, Stream))
        self.input_sizes[comp.alias] = lambda: fixed + sum(s.records for s in streams)

    def records_read(self, alias: str, produced: int | None) -> int:
        """Records ``alias`` read so far: its inputs, or for a source what it produced plus
        what it rejected."""
        inputs = self.input_sizes.get(alias)
        if inputs is not None:
            return inputs()
        stream = self.streams.get(alias)
        made = stream.records if stream is not None else (produced or 0)
        return made + self.rejects.count(alias)

    @staticmethod
    def where(comp: PlannedComponent) -> str:
        """Where a component runs, as events name it: ``loop`` or its executor."""
        return "loop" if comp.is_async else comp.executor
