"""Where sync components run: an executor seam with ``threads``, ``processes`` and ``dask``
built in.

An executor is created per run, on first use, and closed when the run ends. Factories are
registered by name; plugins add more through the ``adf_executors`` hook, which the plugin
layer hands over through :mod:`adf_core.engine.seams`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

from adf_core.engine import seams
from adf_core.engine.executors.remote import (
    ADDRESS_ENV,
    WORKERS_ENV,
    executor_address,
    pickle_problem,
    portable,
    worker_count,
)
from adf_core.engine.executors.threads import (
    ThreadExecutor,
    abandoned_threads,
    await_thread,
    run_in_own_thread,
)
from adf_core.text import did_you_mean

__all__ = [
    "ADDRESS_ENV",
    "WORKERS_ENV",
    "Executor",
    "ExecutorFactory",
    "ThreadExecutor",
    "abandoned_threads",
    "await_thread",
    "executor_address",
    "executor_names",
    "get_factory",
    "pickle_problem",
    "portable",
    "run_in_own_thread",
    "worker_count",
]


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


ExecutorFactory = Callable[..., Any]

_BUILTIN: dict[str, str] = {
    "threads": "adf_core.engine.executors.threads:ThreadExecutor",
    "processes": "adf_core.engine.executors.processes:ProcessExecutor",
    "dask": "adf_core.engine.executors.dask:DaskExecutor",
}


def executor_names() -> list[str]:
    """Every executor name: the built-ins and those registered by plugins."""
    return sorted({*_BUILTIN, *seams.plugin_executors()})


def get_factory(name: str) -> ExecutorFactory:
    """The factory for ``name``; raise LookupError with the known names."""
    if name in _BUILTIN:
        module_name, _, attr = _BUILTIN[name].partition(":")
        factory: ExecutorFactory = getattr(importlib.import_module(module_name), attr)
        return factory
    plugins = seams.plugin_executors()
    if name in plugins:
        return plugins[name]
    known = executor_names()
    raise LookupError(
        f"unknown executor {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}")
