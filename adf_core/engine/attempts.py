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
from collections.abc import AsyncIterator, Callable
from typing import Any

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

    async def __call__(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any]
                       ) -> Any:
        run = self.run
        events = run.events
        info = run.info
        alias = comp.alias
        retries = 0 if comp.stream_inputs else comp.retries
        attempt = 1
        started = time.perf_counter()
        statuses = info.statuses
        while True:
            statuses[alias] = "running"
            if events.info_on:
                events.event("component.started", stage=comp.stage, component=alias,
                             attempt=attempt, executor=run.where(comp))
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
                raise
            except Exception as exc:
                consequence = caused_by(exc, RunAborted)
                if attempt <= retries and not consequence and not cancelling() \
                        and not caused_by(exc, RunPolicyError):
                    info.settle(alias, "retrying")
                    run.rejects.restart(alias)  # the next attempt reads everything again
                    delay = self.backoff(attempt)
                    events.failed(comp, run.where(comp), attempt, attempt_started, exc,
                                  retrying=delay)
                    await asyncio.sleep(delay)
                    attempt += 1
                    continue
                events.failed(comp, run.where(comp), attempt, attempt_started, exc,
                              consequence=consequence)
                info.settle(alias, "failed")
                raise ComponentError(alias, comp.stage, attempt, exc, comp.position) from exc
            now = time.perf_counter()
            run.timings[alias] = now - started
            run.outputs[alias] = value
            info.settle(alias, "finished")
            if events.info_on:
                events.event("component.finished", stage=comp.stage, component=alias,
                             attempt=attempt, executor=run.where(comp),
                             duration_ms=round((now - attempt_started) * 1000, 3),
                             start=time.time() - (now - attempt_started),
                             thread=where[0] if where else None, items=None,
                             records_rejected=run.rejects.count(alias))
            return value

    def backoff(self, attempt: int) -> float:
        ceiling = min(30.0, self.run.defaults.retry_delay * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

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
        notice = self.cancel_notice(comp, limit)
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

    def cancel_notice(self, comp: PlannedComponent, limit: asyncio.Timeout | None = None
                      ) -> Callable[[], None]:
        """What to do when a running sync component is cancelled: it cannot be interrupted."""
        run = self.run

        def notice() -> None:
            # Its own timeout is no failure of the run yet (a retry may follow); anything
            # else that cancels a running component is.
            timed_out = limit is not None and limit.expired()
            run.info.settle(comp.alias, "timing-out" if timed_out else "cancelled")
            if comp.stream_inputs:
                self.release_inputs(comp, abort=True)
            run.events.waiting(comp, run.defaults.thread_grace)
        return notice

    def in_pool_thread(self, where: list[str | None] | None, alias: str,
                       fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        threads = self.run.plan.threads
        key = threads.entered()
        self.run.info.statuses[alias] = "running"
        try:
            return call_as(where, alias, fn, args, kwargs)
        finally:
            threads.left(key)


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
