"""Observers of a run (DESIGN 16): told when it starts, when each stage and each attempt of a
component starts, when an attempt fails and will be retried, when each component ends and when
the run has finished, each call isolated.

An observer is any object with some of the methods of :class:`Observer`. They are called on
the event loop's thread: keep them quick. One that raises is logged (``observer.failed``) and
never fails the run. The plugin layer turns the ``adf_*`` lifecycle hooks into one; with none
registered the engine does no work for them at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from adf_core.observe.tracing import run_logger

HOOKS = ("run_started", "stage_started", "component_started", "component_retrying",
         "component_finished", "run_finished")


class Observer(Protocol):
    """What an observer may implement (every method is optional)."""

    def run_started(self, run: Any) -> None: ...

    def stage_started(self, run: Any, stage: int, aliases: tuple[str, ...]) -> None: ...

    def component_started(self, run: Any, alias: str, attempt: int) -> None: ...

    def component_retrying(self, run: Any, alias: str, attempt: int, error: BaseException,
                           delay: float) -> None: ...

    def component_finished(self, run: Any, alias: str, status: str, seconds: float,
                           records_in: int, records_out: int, *, attempt: int = 1,
                           error: BaseException | None = None) -> None: ...

    def run_finished(self, run: Any, report: Any) -> None: ...


def observer_failed(run_id: str, observer: str, hook: str, exc: BaseException) -> None:
    """Log an observer that raised (the run goes on): a structlog event when structlog is
    configured, else a warning on the standard ``logging`` logger ``adf``."""
    error = f"{type(exc).__name__}: {exc}"
    log, _ = run_logger(run_id)
    if log is not None:
        log.warning("observer.failed", observer=observer, hook=hook, error=error)
    else:
        import logging

        logging.getLogger("adf").warning(
            "observer.failed: run %s: %s raised in %s: %s", run_id, observer, hook, error)


def _name(observer: Any) -> str:
    return str(getattr(observer, "name", None) or type(observer).__name__)


class Observers:
    """The observers of one run; each call to each of them is isolated."""

    __slots__ = ("items", "run_id")

    def __init__(self, items: Sequence[Any], run_id: str) -> None:
        self.items = list(items)
        self.run_id = run_id

    def _call(self, hook: str, *args: Any, **kwargs: Any) -> None:
        for observer in self.items:
            method = getattr(observer, hook, None)
            if method is None:
                continue
            try:
                method(*args, **kwargs)
            except Exception as exc:
                observer_failed(self.run_id, _name(observer), hook, exc)

    def run_started(self, run: Any) -> None:
        self._call("run_started", run)

    def stage_started(self, run: Any, stage: int, aliases: tuple[str, ...]) -> None:
        self._call("stage_started", run, stage, aliases)

    def component_started(self, run: Any, alias: str, attempt: int) -> None:
        self._call("component_started", run, alias, attempt)

    def component_retrying(self, run: Any, alias: str, attempt: int, error: BaseException,
                           delay: float) -> None:
        self._call("component_retrying", run, alias, attempt, error, delay)

    def component_finished(self, run: Any, alias: str, status: str, seconds: float,
                           records_in: int, records_out: int, attempt: int = 1,
                           error: BaseException | None = None) -> None:
        self._call("component_finished", run, alias, status, seconds, records_in, records_out,
                   attempt=attempt, error=error)

    def run_finished(self, run: Any, report: Any) -> None:
        self._call("run_finished", run, report)
