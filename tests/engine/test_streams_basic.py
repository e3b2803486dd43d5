"""Streaming basics (DESIGN section 6); the deep streaming tests live in tests/streaming."""

from __future__ import annotations

import asyncio
import threading

import pytest

from adf_core import ComponentError, DataFlow


def rows():
    for i in range(5):
        yield {"id": i}


async def arows():
    for i in range(5):
        await asyncio.sleep(0)
        yield {"id": i}


def sync_ids(rows) -> dict:
    assert not hasattr(rows, "__anext__")
    return {"ids": [r["id"] for r in rows], "thread": threading.current_thread().name}


async def async_ids(rows) -> dict:
    return {"ids": [r["id"] async for r in rows], "thread": threading.current_thread().name}


def sync_aids(arows) -> dict:
    return {"ids": [r["id"] for r in arows], "thread": threading.current_thread().name}


async def async_aids(arows) -> dict:
    return {"ids": [r["id"] async for r in arows], "thread": threading.current_thread().name}


MAIN = threading.main_thread().name


@pytest.mark.parametrize(
    ("definition", "on_loop"),
    [((rows, sync_ids), False), ((rows, async_ids), True), ((arows, sync_aids), False),
     ((arows, async_aids), True)],
    ids=["gen->sync", "gen->async", "agen->sync", "agen->async"],
)
def test_a_generator_source_feeds_sync_and_async_consumers(definition, on_loop):
    result = DataFlow(definition).run()
    assert result["ids"] == [0, 1, 2, 3, 4]
    assert (result["thread"] == MAIN) is on_loop
    assert result.counts[definition[0].__name__] == 5


def test_the_consumer_reads_while_the_producer_still_produces():
    log: list[str] = []
    lock = threading.Lock()

    def produce():
        for i in range(20):
            with lock:
                log.append("p")
            yield i

    def consume(produce) -> dict:
        total = 0
        for item in produce:
            with lock:
                log.append("c")
            total += item
        return {"total": total}

    result = DataFlow((produce, consume), buffer_size=2).run()
    assert result["total"] == sum(range(20))
    lead = max(log[:n].count("p") - log[:n].count("c") for n in range(len(log) + 1))
    assert lead <= 2 + 2  # never more than the buffer (plus the item in hand) ahead


def test_a_failing_producer_is_the_reported_error():
    def produce():
        yield 1
        raise ValueError("source broke")

    async def consume(produce) -> dict:
        return {"items": [i async for i in produce]}

    with pytest.raises(ComponentError) as caught:
        DataFlow((produce, consume)).run()
    assert caught.value.component == "produce"
    assert str(caught.value.__cause__) == "source broke"


def test_a_stream_nobody_reads_is_collected_into_the_result():
    result = DataFlow(rows).run()
    assert result["rows"] == [{"id": i} for i in range(5)]


def test_a_kwargs_component_after_a_streaming_stage_still_runs():
    def consume(rows) -> dict:
        return {"count": sum(1 for _ in rows)}

    def summary(**kwargs) -> dict:
        return {"summary_saw": sorted(kwargs)}

    result = DataFlow((rows, consume, summary)).run()
    assert result["count"] == 5
    assert "count" in result["summary_saw"]
