"""The state of one run of a plan, shared by the scheduler, the attempts and the pumps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from adf_core.engine.acks import AckBook
from adf_core.engine.counting import records_out
from adf_core.engine.data_warnings import RunWarnings, check_routes
from adf_core.engine.events import RunEvents
from adf_core.engine.executors.per_run import RunExecutors
from adf_core.engine.markers import declared_secrets
from adf_core.engine.plan import Plan, PlannedComponent
from adf_core.engine.rejects import RunRejects
from adf_core.engine.run_info import RunInfo
from adf_core.engine.streams import Stream
from adf_core.observe.lifecycle import Observers
from adf_core.observe.secrets import MASK, Redactor


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
        #: alias -> records in the datasets it was handed when it started (what it reads from
        #: streams is counted by its channels)
        self.handed: dict[str, int] = {}
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
        self.warnings = RunWarnings(self.defaults.strict, self.events.warning)
        self.params = params
        self._redactor: Redactor | None = None
        self.rejects = RunRejects(
            {c.alias: (c.on_error, c.max_errors) for c in plan.components},
            self.defaults.dead_letter, run_id, lambda: self.redactor)
        self.rejects.records_read = self.records_read
        self.info = RunInfo(run_id=run_id, flow=plan.expression, started_at=time.time(),
                            peers=plan.peers, can_start=self.can_start,
                            progress=self.progress, rejects=self.rejects,
                            warnings=self.warnings, states=_states(plan, run_id),
                            acks=AckBook(self), redact=self.redact,
                            describe=self.describe)
        if self.info.states is not None:
            self.info.states.statuses = self.info.statuses

    def state_of(self, comp: PlannedComponent) -> dict[str, Any] | None:
        """The ``state`` a component receives: its own saved state, when it keeps state."""
        states = self.info.states
        if states is None or not comp.keeps_state:
            return None
        found: dict[str, Any] = states.of(comp.alias)
        return found

    @property
    def redactor(self) -> Redactor:
        """The run's redactor: the secrets of its options (by name, declared
        ``component(secrets=[...])``, URL passwords, credential headers) and of its string
        params. It hides them in the report and the dead letters; built on first use, so a
        run that has nothing to hide them from pays nothing for it."""
        if self._redactor is None:
            redactor = Redactor()
            components = self.plan.components
            redactor.learn({c.alias: dict(c.options) for c in components},
                           {c.alias: declared_secrets(c.fn) for c in components})
            redactor.learn({"params": {k: v for k, v in self.params.items()
                                       if isinstance(v, str)}})
            self._redactor = redactor
        return self._redactor

    def redact(self, text: str) -> str:
        """``text`` with the run's secrets hidden (``RunInfo.redact``, for observers)."""
        return self.redactor.text(text)

    def describe(self, alias: str) -> dict[str, Any]:
        """A component as observers may see it (``RunInfo.component``): secrets masked."""
        comp = self.plan.by_alias.get(alias)
        if comp is None:
            return {}
        redactor = self.redactor
        secret = declared_secrets(comp.fn)
        options = {key: MASK if key in secret and value not in (None, "")
                   else redactor.value(key, value) for key, value in comp.options.items()}
        return {"name": comp.name, "kind": "after_run" if comp.after_run else comp.kind,
                "stage": comp.stage, "executor": self.where(comp), "options": options}

    def progress(self) -> dict[str, int]:
        """Records each streaming component has produced so far."""
        return {alias: stream.records for alias, stream in list(self.streams.items())}

    def can_start(self) -> bool:
        """No limit is exhausted: a pending or queued component could start now."""
        if self.semaphore is not None and self.semaphore.locked():
            return False
        return self.plan.threads.busy() < self.defaults.max_threads

    def ended(self, comp: PlannedComponent, status: str, seconds: float, records_in: int,
              records_out: int, reported_rejected: int = 0, attempt: int = 1,
              error: BaseException | None = None) -> None:
        """A component ended (``succeeded``, ``failed`` or ``cancelled``): keep its records
        (the bad records it rejected through ``reject()`` added to any it reported itself)
        and tell the observers."""
        rejected = reported_rejected + self.rejects.count(comp.alias)
        self.records[comp.alias] = (records_in, records_out, rejected)
        if status != "succeeded":
            self.ended_as[comp.alias] = status
            self.timings.setdefault(comp.alias, seconds)
        observers = self.observers
        if observers is not None:
            observers.component_finished(self.info, comp.alias, status, seconds, records_in,
                                         records_out, attempt, error)

    def stream_records(self, comp: PlannedComponent) -> int:
        """The records a stream reader has taken from its streams so far."""
        total = 0
        for producer in comp.stream_inputs:
            stream = self.streams.get(producer)
            channel = stream.channels.get(comp.alias) if stream else None
            if channel is not None:
                total += channel.records
        return total

    def records_read(self, alias: str, produced: int | None = None) -> int:
        """The records ``alias`` read so far, what a fractional ``max_errors`` is a fraction
        of: its records in (the datasets it was handed, what it took from its streams); a
        component handed none (a source) read what it produced plus what it rejected."""
        comp = self.plan.by_alias[alias]
        read = self.handed.get(alias, 0) + self.stream_records(comp)
        if read:
            return read
        stream = self.streams.get(alias)
        made = stream.records if stream is not None else (produced or 0)
        return made + self.rejects.count(alias)

    def check_outcome(self, comp: PlannedComponent, value: Any = None) -> None:
        """Before a component counts as finished: its error budget (a fraction needs the
        whole input), and the groups a routing component returned that nobody reads."""
        if isinstance(comp.max_errors, float):
            produced = None if comp.streaming else records_out(value)[0]
            self.rejects.check_budget(comp.alias, produced)
        if comp.routes and isinstance(value, dict):
            check_routes(self.plan, self.warnings, comp, value)

    @staticmethod
    def where(comp: PlannedComponent) -> str:
        """Where a component runs, as events name it: ``loop`` or its executor."""
        return "loop" if comp.is_async else comp.executor


def _states(plan: Plan, run_id: str) -> Any:
    """The saved states of this run, when a component keeps state (loaded when it starts)."""
    if not plan.state_aliases or plan.defaults.name is None:
        return None
    from adf_core.data.state_store import store_url
    from adf_core.engine.saved_state import RunStates

    states = RunStates(plan.defaults.name, store_url(plan.defaults.state), plan.state_aliases,
                       run_id)
    states.destinations = plan.destinations
    return states
