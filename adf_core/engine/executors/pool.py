"""A flow's worker threads: one bounded pool kept across runs, and who is busy in it.

The pool outlives a run (threads start lazily, once per flow). A call abandoned after its
grace period still holds a thread, so the pool is then replaced for later calls. Busy
threads are counted per pool across every run of the flow: ``commit_group`` must know
whether a queued peer could start at all.
"""

from __future__ import annotations

import concurrent.futures
import threading

_LOCK = threading.Lock()  # runs of one flow may start on several loops at once


class FlowThreads:
    """The thread pool of one flow (``max_threads`` workers)."""

    def __init__(self, max_threads: int) -> None:
        self.max_threads = max_threads
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._busy: dict[int, int] = {}

    def pool(self) -> concurrent.futures.ThreadPoolExecutor:
        """The current pool, started on first use."""
        with _LOCK:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self.max_threads, thread_name_prefix="adf-worker")
            return self._pool

    def discard(self, pool: concurrent.futures.ThreadPoolExecutor) -> None:
        """A cancelled call abandoned a thread of ``pool``: later calls get a fresh pool."""
        with _LOCK:
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False)  # work other runs queued there still runs

    def entered(self) -> int:
        """A sync component starts in a thread of the current pool; returns the key to hand
        to :meth:`left`."""
        key = id(self._pool)
        with _LOCK:
            self._busy[key] = self._busy.get(key, 0) + 1
        return key

    def left(self, key: int) -> None:
        with _LOCK:
            self._busy[key] -= 1

    def busy(self) -> int:
        """Threads of the current pool running a component, across every run of the flow."""
        return self._busy.get(id(self._pool), 0) if self._pool is not None else 0
