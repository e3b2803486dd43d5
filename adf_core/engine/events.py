"""The engine's structlog events for one run (``component.started`` and the rest).

Built only when someone listens: with structlog unconfigured or info events filtered out,
``info_on`` is False and the hot path builds no event at all.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from adf_core.observe.tracing import run_logger

if TYPE_CHECKING:
    from adf_core.engine.plan import PlannedComponent


class RunEvents:
    """Emits the events of one run, bound with its ``run_id``."""

    __slots__ = ("info_on", "log")

    def __init__(self, run_id: str) -> None:
        self.log, self.info_on = run_logger(run_id)

    def event(self, name: str, **fields: Any) -> None:
        if self.info_on:
            self.log.info(name, **fields)

    def failed(self, comp: PlannedComponent, where: str, attempt: int, started: float,
               exc: BaseException, retrying: float | None = None,
               consequence: bool = False) -> None:
        """``component.retrying`` (a retry follows in ``retrying`` seconds) or
        ``component.failed`` (not for a consequence of another component's failure)."""
        if self.log is None:
            return
        duration = time.perf_counter() - started
        fields = dict(stage=comp.stage, component=comp.alias, attempt=attempt,
                      executor=where, duration_ms=round(duration * 1000, 3),
                      start=time.time() - duration, error=f"{type(exc).__name__}: {exc}")
        if retrying is not None:
            self.log.warning("component.retrying", delay_s=round(retrying, 3), **fields)
        elif not consequence:
            self.log.error("component.failed", **fields)

    def waiting(self, comp: PlannedComponent, grace: float) -> None:
        """A cancelled sync component has outlived a short grace: say that we wait for it."""
        if self.log is not None:
            self.log.warning("component.waiting", stage=comp.stage, component=comp.alias,
                             reason="cancelled while running in a thread, which cannot be "
                                    "interrupted; waiting for it to return",
                             grace_s=grace)

    def abandoned(self, comp: PlannedComponent, grace: float) -> None:
        """A cancelled sync component outlived the grace period: it is given up."""
        if self.log is not None:
            self.log.warning("component.abandoned", stage=comp.stage, component=comp.alias,
                             reason="still running in its thread after the grace period; "
                                    "the run no longer waits for it",
                             grace_s=grace)

    def warning(self, name: str, **fields: Any) -> None:
        if self.log is not None:
            self.log.warning(name, **fields)

    def error(self, name: str, **fields: Any) -> None:
        if self.log is not None:
            self.log.error(name, **fields)

    def finished_flow(self, status: str, started: float, error: str | None = None) -> None:
        if self.log is not None:
            fields: dict[str, Any] = {"error": error} if error else {}
            self.log.info("flow.finished", status=status,
                          duration_ms=round((time.perf_counter() - started) * 1000, 3),
                          **fields)
