"""Components the trust tests run in real ``adf`` processes (``PYTHONPATH`` points here).

Each writes a marker file when it reaches the point a test waits for, so that a signal or a
kill lands exactly there.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from adf_core import component


def _mark(marker: str | None) -> None:
    if marker:
        Path(marker).write_text(str(os.getpid()))


def rows(count: int = 100, start: int = 0) -> list[dict[str, Any]]:
    """``count`` records at once (a list, not a stream)."""
    return [{"id": i, "name": f"row {i}"} for i in range(start, start + count)]


def slow_rows(count: int = 50, batch: int = 5, pause: float = 0.2, marker: str | None = None,
              mark_after: int = 2) -> Any:
    """Stream ``count`` records in batches, pausing between them; mark after a few."""
    sent = 0
    number = 0
    while sent < count:
        if number == mark_after:
            _mark(marker)
        size = min(batch, count - sent)
        yield [{"id": i, "name": f"row {i}"} for i in range(sent, sent + size)]
        sent += size
        number += 1
        time.sleep(pause)


async def slow_peer(upstream: Any, marker: str | None = None, seconds: float = 60.0) -> None:
    """A destination that keeps the others of its stage waiting at their commit gate."""
    _mark(marker)
    await asyncio.sleep(seconds)


def hang_writer(path: str, marker: str | None = None) -> None:
    """Write a temporary file beside ``path`` and never return (a hung sync destination)."""
    from adf_core import current_run
    from adf_core.data.tempfiles import temporary_file

    run = current_run()
    with temporary_file(path, run.run_id if run else None) as (_tmp, handle):
        handle.write(b"partial\n")
        handle.flush()
        _mark(marker)
        while True:
            time.sleep(0.05)


def boom(upstream: Any, message: str = "the check failed") -> None:
    """A transform that always fails."""
    raise RuntimeError(message)


@component(secrets=["dsn"])
def leaky(url: str, dsn: str) -> list[dict[str, Any]]:
    """A source whose error quotes its declared secret and its URL's password."""
    from urllib.parse import urlsplit

    raise ConnectionError(f"refused {dsn}; the password {urlsplit(url).password} was wrong")


@component(after_run=True)
def tell(report: Any) -> None:
    """An after-run component whose ``report`` has no default (the engine fills it)."""
    print(f"tell: the run {report['status']}", file=sys.stderr)
