"""Where sync components run: an executor seam with ``threads`` built in.

An executor is created per run, on first use, and closed when the run ends. Factories are
registered by name; plugins add more through the ``adf_executors`` hook.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Callable
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

    def __init__(self, max_workers: int = 64, grace: float = 10.0, **_: Any) -> None:
        self.grace = grace
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="adf-worker")

    async def start(self) -> None:
        return None

    async def call(self, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
                   on_cancel: Callable[[], None] | None = None) -> Any:
        context = contextvars.copy_context()
        inner = self._pool.submit(context.run, fn, *args, **kwargs)
        try:
            return await asyncio.wrap_future(inner)
        except asyncio.CancelledError:
            if not inner.cancel() and not inner.done():
                if on_cancel is not None:
                    on_cancel()
                waiter = asyncio.wrap_future(inner)
                await asyncio.wait([waiter], timeout=self.grace)
                if waiter.done() and not waiter.cancelled():
                    waiter.exception()  # retrieved: the cancellation is what we report
            raise

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


ExecutorFactory = Callable[..., Any]

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
    if getter is None:
        return {}
    return dict(getter())
