"""The lifecycle hooks as the engine's run observer (DESIGN 16).

The ``adf_run_started``, ``adf_stage_started``, ``adf_component_started``,
``adf_component_retrying``, ``adf_component_finished`` and ``adf_run_finished`` implementations
of the plugin manager in use are called through :mod:`adf_core.engine.seams`, each
implementation isolated: one that raises is logged (``observer.failed``, naming its plugin)
and never fails the run, nor keeps the others from being called. With no implementation
registered the engine gets no observer and does no work for them.

The plugin manager in use is the one given to :func:`observing` (the CLI passes its
registry's; tests and applications may pass their own), else the process-wide one once it has
been loaded (by ``adf``, by ``DataFlow.parse`` resolving a registered name, by
``adf_core.registry``, or by calling ``adf_core.plugins.get_plugin_manager()``). A run never
loads the installed plugins just to look for observers: a script whose flow is made of its own
callables pays nothing for plugins it does not use.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from adf_core.observe.lifecycle import observer_failed
from adf_core.plugins import manager
from adf_core.plugins.manager import PluginManager

LIFECYCLE_HOOKS = ("adf_run_started", "adf_stage_started", "adf_component_started",
                   "adf_component_retrying", "adf_component_finished", "adf_run_finished")

_chosen: contextvars.ContextVar[PluginManager | None] = contextvars.ContextVar(
    "adf_observing", default=None)


@contextmanager
def observing(pm: PluginManager) -> Iterator[PluginManager]:
    """Runs started inside this block are observed by ``pm``'s lifecycle hooks."""
    token = _chosen.set(pm)
    try:
        yield pm
    finally:
        _chosen.reset(token)


class HookObserver:
    """Calls each lifecycle hook implementation of a plugin manager, isolated."""

    name = "plugins"

    def __init__(self, pm: PluginManager) -> None:
        self.impls = {hook: list(getattr(pm.hook, hook).get_hookimpls())
                      for hook in LIFECYCLE_HOOKS}
        for hook, impls in self.impls.items():
            if not impls:  # the engine skips a method that is None: no call, no work
                setattr(self, hook.removeprefix("adf_"), None)

    def _call(self, hook: str, run: Any, **kwargs: Any) -> None:
        kwargs["run"] = run
        for impl in reversed(self.impls[hook]):  # pluggy's order: last registered first
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception as exc:
                observer_failed(getattr(run, "run_id", "?"), impl.plugin_name, hook, exc)

    def run_started(self, run: Any) -> None:
        self._call("adf_run_started", run)

    def stage_started(self, run: Any, stage: int, aliases: tuple[str, ...]) -> None:
        self._call("adf_stage_started", run, stage=stage, aliases=aliases)

    def component_started(self, run: Any, alias: str, attempt: int) -> None:
        self._call("adf_component_started", run, alias=alias, attempt=attempt)

    def component_retrying(self, run: Any, alias: str, attempt: int, error: BaseException,
                           delay: float) -> None:
        self._call("adf_component_retrying", run, alias=alias, attempt=attempt, error=error,
                   delay=delay)

    def component_finished(self, run: Any, alias: str, status: str, seconds: float,
                           records_in: int, records_out: int, attempt: int = 1,
                           error: BaseException | None = None) -> None:
        self._call("adf_component_finished", run, alias=alias, status=status, seconds=seconds,
                   records_in=records_in, records_out=records_out, attempt=attempt,
                   error=error)

    def run_finished(self, run: Any, report: Any) -> None:
        self._call("adf_run_finished", run, report=report)


def run_observers() -> list[HookObserver]:
    """The observer of the run about to start: none when no plugin implements a lifecycle
    hook (the run then does no work for them)."""
    pm = _chosen.get() or manager.loaded_plugin_manager()
    if pm is None:
        return []
    observer = HookObserver(pm)
    return [observer] if any(observer.impls.values()) else []
