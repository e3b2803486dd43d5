"""Run a plan: stages in order, parallel groups under task groups.

Every task has an owner that waits for it. A failure cancels the running siblings and
later stages never start; the flow raises once every task it started has ended, with every
simultaneous failure reported. One component's calls are :mod:`adf_core.engine.attempts`,
streams are :mod:`adf_core.engine.pumps`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Any

from adf_core.data.arrow import default_batch_format, reset_batch_format, use_batch_format
from adf_core.engine import seams
from adf_core.engine.attempts import Attempts
from adf_core.engine.definition import Leaf, Node, Parallel, Sequence
from adf_core.engine.outcomes import cancelling, flatten, pick_error
from adf_core.engine.plan import Plan, PlannedComponent
from adf_core.engine.pumps import Pumps
from adf_core.engine.rejects import RunRejects
from adf_core.engine.report import after_run_upstream, build_report
from adf_core.engine.result import FlowResult, RecordTable
from adf_core.engine.run_info import (
    register_run,
    reset_current_run,
    set_current_run,
    unregister_run,
)
from adf_core.engine.run_state import RunState
from adf_core.engine.streams import Stream
from adf_core.engine.taskgroups import TaskGroup
from adf_core.errors import ComponentError, FlowError, MissingInputError
from adf_core.observe.lifecycle import Observers


def _equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


Outcome = tuple[dict[str, Any], dict[str, Any], dict[str, str]]


class _Scheduler:
    """Runs the stages of one run: sequences in order, parallel groups concurrently."""

    def __init__(self, run: RunState) -> None:
        self.run = run
        self.pumps = Pumps(run)
        self.attempts = Attempts(run, self.pumps.release_inputs)

    async def top(self, root: Sequence) -> None:
        run = self.run
        ctx = run.ctx
        upstream: dict[str, Any] = {}
        statuses = run.info.statuses
        for index, child in enumerate(root.children, start=1):
            if run.events.info_on:
                run.events.event("stage.started", stage=index)
            if run.observers is not None:
                run.observers.stage_started(run.info, index, tuple(
                    c.alias for c in run.plan.components if c.stage == index and not c.after_run))
            if not isinstance(child, Leaf):
                for alias in run.plan.stage_members[index - 1]:
                    statuses[alias] = "pending"
            if isinstance(child, Leaf):
                value = await self.leaf(child.component, ctx, upstream)
                alias = child.alias
                if isinstance(value, dict):
                    ctx.update(value)
                elif value is not None:
                    ctx[alias] = value
                upstream = {alias: value}
            else:
                upstream, delta, _ = await self.node(child, ctx, upstream)
                ctx.update(delta)

    async def node(self, node: Node, ctx: dict[str, Any], upstream: dict[str, Any]) -> Outcome:
        """Run a node; return (outputs for the next upstream, context delta, key origins)."""
        if isinstance(node, Leaf):
            value = await self.leaf(node.component, ctx, upstream)
            return {node.alias: value}, _delta(node.alias, value), {}
        if isinstance(node, Parallel):
            return await self.parallel(node, ctx, upstream)
        return await self.sequence(node, ctx, upstream)

    async def sequence(self, node: Sequence, ctx: dict[str, Any], upstream: dict[str, Any]
                       ) -> Outcome:
        local = dict(ctx)
        delta: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for child in node.children:
            upstream, child_delta, child_origins = await self.node(child, local, upstream)
            local.update(child_delta)
            delta.update(child_delta)
            for key in child_delta:
                origins[key] = child_origins.get(key) or _alias_of(child)
        return upstream, delta, origins

    async def parallel(self, node: Parallel, ctx: dict[str, Any], upstream: dict[str, Any]
                       ) -> Outcome:
        children = node.children
        async with TaskGroup() as tg:
            tasks = [
                tg.create_task(self.leaf(child.component, ctx, upstream))
                if isinstance(child, Leaf)
                else tg.create_task(self.node(child, ctx, upstream))
                for child in children
            ]
        outputs: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for child, task in zip(children, tasks, strict=True):
            if isinstance(child, Leaf):
                value = task.result()
                outputs[child.alias] = value
                delta = _delta(child.alias, value)
                child_origins: dict[str, str] = {}
            else:
                child_outputs, delta, child_origins = task.result()
                outputs.update(child_outputs)
            for key, value in delta.items():
                who = child_origins.get(key) or _alias_of(child)
                if key in merged and not _equal(merged[key], value):
                    raise FlowError(
                        f"components {origins[key]!r} and {who!r} run in one parallel group and "
                        f"returned different values for {key!r}; rename one key, or run them "
                        "one after the other")
                merged[key] = value
                origins[key] = who
        return outputs, merged, origins

    async def leaf(self, comp: PlannedComponent, ctx: dict[str, Any],
                   upstream: dict[str, Any]) -> Any:
        run = self.run
        pumps = self.pumps
        try:
            args, kwargs = comp.binding.bind(ctx, upstream, None, run.state_of(comp))
        except MissingInputError as exc:  # it never started: observers see it fail at once
            run.info.settle(comp.alias, "failed")
            run.events.failed(comp, run.where(comp), 0, time.perf_counter(), exc)
            run.ended(comp, "failed", 0.0, 0, 0, attempt=0, error=exc)
            raise
        if comp.stream_inputs:
            pumps.attach_readers(comp, args, kwargs)
        elif run.plan.has_streams:
            pumps.reject_foreign_streams(comp, args, kwargs)
        if comp.streaming:
            if not comp.subscribers:
                return await pumps.drain(comp, args, kwargs, ctx)
            return pumps.start(comp, args, kwargs, ctx)
        try:
            # Stream readers are not counted: holding a slot while a fan-out sibling waits
            # for one would stall the shared producer.
            if run.semaphore is None or comp.stream_inputs:
                return await self.attempts(comp, args, kwargs, ctx)
            async with run.semaphore:
                return await self.attempts(comp, args, kwargs, ctx)
        finally:
            if comp.stream_inputs:
                pumps.release_inputs(comp)


def _alias_of(node: Node) -> str:
    return node.alias if isinstance(node, Leaf) else "?"


def _delta(alias: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return {} if value is None else {alias: value}


async def execute(plan: Plan, params: Mapping[str, Any] | None, run_id: str | None = None
                  ) -> FlowResult:
    """Run ``plan`` once with ``params`` as the initial context, then its after-run
    components (on success and on failure)."""
    run = RunState(plan, params or {}, run_id or uuid.uuid4().hex[:12])
    scheduler = _Scheduler(run)
    events = run.events
    observed = seams.observers(run.run_id)
    if observed:
        run.observers = Observers(observed, run.run_id)
    token = set_current_run(run.info)
    format_token = use_batch_format(plan.defaults.batch_format or default_batch_format())
    register_run(run.info)
    started = time.perf_counter()
    if events.info_on:
        events.event("flow.started", flow=run.info.flow)
    if run.observers is not None:
        run.observers.run_started(run.info)
    failure: BaseException | None = None
    report: Mapping[str, Any] | None = None
    after_errors: list[ComponentError] = []
    rejects = run.rejects
    try:
        try:
            # a dead-letter path that cannot be written fails the run before anything runs
            rejects.open()
            if run.info.states is not None:
                await asyncio.to_thread(run.info.states.load)
            try:
                async with TaskGroup() as tg:
                    run.tg = tg
                    await scheduler.top(plan.root)
            except BaseExceptionGroup as group:
                error = pick_error(plan, flatten(group))
                if cancelling() and not isinstance(error, asyncio.CancelledError):
                    # Cancelled from outside: that is the outcome; what failed meanwhile is
                    # logged.
                    events.warning("flow.cancelled", error=str(error))
                    raise asyncio.CancelledError() from error
                raise error from error.__cause__
        except (Exception, asyncio.CancelledError) as exc:
            failure = exc
        failure = finish_rejects(rejects, failure)
        if failure is None and run.info.states is not None:
            failure = await save_states(run)
        # The report's error line is hidden by the run's redactor before an after-run
        # component (a webhook) or an observer sees it.
        report = build_report(run, "failed" if failure is not None else "succeeded", failure,
                              time.perf_counter() - started,
                              run.redactor.text if failure is not None else None)
        if plan.after_run:
            after_errors = await _after_run(scheduler, report)
    finally:
        rejects.close()
        reset_current_run(token)
        reset_batch_format(format_token)
        unregister_run(run.info)
        await run.executors.close()
        status = "failed" if failure is not None or report is None else "succeeded"
        events.finished_flow(status, started, report["error"] if report else None)
        if run.observers is not None and report is not None:
            run.observers.run_finished(run.info, report)
    if failure is not None:
        # What a caller (the CLI's --json) may still want to know about a failed run.
        known = {"run_id": run.run_id, "report": report, "records": RecordTable(run.records),
                 "timings": run.timings, "after_run_errors": after_errors,
                 "warnings": list(run.warnings.items)}
        for name, value in known.items():
            setattr(failure, name, value)
        for error in after_errors:
            failure.add_note(f"after the run: {error}")
        raise failure
    ctx = run.ctx
    for alias, items in run.collected.items():
        if isinstance(ctx.get(alias), Stream):
            ctx[alias] = items
    for comp in plan.after_run:  # their returns land in the context like a last stage's
        if comp.alias in run.outputs:
            ctx.update(_delta(comp.alias, run.outputs[comp.alias]))
    return FlowResult(ctx, run.outputs, run.timings, run.counts, run.run_id, run.records,
                      report, after_errors, warnings=list(run.warnings.items),
                      dead_letters=rejects.dead_letters())


async def _after_run(scheduler: _Scheduler, report: Mapping[str, Any]) -> list[ComponentError]:
    """Run the after-run components, concurrently, in a task of their own (so that a flow
    cancelled from outside still tells its status; a second cancel stops them too). Their
    failures are logged and returned, never raised."""
    run = scheduler.run
    if run.events.info_on:
        run.events.event("stage.started", stage=run.plan.after_run[0].stage, after_run=True)
    if run.observers is not None:
        run.observers.stage_started(run.info, run.plan.after_run[0].stage,
                                    tuple(comp.alias for comp in run.plan.after_run))

    async def one(comp: PlannedComponent) -> ComponentError | None:
        try:
            upstream = after_run_upstream(run, comp.after_upstream)
            args, kwargs = comp.binding.bind(run.ctx, upstream, report)
        except MissingInputError as exc:
            run.info.settle(comp.alias, "failed")
            run.events.failed(comp, run.where(comp), 0, time.perf_counter(), exc)
            run.ended(comp, "failed", 0.0, 0, 0, attempt=0, error=exc)
            return ComponentError(comp.alias, comp.stage, 0, exc, comp.position)
        try:
            if comp.streaming:
                await scheduler.pumps.drain(comp, args, kwargs, run.ctx)
            else:
                await scheduler.attempts(comp, args, kwargs, run.ctx)
        except ComponentError as exc:
            return exc
        return None

    async def all_of_them() -> list[ComponentError]:
        found = await asyncio.gather(*(one(comp) for comp in run.plan.after_run))
        return [error for error in found if error is not None]

    return await asyncio.get_running_loop().create_task(all_of_them())


async def save_states(run: RunState) -> BaseException | None:
    """Save the components' states once every destination committed; a store that cannot
    be written fails the run (the data is committed: the next run reads it again)."""
    from adf_core.data.state_store import StateStoreError

    try:
        await asyncio.to_thread(run.info.states.save)
    except StateStoreError as exc:
        return FlowError(f"{exc}; the data of this run was committed, the next run reads it "
                         "again")
    return None


def finish_rejects(rejects: RunRejects, failure: BaseException | None
                   ) -> BaseException | None:
    """Write the dead-letter file at the end of every run (a failed one too: it then holds
    what was rejected before the failure). A failure to write it fails a run that succeeded;
    a run that failed already keeps its error, with a note. Returns the run's failure."""
    try:
        rejects.write()
    except FlowError as exc:
        if failure is None:
            return exc
        failure.add_note(str(exc))
    return failure
