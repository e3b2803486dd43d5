"""Run a plan: stages in order, parallel groups under task groups.

Every task has an owner that waits for it. A failure cancels the running siblings and
later stages never start; the flow raises once every task it started has ended, with every
simultaneous failure reported. One component's calls are :mod:`adf_core.engine.attempts`,
streams are :mod:`adf_core.engine.pumps`.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any

from adf_core.engine.attempts import Attempts
from adf_core.engine.definition import Leaf, Node, Parallel, Sequence
from adf_core.engine.outcomes import cancelling, flatten, pick_error
from adf_core.engine.plan import Plan, PlannedComponent
from adf_core.engine.pumps import Pumps
from adf_core.engine.rejects import RunRejects
from adf_core.engine.result import FlowResult
from adf_core.engine.run_info import (
    register_run,
    reset_current_run,
    set_current_run,
    unregister_run,
)
from adf_core.engine.run_state import RunState
from adf_core.engine.streams import Stream
from adf_core.engine.taskgroups import TaskGroup
from adf_core.errors import FlowError, MissingInputError


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
            args, kwargs = comp.binding.bind(ctx, upstream)
        except MissingInputError as exc:
            run.info.settle(comp.alias, "failed")
            run.events.failed(comp, run.where(comp), 0, time.perf_counter(), exc)
            raise
        if comp.max_errors is not None and run.rejects.fractional(comp.alias):
            run.capture_inputs(comp, args, kwargs)
        if comp.stream_inputs:
            pumps.attach_readers(comp, args, kwargs)
        elif run.plan.has_streams:
            pumps.reject_foreign_streams(comp, args, kwargs)
        if comp.streaming:
            if not comp.subscribers:
                return await pumps.drain(comp, args, kwargs)
            return pumps.start(comp, args, kwargs)
        try:
            # Stream readers are not counted: holding a slot while a fan-out sibling waits
            # for one would stall the shared producer.
            if run.semaphore is None or comp.stream_inputs:
                return await self.attempts(comp, args, kwargs)
            async with run.semaphore:
                return await self.attempts(comp, args, kwargs)
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
    """Run ``plan`` once with ``params`` as the initial context."""
    run = RunState(plan, params or {}, run_id or uuid.uuid4().hex[:12])
    scheduler = _Scheduler(run)
    events = run.events
    token = set_current_run(run.info)
    register_run(run.info)
    started = time.perf_counter()
    if events.info_on:
        events.event("flow.started", flow=run.info.flow)
    status = "failed"
    rejects = run.rejects
    try:
        rejects.open()
        try:
            async with TaskGroup() as tg:
                run.tg = tg
                await scheduler.top(plan.root)
        except BaseExceptionGroup as group:
            error = pick_error(plan, flatten(group))
            if cancelling() and not isinstance(error, asyncio.CancelledError):
                # Cancelled from outside: that is the outcome; what failed meanwhile is logged.
                events.warning("flow.cancelled", error=str(error))
                raise asyncio.CancelledError() from error
            raise error from error.__cause__
        status = "succeeded"
    except asyncio.CancelledError:
        status = "cancelled"
        raise
    finally:
        reset_current_run(token)
        unregister_run(run.info)
        await run.executors.close()
        finish_rejects(rejects, status)
        events.finished_flow(status, started)
    ctx = run.ctx
    for alias, items in run.collected.items():
        if isinstance(ctx.get(alias), Stream):
            ctx[alias] = items
    return FlowResult(ctx, run.outputs, run.timings, run.counts, run.run_id,
                      rejected=rejects.counts(), warnings=list(run.warnings.items),
                      dead_letters=rejects.dead_letters())


def finish_rejects(rejects: RunRejects, status: str) -> None:
    """Write the dead-letter file at the end of every run (a failed one too: it then holds
    what was rejected before the failure). A failure to write it fails a run that succeeded."""
    try:
        rejects.write()
    except FlowError as exc:
        if status == "succeeded":
            raise
        rejects.close()
        current = sys.exc_info()[1]
        if current is not None:
            current.add_note(str(exc))
