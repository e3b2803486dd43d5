"""One component's attempts: where it is called, its timeout, its retries with backoff.

Each attempt is a new call (on the loop, in a pool thread, or on another executor); a
failure is retried after an exponential, jittered delay unless the run is failing or being
cancelled; the last failure becomes a ``ComponentError`` naming the alias and the attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from adf_core.engine.counting import records_in as records_in_args
from adf_core.engine.counting import records_out
from adf_core.engine.executors import run_in_own_thread
from adf_core.engine.outcomes import cancelling, caused_by
from adf_core.engine.plan import PlannedComponent
from adf_core.engine.reporting import reset_reporter, set_reporter
from adf_core.engine.run_info import set_current_component
from adf_core.engine.run_state import RunState
from adf_core.errors import ComponentError, RunAborted, RunPolicyError


class Attempts:
    """Calls components of one run, with retries and timeouts."""

    def __init__(self, run: RunState, release_inputs: Callable[..., None]) -> None:
        self.run = run
        self.release_inputs = release_inputs

    async def __call__(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any],
                       ctx: Mapping[str, Any] | None = None) -> Any:
        run = self.run
        events = run.events
        info = run.info
        alias = comp.alias
        retries = 0 if comp.stream_inputs else comp.retries
        attempt = 1
        started = time.perf_counter()
        statuses = info.statuses
        records_in = records_in_args(comp.binding, args, kwargs, ctx or {}) \
            if comp.counts_inputs else 0
        run.handed[alias] = records_in
        while True:
            statuses[alias] = "running"
            if events.info_on:
                events.event("component.started", stage=comp.stage, component=alias,
                             attempt=attempt, executor=run.where(comp))
            if run.observers is not None:
                run.observers.component_started(info, alias, attempt)
            attempt_started = time.perf_counter()
            where: list[str | None] | None = [None] if events.info_on and not comp.is_async \
                else None
            try:
                if comp.timeout is None:
                    value = await self.invoke(comp, args, kwargs, where)
                else:
                    async with deadline(comp.timeout) as limit:
                        value = await self.invoke(comp, args, kwargs, where, limit)
                run.check_outcome(comp, value)
            except asyncio.CancelledError:
                info.settle(alias, "cancelled")
                self.ended(comp, "cancelled", started, records_in, attempt)
                raise
            except Exception as exc:
                consequence = caused_by(exc, RunAborted)
                if attempt <= retries and not consequence and not cancelling() \
                        and not caused_by(exc, RunPolicyError):
                    info.settle(alias, "retrying")
                    run.rejects.restart(alias)  # the next attempt reads everything again
                    delay = backoff(run, attempt)
                    events.failed(comp, run.where(comp), attempt, attempt_started, exc,
                                  retrying=delay)
                    if run.observers is not None:
                        run.observers.component_retrying(info, alias, attempt, exc, delay)
                    await asyncio.sleep(delay)
                    attempt += 1
                    continue
                events.failed(comp, run.where(comp), attempt, attempt_started, exc,
                              consequence=consequence)
                info.settle(alias, "failed")
                self.ended(comp, "cancelled" if consequence else "failed", started, records_in,
                           attempt, exc)
                raise ComponentError(alias, comp.stage, attempt, exc, comp.position) from exc
            now = time.perf_counter()
            run.timings[alias] = now - started
            run.outputs[alias] = value
            info.settle(alias, "finished")
            if value is None:
                records, rejected = 0, 0
            else:
                records, rejected = records_out(value)
            rejected += run.rejects.count(alias)  # through reject(), beside what it reported
            if comp.stream_inputs:
                records_in += run.stream_records(comp)
            run.records[alias] = (records_in, records, rejected)  # and so: succeeded
            if events.info_on:
                events.event("component.finished", stage=comp.stage, component=alias,
                             attempt=attempt, executor=run.where(comp),
                             duration_ms=round((now - attempt_started) * 1000, 3),
                             start=time.time() - (now - attempt_started),
                             thread=where[0] if where else None, records_in=records_in,
                             records_out=records, records_rejected=rejected)
            if run.observers is not None:
                run.observers.component_finished(info, alias, "succeeded", now - started,
                                                 records_in, records, attempt)
            return value

    def ended(self, comp: PlannedComponent, status: str, started: float,
              records_in: int, attempt: int, error: BaseException | None = None) -> None:
        """A component failed or was cancelled: keep what it read, tell the observers."""
        if comp.stream_inputs:
            records_in += self.run.stream_records(comp)
        self.run.ended(comp, status, time.perf_counter() - started, records_in, 0,
                       attempt=attempt, error=error)

    async def invoke(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any],
                     where: list[str | None] | None = None,
                     limit: asyncio.Timeout | None = None) -> Any:
        if comp.is_async:
            token = set_reporter(comp.alias)  # reject() and warn() know who calls
            try:
                return await comp.fn(*args, **kwargs)
            finally:
                reset_reporter(token)
        run = self.run
        notice = CancelNotice(self, comp, limit)
        if comp.stream_inputs:
            # A stream reader lives as long as its stream: a thread of its own, never a
            # pool slot that its producer or a fan-out sibling might be waiting for.
            value = await run_in_own_thread(call_as, [where, comp.alias, comp.fn, args, kwargs],
                                            run.defaults.thread_grace, notice,
                                            name=f"adf-{comp.alias}")
        else:
            executor = await run.executors.get(comp.executor)
            if not executor.remote:
                run.info.statuses[comp.alias] = "queued"  # until a pool thread takes it
                value = await executor.call(self.in_pool_thread,
                                            [where, comp.alias, comp.fn, args, kwargs], {}, notice)
            else:
                value = await executor.call(comp.fn, args, kwargs, notice)
        if inspect.isawaitable(value):  # a plain callable that returned a coroutine
            value = await value
        return value

    def in_pool_thread(self, where: list[str | None] | None, alias: str,
                       fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        threads = self.run.plan.threads
        key = threads.entered()
        self.run.info.statuses[alias] = "running"
        try:
            return call_as(where, alias, fn, args, kwargs)
        finally:
            threads.left(key)


class CancelNotice:
    """What happens when a running sync component is cancelled: it cannot be interrupted.

    Called at once (its status is settled, its streams released); ``waiting()`` once it has
    outlived a short grace (``component.waiting``); ``abandoned()`` when it is given up.
    """

    __slots__ = ("attempts", "comp", "limit")

    def __init__(self, attempts: Attempts, comp: PlannedComponent,
                 limit: asyncio.Timeout | None = None) -> None:
        self.attempts = attempts
        self.comp = comp
        self.limit = limit

    def __call__(self) -> None:
        # Its own timeout is no failure of the run yet (a retry may follow); anything
        # else that cancels a running component is.
        run = self.attempts.run
        timed_out = self.limit is not None and self.limit.expired()
        run.info.settle(self.comp.alias, "timing-out" if timed_out else "cancelled")
        if self.comp.stream_inputs:
            self.attempts.release_inputs(self.comp, abort=True)

    def waiting(self) -> None:
        run = self.attempts.run
        run.events.waiting(self.comp, run.defaults.thread_grace)

    def abandoned(self) -> None:
        run = self.attempts.run
        run.events.abandoned(self.comp, run.defaults.thread_grace)


def backoff(run: RunState, attempt: int) -> float:
    """The delay before retry number ``attempt``: exponential from ``retry_delay``, with
    jitter, at most 30 s."""
    ceiling = min(30.0, run.defaults.retry_delay * (2 ** (attempt - 1)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


@contextlib.asynccontextmanager
async def deadline(seconds: float | None) -> AsyncIterator[asyncio.Timeout]:
    """``asyncio.timeout(seconds)`` whose expiry says which limit ran out; a TimeoutError the
    component raised itself (a socket timeout, say) passes unchanged."""
    limit = asyncio.timeout(seconds)
    try:
        async with limit:
            yield limit
    except TimeoutError:
        if limit.expired():
            raise TimeoutError(f"timed out after {seconds} s") from None
        raise


def call_as(where: list[str | None] | None, alias: str, fn: Callable[..., Any],
            args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Run a sync component in its thread (a copied context), knowing its own alias."""
    set_current_component(alias)
    if where is not None:
        where[0] = threading.current_thread().name
    return fn(*args, **kwargs)
