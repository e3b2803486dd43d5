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
# fails the run; with no observer registered, the engine does no work for them. An
# implementation names only the arguments it wants (pluggy passes those), so an observer
# written before an argument was added keeps working.


@hookspec
def adf_run_started(run: Any) -> None:
    """A run started; ``run`` is its ``adf_core.RunInfo`` (``run_id``, ``flow``,
    ``component(alias)``, ``redact(text)``, ...)."""


@hookspec
def adf_stage_started(run: Any, stage: int, aliases: tuple[str, ...]) -> None:
    """Top-level stage ``stage`` (from 1) started; ``aliases`` are all its components. With
    streams, a stage starts while the stage before it still produces its stream. The
    after-run components are a stage of their own, numbered after the last."""


@hookspec
def adf_component_started(run: Any, alias: str, attempt: int) -> None:
    """Attempt ``attempt`` (from 1) of a component started."""


@hookspec
def adf_component_retrying(run: Any, alias: str, attempt: int, error: BaseException,
                           delay: float) -> None:
    """Attempt ``attempt`` failed with ``error``; the next one starts in ``delay`` seconds.
    Before exporting the error's text, pass it through ``run.redact``."""


@hookspec
def adf_component_finished(run: Any, alias: str, status: str, seconds: float,
                           records_in: int, records_out: int, attempt: int,
                           error: BaseException | None) -> None:
    """A component ended: ``status`` is ``succeeded``, ``failed`` or ``cancelled``;
    ``seconds`` covers all its attempts, ``attempt`` is the last one (0: its inputs could
    not be bound, it never started), ``error`` what it failed with (None otherwise; pass its
    text through ``run.redact`` before exporting it)."""


@hookspec
def adf_run_finished(run: Any, report: Any) -> None:
    """A run ended, after every commit settled; ``report`` is the mapping that after-run
    components receive (``run_id``, ``flow``, ``status``, ``error``, ``seconds``,
    ``components``)."""
