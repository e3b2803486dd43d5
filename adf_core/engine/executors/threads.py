"""The ``threads`` executor (the default) and the thread plumbing every executor shares.

A function already running in a thread cannot be interrupted: a cancelled call waits for it
up to a grace period, then abandons it (and counts it, so that ``adf`` can exit at once).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Callable
from typing import Any


class ThreadExecutor:
    """A bounded thread pool (``max_threads``); contextvars follow the call into the thread.

    A function already running in a thread cannot be interrupted: a cancelled call waits
    for it up to ``grace`` seconds (the flow's ``thread_grace``), then abandons it.
    """

    name = "threads"
    remote = False

    def __init__(self, max_workers: int = 64, grace: float = 10.0,
                 pool: Callable[[], concurrent.futures.ThreadPoolExecutor] | None = None,
                 on_abandon: Callable[[concurrent.futures.ThreadPoolExecutor], None] | None
                 = None, **_: Any) -> None:
        self.grace = grace
        self._owned = pool is None
        if pool is None:
            own = concurrent.futures.ThreadPoolExecutor(
                max_workers=max_workers, thread_name_prefix="adf-worker")
            pool = lambda: own  # noqa: E731
        #: The pool to use now (a flow's pool may be replaced between calls).
        self._pool = pool
        #: Called with the pool when a cancelled call is abandoned after the grace period:
        #: its thread still holds a slot there, so a shared pool should be replaced.
        self.on_abandon = on_abandon

    async def start(self) -> None:
        return None

    async def call(self, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
                   on_cancel: Callable[[], None] | None = None) -> Any:
        context = contextvars.copy_context()
        pool = self._pool()
        inner = pool.submit(context.run, fn, *args, **kwargs)
        abandon = self.on_abandon
        return await await_thread(inner, self.grace, on_cancel,
                                  None if abandon is None else lambda: abandon(pool))

    async def close(self) -> None:
        if self._owned:
            self._pool().shutdown(wait=False, cancel_futures=True)


#: How long a cancelled call may take to return before ``component.waiting`` is logged:
#: components that stop at once are not reported as waited for.
WAIT_NOTICE_S = 1.0


async def await_thread(inner: concurrent.futures.Future[Any], grace: float,
                       on_cancel: Callable[[], None] | None = None,
                       on_abandon: Callable[[], None] | None = None) -> Any:
    """Await work running in a thread; on cancellation wait for it up to ``grace`` seconds.

    A thread cannot be interrupted. If it fails on its own while we wait and the run is
    already failing (a sibling's error cancelled us), its error is reported too; otherwise
    the cancellation is the outcome. ``on_cancel`` is called at once; its optional methods
    ``waiting()`` once the work has outlived :data:`WAIT_NOTICE_S` (when the grace period is
    longer) and ``abandoned()`` when it is given up. A second cancellation while we wait
    gives the work up at once (a second Ctrl-C must not hang on a thread).
    """
    try:
        return await asyncio.wrap_future(inner)
    except asyncio.CancelledError:
        if inner.cancel() or inner.done():
            raise
        if on_cancel is not None:
            on_cancel()
        waiter = asyncio.wrap_future(inner)
        try:
            done = await _returned(waiter, min(WAIT_NOTICE_S, grace))
            if not done and grace > WAIT_NOTICE_S:
                _tell(on_cancel, "waiting")
                done = await _returned(waiter, grace - WAIT_NOTICE_S)
        except asyncio.CancelledError:
            done = False  # cancelled again while waiting: give it up now
        if not done:
            global _abandoned
            _abandoned += 1
            waiter.add_done_callback(_retrieve)  # no "exception was never retrieved" later
            _tell(on_cancel, "abandoned")
            if on_abandon is not None:
                on_abandon()
            raise
        late = None if waiter.cancelled() else waiter.exception()
        if late is not None and run_failing():
            raise late from late.__cause__  # keeps its own cause chain
        raise


async def _returned(waiter: asyncio.Future[Any], seconds: float) -> bool:
    if seconds <= 0:
        return waiter.done()
    done, _ = await asyncio.wait([waiter], timeout=seconds)
    return bool(done)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _tell(notice: Any, what: str) -> None:
    method = getattr(notice, what, None)
    if method is not None:
        method()


_abandoned = 0


def abandoned_threads() -> int:
    """How many calls this process gave up waiting for (their threads may still run)."""
    return _abandoned


def run_failing() -> bool:
    from adf_core.engine.run_info import current_run

    run = current_run()
    return run is not None and "failed" in run.statuses.values()


async def run_in_own_thread(fn: Callable[..., Any], args: list[Any], grace: float,
                            on_cancel: Callable[[], None] | None = None,
                            name: str = "adf-stream") -> Any:
    """Run ``fn(*args)`` on a thread of its own (streaming components live as long as their
    stream, so they must never wait for, or hold, a slot of the bounded pool)."""
    inner: concurrent.futures.Future[Any] = concurrent.futures.Future()
    context = contextvars.copy_context()

    def target() -> None:
        if not inner.set_running_or_notify_cancel():
            return
        try:
            result = context.run(fn, *args)
        except BaseException as exc:
            inner.set_exception(exc)
        else:
            inner.set_result(result)

    threading.Thread(target=target, name=name, daemon=True).start()
    return await await_thread(inner, grace, on_cancel)
