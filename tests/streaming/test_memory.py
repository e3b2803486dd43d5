"""A stream of 1,000,000 records keeps memory flat: peak RSS measured in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from adf_core import DataFlow, step

    def source(count: int):
        for start in range(0, count, 100):
            yield [{"id": i, "name": "record %d" % i, "amount": i * 0.5}
                   for i in range(start, min(start + 100, count))]

    def transform(source):
        for batch in source:
            yield [dict(r, amount=r["amount"] * 2) for r in batch]

    async def sink(transform):
        rows = 0
        async for batch in transform:
            rows += len(batch)
        return {"rows": rows}

    count = int(sys.argv[1])
    result = DataFlow((step(source, options={"count": count}), transform, sink)).run()
    assert result["rows"] == count, result["rows"]
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def peak_rss_kib(count: int) -> int:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(count)], capture_output=True,
                          text=True, check=True, timeout=300)
    return int(done.stdout.strip())


def test_memory_stays_flat_from_ten_thousand_to_a_million_records():
    small = peak_rss_kib(10_000)
    large = peak_rss_kib(1_000_000)
    # 1M records held at once would be hundreds of MiB; streaming adds only noise.
    assert large - small < 20 * 1024, f"peak RSS grew from {small} KiB to {large} KiB"
