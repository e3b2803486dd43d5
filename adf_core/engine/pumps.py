"""Streams between components: start a generator, pump its items into one bounded channel
per consumer, and hand each consumer its own reader.

An async generator is pumped on the loop; a sync generator in a thread of its own (it lives
as long as its stream, so it never holds a pool slot). A stream nobody reads runs to its end
within its stage, collecting its items.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from adf_core.engine.attempts import backoff, deadline
from adf_core.engine.counting import records_in as records_in_args
from adf_core.engine.executors import run_in_own_thread
from adf_core.engine.outcomes import cancelling, caused_by
from adf_core.engine.plan import PlannedComponent
from adf_core.engine.reporting import reset_reporter, set_reporter
from adf_core.engine.run_state import RunState
from adf_core.engine.streams import AnyChannel, Channel, ConsumerGone, LoopChannel, Stream
from adf_core.errors import ComponentError, FlowError, RunAborted, RunPolicyError


class Pumps:
    """The streams of one run."""

    def __init__(self, run: RunState) -> None:
        self.run = run

    # readers -----------------------------------------------------------------------------
    def attach_readers(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any]
                       ) -> None:
        """Replace each stream in a consumer's arguments by the consumer's own reader."""
        readers: dict[int, Any] = {}
        for producer in comp.stream_inputs:
            stream = self.run.streams.get(producer)
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

    @staticmethod
    def reject_foreign_streams(comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any]
                               ) -> None:
        """A stream can only be read by the stage right after its producer."""
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
        """A consumer is done with its streams (``abort``: it was cancelled)."""
        for producer in comp.stream_inputs:
            stream = self.run.streams.get(producer)
            channel = stream.channels.get(comp.alias) if stream else None
            if channel is None:
                continue
            if abort:
                channel.finish(asyncio.CancelledError())
            channel.close()

    # producers ---------------------------------------------------------------------------
    async def drain(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any],
                    ctx: Mapping[str, Any] | None = None) -> list[Any]:
        """A stream nobody reads: run it to the end within its stage, collecting its items
        (the next stage starts only after it, as for any other component)."""
        stream = Stream(comp.alias)
        self.run.streams[comp.alias] = stream
        await self.pump(comp, stream, args, kwargs, ctx)
        return self.run.collected.pop(comp.alias)

    def start(self, comp: PlannedComponent, args: list[Any], kwargs: dict[str, Any],
              ctx: Mapping[str, Any] | None = None) -> Stream:
        """Start pumping a stream that the next stage reads; return its handle."""
        run = self.run
        stream = Stream(comp.alias)
        for consumer in comp.subscribers:
            on_loop = comp.is_async and run.plan.by_alias[consumer].is_async
            kind = LoopChannel if on_loop else Channel
            stream.channels[consumer] = kind(run.loop, comp.buffer_size, consumer)
        if comp.stream_inputs and comp.subscribers and run.info.acks.continuous:
            stream.marks = run.info.acks.mark  # acknowledgements pass through a transform
        run.streams[comp.alias] = stream
        assert run.tg is not None
        run.tg.create_task(self.pump(comp, stream, args, kwargs, ctx))
        return stream

    async def pump(self, comp: PlannedComponent, stream: Stream, args: list[Any],
                   kwargs: dict[str, Any], ctx: Mapping[str, Any] | None = None) -> None:
        """Run a streaming component into its channels (or its sink).

        An attempt that fails before its first item (the open/connect phase) is retried like
        any other component; once an item has gone out, a retry is impossible. A component
        that reads a stream is never retried (its input cannot be read twice).
        """
        run = self.run
        events = run.events
        alias = comp.alias
        channels = list(stream.channels.values())
        sink: list[Any] | None = None if channels else []
        retries = 0 if comp.stream_inputs else comp.retries
        attempt = 1
        started = time.perf_counter()
        records_in = records_in_args(comp.binding, args, kwargs, ctx or run.ctx) \
            if comp.counts_inputs else 0
        run.handed[alias] = records_in
        while True:
            attempt_started = time.perf_counter()
            run.info.statuses[alias] = "running"
            if events.info_on:
                events.event("component.started", stage=comp.stage, component=alias,
                             attempt=attempt, executor=run.where(comp))
            if run.observers is not None:
                run.observers.component_started(run.info, alias, attempt)
            state = _Attempt()
            token = set_reporter(alias)  # reject() and warn() know who calls, on the loop or
            try:                         # in the generator's thread (it copies the context)
                async with deadline(comp.timeout):
                    if comp.is_async:
                        await pump_async(comp.fn(*args, **kwargs), stream, channels, sink)
                    else:
                        await self.pump_sync(comp, stream, channels, sink, args, kwargs, state)
                run.check_outcome(comp)  # before the end of the stream is told to its readers
            except asyncio.CancelledError as exc:
                for channel in channels:
                    channel.finish(exc)
                run.info.settle(alias, "cancelled")
                self.ended(comp, "cancelled", started, records_in, stream, attempt)
                raise
            except Exception as exc:
                consequence = caused_by(exc, RunAborted)
                if (attempt <= retries and stream.items == 0 and state.ended
                        and not consequence and not cancelling()
                        and not caused_by(exc, RunPolicyError)):
                    run.info.settle(alias, "retrying")
                    run.rejects.restart(alias)  # the next attempt reads everything again
                    delay = backoff(run, attempt)
                    events.failed(comp, run.where(comp), attempt, attempt_started, exc,
                                  retrying=delay)
                    if run.observers is not None:
                        run.observers.component_retrying(run.info, alias, attempt, exc, delay)
                    await asyncio.sleep(delay)
                    attempt += 1
                    continue
                for channel in channels:
                    channel.finish(exc)
                run.info.settle(alias, "failed")
                events.failed(comp, run.where(comp), attempt, attempt_started, exc,
                              consequence=consequence)
                self.ended(comp, "cancelled" if consequence else "failed", started, records_in,
                           stream, attempt, exc)
                raise ComponentError(alias, comp.stage, attempt, exc, comp.position) from exc
            else:
                if run.info.states is not None:  # its state is final before its end is told
                    run.info.states.done.add(alias)
                for channel in channels:
                    channel.finish()
            finally:
                reset_reporter(token)
                if comp.stream_inputs:
                    self.release_inputs(comp)
            break
        now = time.perf_counter()
        run.timings[alias] = now - started
        run.counts[alias] = stream.items
        run.info.counts[alias] = stream.records
        if comp.stream_inputs:
            records_in += run.stream_records(comp)
        rejected = run.rejects.count(alias)
        run.records[alias] = (records_in, stream.records, rejected)
        run.info.settle(alias, "finished")
        if sink is not None:
            run.collected[alias] = sink
        run.outputs[alias] = sink if sink is not None else stream
        if stream.cut and run.info.failed():
            # Its readers were cancelled or failed, so it stopped early: not a success.
            run.ended_as[alias] = "cancelled"
            if run.observers is not None:
                run.observers.component_finished(run.info, alias, "cancelled", now - started,
                                                 records_in, stream.records, attempt)
            return
        if events.info_on:
            events.event("component.finished", stage=comp.stage, component=alias,
                         attempt=attempt, executor=run.where(comp),
                         duration_ms=round((now - attempt_started) * 1000, 3),
                         start=time.time() - (now - attempt_started),
                         thread=None if comp.is_async else f"adf-{alias}",
                         records_in=records_in, records_out=stream.records,
                         records_rejected=rejected, items=stream.items)
        if run.observers is not None:
            run.observers.component_finished(run.info, alias, "succeeded", now - started,
                                             records_in, stream.records, attempt)

    def ended(self, comp: PlannedComponent, status: str, started: float, records_in: int,
              stream: Stream, attempt: int, error: BaseException | None = None) -> None:
        if comp.stream_inputs:
            records_in += self.run.stream_records(comp)
        self.run.ended(comp, status, time.perf_counter() - started, records_in, stream.records,
                       attempt=attempt, error=error)

    async def pump_sync(self, comp: PlannedComponent, stream: Stream,
                        channels: list[AnyChannel], sink: list[Any] | None, args: list[Any],
                        kwargs: dict[str, Any], state: _Attempt) -> None:
        gen = comp.fn(*args, **kwargs)

        def abort() -> None:
            state.stale = True
            if stream.items:  # the producer may be blocked on a full channel: release it
                for channel in channels:
                    channel.close()
            if comp.stream_inputs:
                self.release_inputs(comp, abort=True)

        state.ended = False  # pump_thread sets it again when its thread is done
        await run_in_own_thread(pump_thread, [gen, stream, channels, sink, state],
                                self.run.defaults.thread_grace, abort, name=f"adf-{comp.alias}")


class _Attempt:
    """One attempt of a sync stream: given up (``stale``) by a cancel, and whether its
    thread has ended (only then may a retry start, or two generators would race)."""

    __slots__ = ("ended", "stale")

    def __init__(self) -> None:
        self.stale = False
        self.ended = True  # async generators end with their attempt


async def pump_async(agen: Any, stream: Stream, channels: list[AnyChannel],
                     sink: list[Any] | None) -> None:
    """Drive an async generator on the loop, feeding every live channel (or the sink)."""
    try:
        if len(channels) == 1:
            put = channels[0].put
            try:
                async for item in agen:
                    stream.count(item)
                    await put(item)
            except ConsumerGone:
                stream.cut = True
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
                stream.cut = True
                break
    finally:
        await agen.aclose()


def pump_thread(gen: Any, stream: Stream, channels: list[AnyChannel], sink: list[Any] | None,
                state: _Attempt | None = None) -> None:
    """Drive a sync generator in its own thread, feeding every live channel (or the sink)."""
    try:
        for item in gen:
            if state is not None and state.stale:
                break  # this attempt was given up (timed out, cancelled): deliver nothing
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
                stream.cut = True
                break
    finally:
        try:
            gen.close()
        finally:
            if state is not None:
                state.ended = True
