"""Streaming components: generators feed consumers concurrently through bounded buffers."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import pytest

from adf_core import ComponentError, DataFlow, batched, collect, step, unbatched
from adf_core.streams import abatched, acollect, aunbatched


def numbers(count: int = 10):
    yield from range(count)


async def anumbers(count: int = 10):
    for i in range(count):
        yield i
        await asyncio.sleep(0)


def sync_sum(numbers):
    return {"total": sum(numbers)}


async def async_sum(anumbers):
    total = 0
    async for item in anumbers:
        total += item
    return {"total": total}


@pytest.mark.parametrize(
    ("producer", "consumer"),
    [(numbers, sync_sum), (numbers, None), (anumbers, async_sum), (anumbers, None)],
    ids=["sync->sync", "sync->async", "async->async", "async->sync"],
)
def test_every_pairing_of_sync_and_async_sides_delivers_items_in_order_once(producer, consumer):
    seen = []

    def sync_reader(upstream):
        (stream,) = upstream.values()
        assert not hasattr(stream, "__anext__"), "a sync consumer gets a plain iterator"
        seen.extend(stream)
        seen.extend(stream)  # a second pass yields nothing: once
        return {"total": sum(seen)}

    async def async_reader(upstream):
        (stream,) = upstream.values()
        async for item in stream:
            seen.append(item)
        return {"total": sum(seen)}

    if consumer is None:
        consumer = async_reader if producer is numbers else sync_reader
    if consumer in (sync_sum, async_sum):
        result = DataFlow((step(producer, options={"count": 100}), consumer)).run()
        assert result["total"] == sum(range(100))
        return
    result = DataFlow((step(producer, options={"count": 100}), consumer)).run()
    assert seen == list(range(100))
    assert result["total"] == sum(range(100))
    assert result.counts[producer.__name__] == 100


def test_consumer_receives_first_item_before_the_producer_finishes():
    first_seen = threading.Event()

    def producer():
        yield 1
        # Only a consumer running concurrently can set this; serially we would time out.
        assert first_seen.wait(timeout=5), "consumer did not get the first item early"
        yield 2

    async def consumer(producer):
        items = []
        async for item in producer:
            items.append(item)
            first_seen.set()
        return {"items": items}

    assert DataFlow((producer, consumer)).run()["items"] == [1, 2]


def test_buffer_bounds_how_far_the_producer_runs_ahead():
    produced = []
    lag = []

    async def producer():
        for i in range(200):
            produced.append(i)
            yield i

    async def consumer(producer):
        async for item in producer:
            lag.append(len(produced) - item - 1)
            await asyncio.sleep(0)

    DataFlow((step(producer, buffer_size=4), consumer)).run()
    assert max(lag) <= 4 + 1  # the buffer plus the item in flight


def test_buffer_size_flow_default_applies_to_sync_producers_too():
    produced = []
    lag = []

    def producer():
        for i in range(100):
            produced.append(i)
            yield i

    def consumer(producer):
        for item in producer:
            lag.append(len(produced) - item - 1)
            time.sleep(0.001)

    DataFlow((producer, consumer), buffer_size=2).run()
    assert max(lag) <= 2 + 1


def test_fan_out_reaches_every_consumer_whole_and_the_slowest_sets_the_pace():
    got = {"fast": [], "slow": []}

    async def fast(numbers):
        async for item in numbers:
            got["fast"].append(item)

    def slow(numbers):
        for item in numbers:
            time.sleep(0.001)
            got["slow"].append(item)

    flow = DataFlow((step(numbers, options={"count": 50}, buffer_size=2), (fast, slow)))
    flow.run()
    assert got["fast"] == list(range(50))
    assert got["slow"] == list(range(50))


def test_streaming_transforms_chain_sync_and_async_generators():
    def double(numbers):
        for item in numbers:
            yield item * 2

    async def plus_one(double):
        async for item in double:
            yield item + 1

    def total(plus_one):
        return {"total": sum(plus_one)}

    result = DataFlow((step(numbers, options={"count": 10}), double, plus_one, total)).run()
    assert result["total"] == sum(i * 2 + 1 for i in range(10))
    assert result.counts == {"numbers": 10, "double": 10, "plus_one": 10}


def test_a_stream_nobody_reads_is_collected_into_the_result():
    result = DataFlow((step(numbers, options={"count": 5}),)).run()
    assert result["numbers"] == [0, 1, 2, 3, 4]


def test_a_stream_read_by_the_next_stage_cannot_be_read_again_later():
    def middle(numbers):
        return {"x": sum(numbers)}

    def late(numbers):
        return list(numbers)

    with pytest.raises(Exception, match="right after its producer"):
        DataFlow((numbers, middle, late)).run()


def test_a_stream_nobody_reads_next_finishes_within_its_stage_and_later_stages_get_a_list():
    order = []

    def produce():
        for i in range(3):
            time.sleep(0.01)
            yield i
        order.append("produced")

    def middle():
        order.append("middle")

    def late(produce):
        return {"late": list(produce)}

    result = DataFlow((produce, middle, late)).run()
    assert order == ["produced", "middle"], "the next stage waited for the stream to end"
    assert result["late"] == [0, 1, 2]


def test_batching_helpers_round_trip():
    records = [{"i": i} for i in range(10)]
    batches = list(batched(records, 3))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert list(unbatched(batches)) == records
    assert collect(iter(records)) == records

    async def run():
        async def source():
            for record in records:
                yield record

        got = [b async for b in abatched(source(), 4)]
        assert [len(b) for b in got] == [4, 4, 2]

        async def again():
            for batch in got:
                yield batch

        assert await acollect(aunbatched(again())) == records

    asyncio.run(run())


def test_batches_count_records_for_tracing():
    def batches():
        yield from batched(({"i": i} for i in range(25)), 10)

    def sink(batches):
        return {"rows": sum(len(b) for b in batches)}

    result = DataFlow((batches, sink)).run()
    assert result["rows"] == 25
    assert result.counts["batches"] == 3  # items (batches), records are in the run info


# Failures ---------------------------------------------------------------------------------

def _tasks_after(coro_factory):
    async def run():
        before = asyncio.all_tasks()
        try:
            await coro_factory()
        finally:
            leftover = asyncio.all_tasks() - before - {asyncio.current_task()}
        return leftover

    return run


@pytest.mark.parametrize("producer_is_async", [True, False])
@pytest.mark.parametrize("consumer_is_async", [True, False])
def test_a_failing_producer_fails_the_flow_and_closes_both_sides(producer_is_async,
                                                                  consumer_is_async):
    closed = []

    async def aproducer():
        try:
            yield 1
            yield 2
            raise ValueError("bad record 3")
        finally:
            closed.append("producer")

    def sproducer():
        try:
            yield 1
            yield 2
            raise ValueError("bad record 3")
        finally:
            closed.append("producer")

    async def aconsumer(producer):
        try:
            async for _ in producer:
                pass
        finally:
            closed.append("consumer")

    def sconsumer(producer):
        try:
            for _ in producer:
                pass
        finally:
            closed.append("consumer")

    producer = step(aproducer if producer_is_async else sproducer, name="producer")
    consumer = aconsumer if consumer_is_async else sconsumer
    flow = DataFlow((producer, consumer))

    async def run():
        await flow()

    with pytest.raises(ComponentError) as info:
        leftover = asyncio.run(_tasks_after(run)())
    error = info.value
    assert error.component == "producer"
    assert isinstance(error.__cause__, ValueError)
    assert len(error.errors) == 1, "the consumer's aborted read is not a second failure"
    assert sorted(closed) == ["consumer", "producer"]
    leftover = asyncio.run(_leftover_after_failure(flow))
    assert leftover == set()


async def _leftover_after_failure(flow):
    before = asyncio.all_tasks()
    with contextlib.suppress(ComponentError):
        await flow()
    return asyncio.all_tasks() - before - {asyncio.current_task()}


@pytest.mark.parametrize("producer_is_async", [True, False])
def test_a_failing_consumer_closes_its_producer(producer_is_async):
    closed = threading.Event()

    async def aproducer():
        try:
            for i in range(10_000):
                yield i
        finally:
            closed.set()

    def sproducer():
        try:
            yield from range(10_000)
        finally:
            closed.set()

    def consumer(producer):
        for item in producer:
            if item == 5:
                raise RuntimeError("cannot write record 5")

    producer = step(aproducer if producer_is_async else sproducer, name="producer")
    with pytest.raises(ComponentError) as info:
        DataFlow((producer, consumer)).run()
    assert info.value.component == "consumer"
    assert closed.is_set()


@pytest.mark.parametrize("producer_is_async", [True, False])
def test_a_consumer_that_stops_early_closes_its_producer(producer_is_async):
    closed = threading.Event()

    async def aproducer():
        try:
            i = 0
            while True:  # endless: only closing it ends the flow
                yield i
                i += 1
        finally:
            closed.set()

    def sproducer():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    async def first_three(producer):
        taken = []
        async for item in producer:
            taken.append(item)
            if len(taken) == 3:
                break
        return {"taken": taken}

    producer = step(aproducer if producer_is_async else sproducer, name="producer")
    result = DataFlow((producer, first_three)).run()
    assert result["taken"] == [0, 1, 2]
    assert closed.is_set()


def test_cancelling_a_streaming_flow_closes_generators_and_leaves_no_task():
    closed = threading.Event()

    async def producer():
        try:
            i = 0
            while True:
                yield i
                i += 1
                await asyncio.sleep(0.001)
        finally:
            closed.set()

    def consumer(producer):
        for _ in producer:
            pass

    flow = DataFlow((producer, consumer), thread_grace=5)

    async def run():
        before = asyncio.all_tasks()
        task = asyncio.create_task(flow())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return asyncio.all_tasks() - before - {asyncio.current_task()}

    assert asyncio.run(run()) == set()
    assert closed.is_set()


def test_sync_streams_never_block_the_loop():
    ticks = []

    def producer():
        for i in range(20):
            time.sleep(0.01)
            yield i

    def consumer(producer):
        return {"n": sum(1 for _ in producer)}

    async def heartbeat():
        for _ in range(1000):
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.005)

    async def run():
        beat = asyncio.create_task(heartbeat())
        result = await DataFlow((producer, consumer))()
        beat.cancel()
        return result

    result = asyncio.run(run())
    assert result["n"] == 20
    # ~0.2 s of streaming; a blocked loop would show a handful of ticks, not dozens.
    assert len(ticks) >= 15
