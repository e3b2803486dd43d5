"""Shared helpers for the benchmarks: interleaved rounds, medians, a plain table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable


async def measure(cases: dict[str, Callable[[], Awaitable[object]]], rounds: int,
                  warmup: int = 2) -> dict[str, list[float]]:
    """Run every case once per round, in turn (A B C A B C ...), so drift hits all alike."""
    for _ in range(warmup):
        for case in cases.values():
            await case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            started = time.perf_counter()
            await case()
            times[name].append(time.perf_counter() - started)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(out)
