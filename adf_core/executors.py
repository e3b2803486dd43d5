"""Where sync components run: an executor seam with ``threads`` built in.

An executor is created per run, on first use, and closed when the run ends. Factories are
registered by name; plugins add more through the ``adf_executors`` hook.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import os
import threading
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, Protocol


class Executor(Protocol):
    """Runs a sync callable away from the event loop."""

    name: str
    #: True when the callable leaves this process, so it and its arguments must pickle.
    remote: bool

    async def start(self) -> None: ...

    async def call(self, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
                   on_cancel: Callable[[], None] | None = None) -> Any:
        """Run ``fn(*args, **kwargs)`` and return its result.

        When cancelled while the work cannot be interrupted, call ``on_cancel`` and wait
        (for a documented grace period) before re-raising ``CancelledError``.
        """
        ...

    async def close(self) -> None: ...


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


async def await_thread(inner: concurrent.futures.Future[Any], grace: float,
                       on_cancel: Callable[[], None] | None = None,
                       on_abandon: Callable[[], None] | None = None) -> Any:
    """Await work running in a thread; on cancellation wait for it up to ``grace`` seconds.

    A thread cannot be interrupted. If it fails on its own while we wait and the run is
    already failing (a sibling's error cancelled us), its error is reported too; otherwise
    the cancellation is the outcome.
    """
    try:
        return await asyncio.wrap_future(inner)
    except asyncio.CancelledError:
        if inner.cancel() or inner.done():
            raise
        if on_cancel is not None:
            on_cancel()
        waiter = asyncio.wrap_future(inner)
        done, _ = await asyncio.wait([waiter], timeout=grace)
        if not done:
            global _abandoned
            _abandoned += 1
            if on_abandon is not None:
                on_abandon()
            raise
        late = None if waiter.cancelled() else waiter.exception()
        if late is not None and _run_failing():
            raise late from late.__cause__  # keeps its own cause chain
        raise


_abandoned = 0


def abandoned_threads() -> int:
    """How many calls this process gave up waiting for (their threads may still run)."""
    return _abandoned


def _run_failing() -> bool:
    from adf_core.run_info import current_run

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


ExecutorFactory = Callable[..., Any]

#: The environment variable read when no executor address is given.
ADDRESS_ENV = "ADF_EXECUTOR_ADDRESS"
#: How many worker processes the ``processes`` executor and a local Dask cluster start.
WORKERS_ENV = "ADF_EXECUTOR_WORKERS"


def executor_address(address: str | None) -> str | None:
    """``address``, else ``$ADF_EXECUTOR_ADDRESS``, else None (start something local)."""
    return address or os.environ.get(ADDRESS_ENV) or None


def worker_count() -> int:
    """Worker processes for a local pool or cluster: ``$ADF_EXECUTOR_WORKERS``, else the
    CPUs this process may use (CPU-bound work gains nothing from more)."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text:
        try:
            count = int(text)
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(f"{WORKERS_ENV} must be an integer >= 1, got {text!r}")
        return count
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def pickle_problem(fn: Callable[..., Any], dumps: Callable[[Any], bytes], where: str,
                   hint: str) -> str | None:
    """Why ``fn`` cannot be sent to ``where`` (None when ``dumps(fn)`` works)."""
    try:
        dumps(fn)
    except Exception as exc:
        return (f"it must pickle to run in {where}, and it does not "
                f"({type(exc).__name__}: {exc}); {hint}")
    return None


def portable(args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Arguments that pickle: the read-only ``context`` mapping becomes a plain dict."""
    def plain(value: Any) -> Any:
        return dict(value) if isinstance(value, MappingProxyType) else value

    return [plain(v) for v in args], {k: plain(v) for k, v in kwargs.items()}

_BUILTIN: dict[str, str] = {
    "threads": "adf_core.executors:ThreadExecutor",
    "processes": "adf_core.executor_processes:ProcessExecutor",
    "dask": "adf_core.executor_dask:DaskExecutor",
}


def executor_names() -> list[str]:
    """Every executor name: the built-ins and those registered by plugins."""
    return sorted({*_BUILTIN, *_plugin_factories()})


def get_factory(name: str) -> ExecutorFactory:
    """The factory for ``name``; raise LookupError with the known names."""
    if name in _BUILTIN:
        module_name, _, attr = _BUILTIN[name].partition(":")
        import importlib

        module = importlib.import_module(module_name)
        factory: ExecutorFactory = getattr(module, attr)
        return factory
    plugins = _plugin_factories()
    if name in plugins:
        return plugins[name]
    from adf_core.expression import did_you_mean

    known = executor_names()
    raise LookupError(
        f"unknown executor {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}")


def _plugin_factories() -> dict[str, ExecutorFactory]:
    try:
        from adf_core import plugins
    except ImportError:
        return {}
    getter = getattr(plugins, "executor_factories", None)
    if getter is not None:
        return dict(getter())
    found: dict[str, ExecutorFactory] = {}
    for factories in plugins.get_plugin_manager().hook.adf_executors():
        found.update(factories or {})
    return found
