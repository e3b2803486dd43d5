"""The hooks a plugin implements. Project name ``adf``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("adf")
hookimpl = pluggy.HookimplMarker("adf")


@hookspec
def adf_sources() -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
    """Return source components: name -> callable."""


@hookspec
def adf_transforms() -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
    """Return transform components: name -> callable."""


@hookspec
def adf_destinations() -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
    """Return destination components: name -> callable."""


@hookspec
def adf_executors() -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
    """Return executor factories: name -> factory (see ``adf_core.engine.executors``)."""


# Lifecycle hooks: observers of a run (DESIGN 16). An observer that raises is logged and never
# fails the run; with no observer registered, the engine does no work for them.


@hookspec
def adf_run_started(run: Any) -> None:
    """A run started; ``run`` is its ``adf_core.RunInfo`` (``run_id``, ``flow``, ...)."""


@hookspec
def adf_component_finished(run: Any, alias: str, status: str, seconds: float,
                           records_in: int, records_out: int) -> None:
    """A component ended: ``status`` is ``succeeded``, ``failed`` or ``cancelled``."""


@hookspec
def adf_run_finished(run: Any, report: Any) -> None:
    """A run ended, after every commit settled; ``report`` is the mapping that after-run
    components receive (``run_id``, ``flow``, ``status``, ``error``, ``seconds``,
    ``components``)."""
