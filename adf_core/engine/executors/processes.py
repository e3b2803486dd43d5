"""The ``processes`` executor: a process pool (spawn start method) for CPU-bound sync components.

Pure-Python work holds the GIL, so threads run it one at a time; worker processes run it in
parallel. What a caller must know:

- The pool has ``$ADF_EXECUTOR_WORKERS`` workers, by default one per CPU this process may use
  (the runner's ``max_workers`` is the flow's *thread* limit, sized for I/O, and is ignored).
  Workers start on first use with the ``spawn`` method: each is a fresh interpreter that
  imports the component's module, so a script must guard its entry point with
  ``if __name__ == "__main__":``.
- A component, its options and its arguments are pickled. Functions pickle by reference
  (module and name), so lambdas and nested functions are rejected before the run; results
  must pickle too. The read-only ``context`` mapping arrives as a plain dict.
- ``adf_core.current_run()`` is None in a worker process: context variables stay here.
- Cancellation (a timeout, a failing sibling, a cancelled flow): work that has not started is
  dropped. A running process cannot be interrupted, but it can be stopped: when no other
  call is waiting on the pool, its processes are terminated at once. Otherwise the call
  waits up to ``grace`` seconds (the flow's ``thread_grace``) for the work to return, then
  abandons it; new calls go to fresh processes, and the old ones are terminated as soon as
  the calls still running there have returned (at the latest when the run ends). So nothing
  started by a run outlives it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import pickle
import sys
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess
from typing import Any

from adf_core.engine.executors.remote import pickle_problem, portable, worker_count
from adf_core.engine.executors.threads import WAIT_NOTICE_S, run_failing

_HINT = ("define it at module level in an importable module (lambdas and nested functions "
         "cannot be sent to a process), or run it with executor='threads'")


class _Pool:
    """One process pool and the calls on it."""

    def __init__(self, workers: int) -> None:
        self.executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        self.live: set[concurrent.futures.Future[Any]] = set()  # a caller awaits these
        self.abandoned: set[concurrent.futures.Future[Any]] = set()  # their caller is gone
        self.retired = False  # no new calls here
        self.dead = False
        self.killed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def only_abandoned_work(self) -> bool:
        return not self.live and any(not f.done() for f in self.abandoned)


class ProcessExecutor:
    """A spawn-started ``ProcessPoolExecutor``; see the module docstring for the rules."""

    name = "processes"
    remote = True

    def __init__(self, max_workers: int | None = None, grace: float = 10.0,
                 workers: int | None = None, **_: Any) -> None:
        self.workers = workers or worker_count()
        self.grace = grace
        self._pool: _Pool | None = None
        self._pools: list[_Pool] = []

    @staticmethod
    def check_component(fn: Callable[..., Any]) -> str | None:
        """Why ``fn`` cannot run in a spawned process, or None."""
        problem = pickle_problem(fn, pickle.dumps, "another process", _HINT)
        if problem is None and getattr(fn, "__module__", None) == "__main__":
            main = sys.modules.get("__main__")
            if main is not None and not getattr(main, "__file__", None):
                return ("it is defined in an interactive session (__main__ has no file), which "
                        f"a spawned process cannot import; {_HINT}")
        return problem

    async def start(self) -> None:
        self._current()

    def _current(self) -> _Pool:
        if self._pool is None or self._pool.retired:
            self._pool = _Pool(self.workers)
            self._pools.append(self._pool)
        return self._pool

    async def call(self, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
                   on_cancel: Callable[[], None] | None = None) -> Any:
        args, kwargs = portable(args, kwargs)
        pool = self._current()
        try:
            inner = pool.executor.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            pool.retired = True
            raise
        pool.live.add(inner)
        try:
            return await asyncio.wrap_future(inner)
        except BrokenProcessPool:
            pool.retired = True  # a worker died; a retry gets fresh processes
            raise
        except asyncio.CancelledError:
            pool.live.discard(inner)
            if inner.cancel() or inner.done():
                raise
            pool.abandoned.add(inner)
            if not pool.live:
                await self._kill(pool)
                raise
            await self._wait_for(pool, inner, on_cancel)
            raise
        finally:
            pool.live.discard(inner)
            if pool.only_abandoned_work():
                await self._kill(pool)

    async def _wait_for(self, pool: _Pool, inner: concurrent.futures.Future[Any],
                        on_cancel: Callable[[], None] | None) -> None:
        """Give cancelled work that shares its pool ``grace`` seconds to return."""
        if on_cancel is not None:
            on_cancel()
        waiter = asyncio.wrap_future(inner)
        first = min(WAIT_NOTICE_S, self.grace)
        try:
            await asyncio.wait([waiter, pool.killed], timeout=first,
                               return_when=asyncio.FIRST_COMPLETED)
            if not (waiter.done() or pool.killed.done()) and self.grace > first:
                waiting = getattr(on_cancel, "waiting", None)
                if waiting is not None:
                    waiting()
                await asyncio.wait([waiter, pool.killed], timeout=self.grace - first,
                                   return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            waiter.cancel()  # cancelled again while waiting: give it up now
            pool.retired = True
            raise
        if waiter.done():
            late = None if waiter.cancelled() else waiter.exception()
            if late is not None and not isinstance(late, BrokenProcessPool) and run_failing():
                raise late from None  # failed on its own while the run was failing: report it
        else:
            waiter.cancel()
            pool.retired = True  # its processes are busy with abandoned work

    async def _kill(self, pool: _Pool) -> None:
        """Terminate the processes of a pool nobody waits on any more."""
        if pool.dead:
            return
        pool.dead = pool.retired = True
        processes: list[BaseProcess] = list((pool.executor._processes or {}).values())
        pool.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        if not pool.killed.done():
            pool.killed.set_result(None)
        await asyncio.to_thread(_reap, processes, self.grace)

    async def close(self) -> None:
        pools, self._pools, self._pool = self._pools, [], None
        for pool in pools:
            if pool.dead:
                continue
            if any(not f.done() for f in pool.abandoned | pool.live):
                await self._kill(pool)
            else:
                pool.dead = True
                await asyncio.to_thread(pool.executor.shutdown, wait=True, cancel_futures=True)


def _reap(processes: list[BaseProcess], grace: float) -> None:
    for process in processes:
        process.join(timeout=max(grace, 1.0))
        if process.is_alive():
            process.kill()
            process.join(timeout=1.0)
