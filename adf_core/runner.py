"""Run a plan: stages in order, parallel groups under TaskGroups, streams through pumps.

Every task has an owner that waits for it. A failure cancels the running siblings and
later stages never start; the flow raises once every task it started has ended, with every
simultaneous failure reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from types import MappingProxyType
from typing import Any

from adf_core.definition import Leaf, Node, Parallel, Sequence, render
from adf_core.errors import ComponentError, FlowError, MissingInputError, RunAborted
from adf_core.executors import Executor, get_factory, run_in_own_thread
from adf_core.plan import Plan, PlannedComponent
from adf_core.result import FlowResult
from adf_core.run_info import (
    RunInfo,
    register_run,
    set_current_component,
    set_current_run,
    unregister_run,
)
from adf_core.streams import AnyChannel, Channel, ConsumerGone, LoopChannel, Stream
from adf_core.tracing import run_logger


class _TaskGroup(asyncio.TaskGroup):
    """asyncio.TaskGroup, with the ``uncancel()`` that Python 3.11 forgets when a child
    fails while ``__aexit__`` is already waiting (fixed in 3.12). Without it the parent
    task keeps a phantom cancellation, and an outside cancel cannot be told from a failure.
    """

    async def __aexit__(self, et: Any, exc: Any, tb: Any) -> Any:
        requested_before = self._parent_cancel_requested  # type: ignore[attr-defined]
        try:
            return await super().__aexit__(et, exc, tb)
        finally:
            if (_NEEDS_UNCANCEL and not requested_before
                    and self._parent_cancel_requested):  # type: ignore[attr-defined]
                self._parent_task.uncancel()  # type: ignore[attr-defined]


_NEEDS_UNCANCEL = sys.version_info < (3, 12)


def _equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


class _Run:
    """The state of one run of a plan."""

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
        self.executors: dict[str, Executor] = {}
        self.executor_lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop()
        limit = self.defaults.max_concurrency
        self.semaphore = asyncio.Semaphore(limit) if limit else None
        self.log, self.info_on = run_logger(run_id)
        self.tg: asyncio.TaskGroup | None = None
        self.info = RunInfo(run_id=run_id, flow=render(plan.root), started_at=time.time(),
                            peers=plan.peers, can_start=self.can_start,
                            progress=self.progress)

    def progress(self) -> dict[str, int]:
        """Records each streaming component has produced so far."""
        return {alias: stream.records for alias, stream in list(self.streams.items())}

    def can_start(self) -> bool:
        """No limit is exhausted: a pending or queued component could start now."""
        if self.semaphore is not None and self.semaphore.locked():
            return False
        return self.plan.threads_busy() < self.defaults.max_threads

    # events ------------------------------------------------------------------------------
    def event(self, name: str, **fields: Any) -> None:
        if self.info_on:
            self.log.info(name, **fields)

    # executors ---------------------------------------------------------------------------
    async def executor(self, name: str) -> Executor:
        executor = self.executors.get(name)
        if executor is None:
            async with self.executor_lock:
                executor = self.executors.get(name)
                if executor is None:
                    factory = get_factory(name)
                    # The flow owns its thread pool; the executor looks it up on every call,
                    # so a pool replaced after an abandoned thread is never used again.
                    extra: dict[str, Any] = {"pool": self.plan.thread_pool,
                                             "on_abandon": self.plan.discard_pool} \
                        if name == "threads" else {}
                    executor = factory(max_workers=self.defaults.max_threads,
                                       grace=self.defaults.thread_grace,
                                       address=self.defaults.executor_address, **extra)
                    await executor.start()
                    self.executors[name] = executor
        return executor

    async def close_executors(self) -> None:
        for executor in self.executors.values():
            try:
                await executor.close()
            except Exception as exc:  # close the others all the same; never mask the outcome
                if self.log is not None:
                    self.log.error("executor.close_failed", executor=executor.name, error=str(exc))

    # tree --------------------------------------------------------------------------------
    async def top(self, root: Sequence) -> None:
        ctx = self.ctx
        upstream: dict[str, Any] = {}
        statuses = self.info.statuses
        for index, child in enumerate(root.children, start=1):
            if self.info_on:
                self.event("stage.started", stage=index)
            if not isinstance(child, Leaf):
                for alias in self.plan.stage_members[index - 1]:
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

    async def node(self, node: Node, ctx: dict[str, Any], upstream: dict[str, Any]
                   ) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
        """Run a node; return (outputs for the next upstream, context delta, key origins)."""
        if isinstance(node, Leaf):
            value = await self.leaf(node.component, ctx, upstream)
            return {node.alias: value}, _delta(node.alias, value), {}
        if isinstance(node, Parallel):
            return await self.parallel(node, ctx, upstream)
        return await self.sequence(node, ctx, upstream)

    async def sequence(self, node: Sequence, ctx: dict[str, Any], upstream: dict[str, Any]
                       ) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
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
                       ) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
        children = node.children
        async with _TaskGroup() as tg:
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

    # components --------------------------------------------------------------------------
    async def leaf(self, comp: PlannedComponent, ctx: dict[str, Any],
                   upstream: dict[str, Any]) -> Any:
        try:
            args, kwargs = comp.binding.bind(ctx, upstream)
        except MissingInputError as exc:
            self.info.settle(comp.alias, "failed")
            self.failed_event(comp, 0, time.perf_counter(), exc)
            raise
        if comp.stream_inputs:
            self.attach_readers(comp, args, kwargs)
        elif self.plan.has_streams:
            self.reject_foreign_streams(comp, args, kwargs)
        if comp.streaming:
            if not comp.subscribers:
                return await self.drain_stream(comp, args, kwargs)
            return self.start_stream(comp, args, kwargs)
        try:
            # Stream readers are not counted: holding a slot while a fan-out sibling waits
            # for one would stall the shared producer.
            if self.semaphore is None or comp.stream_inputs:
                return await self.attempts(comp, args, kwargs)
            async with self.semaphore:
                return await self.attempts(comp, args, kwargs)
        finally:
            if comp.stream_inputs:
                self.release_inputs(comp)

    async def attempts(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any]
                       ) -> Any:
        alias = comp.alias
        retries = 0 if comp.stream_inputs else comp.retries
        attempt = 1
        started = time.perf_counter()
        statuses = self.info.statuses
        while True:
            statuses[alias] = "running"
            if self.info_on:
                self.event("component.started", stage=comp.stage, component=alias,
                           attempt=attempt, executor=self.where(comp))
            attempt_started = time.perf_counter()
            where: list[str | None] | None = [None] if self.info_on and not comp.is_async \
                else None
            try:
                if comp.timeout is None:
                    value = await self.invoke(comp, args, kwargs, where)
                else:
                    value = await self.invoke_with_timeout(comp, args, kwargs, where)
            except asyncio.CancelledError:
                self.info.settle(alias, "cancelled")
                raise
            except Exception as exc:
                if attempt <= retries and not _caused_by(exc, RunAborted) \
                        and not _cancelling():
                    self.info.settle(alias, "retrying")
                    delay = self.backoff(attempt)
                    self.failed_event(comp, attempt, attempt_started, exc, retrying=delay)
                    await asyncio.sleep(delay)
                    attempt += 1
                    continue
                self.failed_event(comp, attempt, attempt_started, exc)
                self.info.settle(alias, "failed")
                raise ComponentError(alias, comp.stage, attempt, exc, comp.position) from exc
            now = time.perf_counter()
            self.timings[alias] = now - started
            self.outputs[alias] = value
            self.info.settle(alias, "finished")
            if self.info_on:
                self.event("component.finished", stage=comp.stage, component=alias,
                           attempt=attempt, executor=self.where(comp),
                           duration_ms=round((now - attempt_started) * 1000, 3),
                           start=time.time() - (now - attempt_started),
                           thread=where[0] if where else None, items=None)
            return value

    def where(self, comp: PlannedComponent) -> str:
        return "loop" if comp.is_async else comp.executor

    def backoff(self, attempt: int) -> float:
        ceiling = min(30.0, self.defaults.retry_delay * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def failed_event(self, comp: PlannedComponent, attempt: int, started: float,
                     exc: BaseException, retrying: float | None = None) -> None:
        if self.log is None:
            return
        duration = time.perf_counter() - started
        fields = dict(stage=comp.stage, component=comp.alias, attempt=attempt,
                      executor=self.where(comp), duration_ms=round(duration * 1000, 3),
                      start=time.time() - duration, error=f"{type(exc).__name__}: {exc}")
        if retrying is not None:
            self.log.warning("component.retrying", delay_s=round(retrying, 3), **fields)
        elif not _caused_by(exc, RunAborted):
            self.log.error("component.failed", **fields)

    async def invoke_with_timeout(self, comp: PlannedComponent, args: list[Any],
                                  kwargs: dict[str, Any], where: list[str | None] | None
                                  ) -> Any:
        async with _deadline(comp.timeout) as deadline:
            return await self.invoke(comp, args, kwargs, where, deadline)

    async def invoke(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any],
                     where: list[str | None] | None = None,
                     deadline: asyncio.Timeout | None = None) -> Any:
        if comp.is_async:
            return await comp.fn(*args, **kwargs)
        notice = self.cancel_notice(comp, deadline)
        if comp.stream_inputs:
            # A stream reader lives as long as its stream: a thread of its own, never a
            # pool slot that its producer or a fan-out sibling might be waiting for.
            value = await run_in_own_thread(_call_as, [where, comp.alias, comp.fn, args, kwargs],
                                            self.defaults.thread_grace, notice,
                                            name=f"adf-{comp.alias}")
        else:
            executor = await self.executor(comp.executor)
            if not executor.remote:
                self.info.statuses[comp.alias] = "queued"  # until a pool thread takes it
                value = await executor.call(self.in_pool_thread,
                                            [where, comp.alias, comp.fn, args, kwargs], {}, notice)
            else:
                value = await executor.call(comp.fn, args, kwargs, notice)
        if inspect.isawaitable(value):  # a plain callable that returned a coroutine
            value = await value
        return value

    def cancel_notice(self, comp: PlannedComponent, deadline: asyncio.Timeout | None = None
                      ) -> Callable[[], None]:
        def notice() -> None:
            # Its own timeout is no failure of the run yet (a retry may follow); anything
            # else that cancels a running component is.
            timed_out = deadline is not None and deadline.expired()
            self.info.settle(comp.alias, "timing-out" if timed_out else "cancelled")
            if comp.stream_inputs:
                self.release_inputs(comp, abort=True)
            if self.log is not None:
                self.log.warning("component.waiting", stage=comp.stage, component=comp.alias,
                                 reason="cancelled while running in a thread, which cannot be "
                                        "interrupted; waiting for it to return",
                                 grace_s=self.defaults.thread_grace)
        return notice

    # streams -----------------------------------------------------------------------------
    def attach_readers(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any]
                       ) -> None:
        readers: dict[int, Any] = {}
        for producer in comp.stream_inputs:
            stream = self.streams.get(producer)
            if stream is not None:
                readers[id(stream)] = stream.reader_for(comp.alias, comp.is_async)

        def swap(value: Any) -> Any:
            return readers.get(id(value), value) if isinstance(value, Stream) else value

        for key, value in kwargs.items():
            if isinstance(value, Stream):
                kwargs[key] = swap(value)
            elif key == "upstream" and comp.binding.wants_upstream:
                kwargs[key] = {k: swap(v) for k, v in value.items()}
            elif key == "context" and comp.binding.wants_context:
                kwargs[key] = MappingProxyType({k: swap(v) for k, v in value.items()})
        for index, value in enumerate(args):
            args[index] = swap(value)
        self.reject_foreign_streams(comp, args, kwargs)

    def reject_foreign_streams(self, comp: PlannedComponent, args: list[Any],
                               kwargs: dict[str, Any]) -> None:
        named = comp.binding.names
        asked = [*args, *(v for k, v in kwargs.items() if k in named)]
        for value in asked:
            if isinstance(value, Stream):
                raise FlowError(
                    f"component {comp.alias!r} ({comp.position}) takes the stream of "
                    f"{value.alias!r}, but a stream can only be read by the stage right after "
                    "its producer; collect it into a list there (adf_core.collect) to use it "
                    "later")

    def release_inputs(self, comp: PlannedComponent, abort: bool = False) -> None:
        for producer in comp.stream_inputs:
            stream = self.streams.get(producer)
            channel = stream.channels.get(comp.alias) if stream else None
            if channel is None:
                continue
            if abort:
                channel.finish(asyncio.CancelledError())
            channel.close()

    async def drain_stream(self, comp: PlannedComponent, args: list[Any],
                           kwargs: dict[str, Any]) -> list[Any]:
        """A stream nobody reads: run it to the end within its stage, collecting its items
        (the next stage starts only after it, as for any other component)."""
        stream = Stream(comp.alias)
        self.streams[comp.alias] = stream
        await self.pump(comp, stream, args, kwargs)
        return self.collected.pop(comp.alias)

    def start_stream(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any]
                     ) -> Stream:
        stream = Stream(comp.alias)
        for consumer in comp.subscribers:
            on_loop = comp.is_async and self.plan.by_alias[consumer].is_async
            kind = LoopChannel if on_loop else Channel
            stream.channels[consumer] = kind(self.loop, comp.buffer_size, consumer)
        self.streams[comp.alias] = stream
        assert self.tg is not None
        self.tg.create_task(self.pump(comp, stream, args, kwargs))
        return stream

    async def pump(self, comp: PlannedComponent, stream: Stream, args: list[Any],
                   kwargs: dict[str, Any]) -> None:
        alias = comp.alias
        channels = list(stream.channels.values())
        sink: list[Any] | None = None if channels else []
        started = time.perf_counter()
        self.info.statuses[alias] = "running"
        if self.info_on:
            self.event("component.started", stage=comp.stage, component=alias, attempt=1,
                       executor=self.where(comp))
        try:
            async with _deadline(comp.timeout):
                await self._pump(comp, stream, channels, sink, args, kwargs)
        except asyncio.CancelledError as exc:
            for channel in channels:
                channel.finish(exc)
            raise
        except Exception as exc:
            for channel in channels:
                channel.finish(exc)
            self.info.settle(alias, "failed")
            self.failed_event(comp, 1, started, exc)
            raise ComponentError(alias, comp.stage, 1, exc, comp.position) from exc
        else:
            for channel in channels:
                channel.finish()
        finally:
            if comp.stream_inputs:
                self.release_inputs(comp)
        now = time.perf_counter()
        self.timings[alias] = now - started
        self.counts[alias] = stream.items
        self.info.counts[alias] = stream.records
        self.info.settle(alias, "finished")
        if sink is not None:
            self.collected[alias] = sink
        self.outputs[alias] = sink if sink is not None else stream
        if self.info_on:
            self.event("component.finished", stage=comp.stage, component=alias, attempt=1,
                       executor=self.where(comp), duration_ms=round((now - started) * 1000, 3),
                       start=time.time() - (now - started),
                       thread=None if comp.is_async else f"adf-{alias}",
                       items=stream.items, records=stream.records)

    async def _pump(self, comp: PlannedComponent, stream: Stream, channels: list[AnyChannel],
                    sink: list[Any] | None, args: list[Any], kwargs: dict[str, Any]) -> None:
        if comp.is_async:
            agen = comp.fn(*args, **kwargs)
            try:
                if len(channels) == 1:
                    put = channels[0].put
                    try:
                        async for item in agen:
                            stream.count(item)
                            await put(item)
                    except ConsumerGone:
                        pass
                    return
                async for item in agen:
                    stream.count(item)
                    if sink is not None:
                        sink.append(item)
                        continue
                    live = False
                    for channel in channels:
                        if channel.closed:
                            continue
                        try:
                            await channel.put(item)
                            live = True
                        except ConsumerGone:
                            pass
                    if not live:
                        break
            finally:
                await agen.aclose()
            return
        gen = comp.fn(*args, **kwargs)

        def abort() -> None:
            for channel in channels:
                channel.close()
            if comp.stream_inputs:
                self.release_inputs(comp, abort=True)

        await run_in_own_thread(_pump_thread, [gen, stream, channels, sink],
                                self.defaults.thread_grace, abort, name=f"adf-{comp.alias}")

    def in_pool_thread(self, where: list[str | None] | None, alias: str,
                       fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        key = self.plan.thread_entered()
        self.info.statuses[alias] = "running"
        try:
            return _call_as(where, alias, fn, args, kwargs)
        finally:
            self.plan.thread_left(key)


@contextlib.asynccontextmanager
async def _deadline(seconds: float | None) -> AsyncIterator[asyncio.Timeout]:
    """``asyncio.timeout(seconds)`` whose expiry says which limit ran out; a TimeoutError the
    component raised itself (a socket timeout, say) passes unchanged."""
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            yield deadline
    except TimeoutError:
        if deadline.expired():
            raise TimeoutError(f"timed out after {seconds} s") from None
        raise


def _call_as(where: list[str | None] | None, alias: str, fn: Callable[..., Any],
             args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Run a sync component in its thread (a copied context), knowing its own alias."""
    set_current_component(alias)
    if where is not None:
        where[0] = threading.current_thread().name
    return fn(*args, **kwargs)


