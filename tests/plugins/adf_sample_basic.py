"""A sample plugin: a source, a transform and destinations, one name in two kinds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from adf_core import component, hookimpl


def numbers(count: int = 3, start: int = 0) -> dict[str, list[dict[str, int]]]:
    """Make ``count`` records.

    Args:
        count: how many records to make
        start: the first value
    """
    return {"numbers": [{"n": i} for i in range(start, start + count)]}


def numbers_stream(count: int = 5, batch: int = 2) -> Iterator[list[dict[str, int]]]:
    """Stream ``count`` records in batches of ``batch``."""
    for first in range(0, count, batch):
        yield [{"n": i} for i in range(first, min(first + batch, count))]


async def slow(seconds: float = 0.05) -> dict[str, list[dict[str, float]]]:
    """Wait on the event loop, then return one record."""
    await asyncio.sleep(seconds)
    return {"slow": [{"seconds": seconds}]}


@component(description="Add one to field n of every record.", options={"field": "the field"})
def plus_one(upstream: dict[str, Any], field: str = "n") -> list[dict[str, Any]]:
    records = [r for value in upstream.values() for r in _records(value)]
    return [{**r, field: r.get(field, 0) + 1} for r in records]


async def count_stream(upstream: dict[str, Any]) -> int:
    """Count the items of an async stream (or a list)."""
    total = 0
    for value in upstream.values():
        if hasattr(value, "__aiter__"):
            async for batch in value:
                total += len(batch)
        else:
            total += len(_records(value))
    return total


def jsonl(
    upstream: dict[str, Any], path: Path, token: str | None = None, append: bool = False
) -> dict[str, int]:
    """Write every upstream record to a JSON-lines file.

    Args:
        path: where to write
        token: an access token (a secret)
        append: add to the file instead of replacing it
    """
    records = [r for value in upstream.values() for r in _records(value)]
    with path.open("a" if append else "w") as out:
        out.writelines(json.dumps(r) + "\n" for r in records)
    return {"written": len(records)}


def jsonl_source(path: Path) -> list[dict[str, Any]]:
    """Read records from a JSON-lines file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def connect(url: str, fail: bool = False) -> dict[str, list[dict[str, str]]]:
    """Pretend to read from a database; a failure quotes the URL, as drivers do."""
    if fail:
        raise ConnectionError(f"could not connect to {url}")
    return {"connect": [{"url": url}]}


def fail(message: str = "boom", password: str | None = None) -> None:
    """Always raise."""
    raise RuntimeError(message)


async def aslow(seconds: float = 0.05) -> AsyncIterator[int]:
    await asyncio.sleep(seconds)
    yield 1


def _records(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [r for v in value.values() for r in _records(v)]
    items = list(value or [])
    if items and isinstance(items[0], list):
        return [r for batch in items for r in batch]
    return items


@hookimpl
def adf_sources() -> dict[str, Any]:
    return {
        "numbers": numbers,
        "numbers_stream": numbers_stream,
        "slow": slow,
        "jsonl": jsonl_source,
        "connect": connect,
    }


@hookimpl
def adf_transforms() -> dict[str, Any]:
    return {"plus_one": plus_one, "fail": fail}


@hookimpl
def adf_destinations() -> dict[str, Any]:
    return {"jsonl": jsonl, "count_stream": count_stream, "fail": fail}


class InlineExecutor:
    """A sample executor factory (the executors hook)."""


@hookimpl
def adf_executors() -> dict[str, Any]:
    return {"inline": InlineExecutor}
