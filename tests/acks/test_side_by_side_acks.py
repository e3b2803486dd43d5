"""micro_batches_of reads several streams side by side: what it has read must be in the batch
it hands out next, or ``committed()`` acknowledges records that were not committed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from adf_core import DataFlow, step
from adf_core.acks import acknowledges, committed, finish, micro_batches_of, on_commit


def test_an_acknowledgement_never_covers_a_record_not_yet_committed() -> None:
    written: set[tuple[str, int]] = set()
    early: list[tuple[str, int]] = []

    def source(name: str) -> Any:
        @acknowledges
        async def produce() -> Any:
            for n in range(30):
                yield [{"src": name, "n": n}]

                def check(upto: int = n) -> None:
                    early.extend((name, k) for k in range(upto + 1)
                                 if (name, k) not in written)
                on_commit(check)
                await asyncio.sleep(0)
            await finish()
        return step(produce, name=name)

    def sink(upstream: Any) -> int:
        for batch in micro_batches_of(list(upstream.items()), commit_every=1,
                                      commit_interval=10):
            written.update((r["src"], r["n"]) for _, item in batch for r in item)
            committed()
            time.sleep(0.02)  # the acknowledgements run before the next batch is written
        return len(written)

    result = DataFlow(((source("a"), source("b")), step(sink, name="out"))).run({})
    assert result["out"] == 60
    assert early == []