def _pump_thread(gen: Any, stream: Stream, channels: list[AnyChannel], sink: list[Any] | None
                 ) -> None:
    """Drive a sync generator in a worker thread, feeding every live channel."""
    try:
        for item in gen:
            stream.count(item)
            if sink is not None:
                sink.append(item)
                continue
            live = False
            for channel in channels:
                if channel.closed:
                    continue
                try:
                    channel.put_blocking(item)
                    live = True
                except ConsumerGone:
                    pass
            if not live:
                break
    finally:
        gen.close()


def _alias_of(node: Node) -> str:
    return node.alias if isinstance(node, Leaf) else "?"


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _delta(alias: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return {} if value is None else {alias: value}


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _flatten(group: BaseException) -> list[BaseException]:
    if isinstance(group, BaseExceptionGroup):
        found: list[BaseException] = []
        for inner in group.exceptions:
            found.extend(_flatten(inner))
        return found
    return [group]


def _pick_error(plan: Plan, errors: list[BaseException]) -> BaseException:
    real = [e for e in errors if not isinstance(e, asyncio.CancelledError)]
    primary = [e for e in real if not _caused_by(e, RunAborted)]
    if not primary:
        # Only readers of aborted streams failed: the streams were aborted by a cancellation
        # (a failing producer would itself be a primary error). Cancellation is the outcome.
        return asyncio.CancelledError()
    order = {c.alias: i for i, c in enumerate(plan.components)}

    def rank(error: BaseException) -> int:
        return order.get(getattr(error, "component", ""), len(order))

    primary.sort(key=rank)
    first = primary[0]
    others = primary[1:]
    if isinstance(first, ComponentError):
        first.with_siblings([e for e in others if isinstance(e, ComponentError)])
    for other in others:
        if not isinstance(other, ComponentError) or not isinstance(first, ComponentError):
            first.add_note(f"also failed: {type(other).__name__}: {other}")
    return first


async def execute(plan: Plan, params: Mapping[str, Any] | None, run_id: str | None = None
                  ) -> FlowResult:
    """Run ``plan`` once with ``params`` as the initial context."""
    run = _Run(plan, params or {}, run_id or uuid.uuid4().hex[:12])
    token = set_current_run(run.info)
    register_run(run.info)
    started = time.perf_counter()
    if run.info_on:
        run.event("flow.started", flow=run.info.flow)
    status = "failed"
    try:
        try:
            async with _TaskGroup() as tg:
                run.tg = tg
                await run.top(plan.root)
        except BaseExceptionGroup as group:
            error = _pick_error(plan, _flatten(group))
            if _cancelling() and not isinstance(error, asyncio.CancelledError):
                # Cancelled from outside: that is the outcome; what failed meanwhile is logged.
                if run.log is not None:
                    run.log.warning("flow.cancelled", error=str(error))
                raise asyncio.CancelledError() from error
            raise error from error.__cause__
        status = "succeeded"
    except asyncio.CancelledError:
        status = "cancelled"
        raise
    finally:
        set_current_run_reset(token)
        unregister_run(run.info)
        await run.close_executors()
        if run.log is not None:
            run.log.info("flow.finished", status=status,
                         duration_ms=round((time.perf_counter() - started) * 1000, 3))
    ctx = run.ctx
    for alias, items in run.collected.items():
        if isinstance(ctx.get(alias), Stream):
            ctx[alias] = items
    return FlowResult(ctx, run.outputs, run.timings, run.counts, run.run_id)


def set_current_run_reset(token: Any) -> None:
    from adf_core.run_info import _current

    _current.reset(token)

