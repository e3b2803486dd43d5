"""The run report: what after-run components and the ``adf_run_finished`` hook receive.

A read-only mapping: ``run_id``, ``flow``, ``status`` (``succeeded`` | ``failed``), ``error``
(None or one line, secrets hidden by the run's redactor), ``seconds``, and ``components``:
alias -> ``{"status", "records_in", "records_out", "records_rejected", "seconds"}`` for every
component of the flow but the after-run ones (status ``succeeded``, ``failed``,
``cancelled``, or ``skipped`` for one that never started).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from adf_core.engine.run_state import RunState


def one_line(error: BaseException | None) -> str | None:
    """An error as one line (the first line of its message, with its type when the message
    does not say what failed)."""
    if error is None:
        return None
    import asyncio

    if isinstance(error, asyncio.CancelledError):
        reason = str(error.args[0]) if error.args and error.args[0] else ""
        return f"cancelled ({reason})" if reason else "cancelled"
    from adf_core.errors import FlowError

    text = (str(error).strip().splitlines() or [""])[0]
    if isinstance(error, FlowError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


STATUS_WORDS = {"finished": "succeeded", "failed": "failed", "cancelled": "cancelled",
                "timing-out": "cancelled", "retrying": "cancelled", "running": "cancelled",
                "queued": "cancelled", "pending": "skipped"}


class RunReport(Mapping[str, Any]):
    """The report, read-only; its ``components`` table is built on first access (a run
    nobody reports on pays nothing for it)."""

    __slots__ = ("_components", "_run", "_top")

    def __init__(self, run: RunState, top: dict[str, Any]) -> None:
        self._run: RunState | None = run
        self._top = top
        self._components: Mapping[str, Mapping[str, Any]] | None = None

    def _table(self) -> Mapping[str, Mapping[str, Any]]:
        if self._components is None:
            assert self._run is not None
            self._components = _components(self._run)
            self._run = None
        return self._components

    def __getitem__(self, key: str) -> Any:
        if key == "components":
            return self._table()
        return self._top[key]

    def __iter__(self) -> Iterator[str]:
        return iter((*self._top, "components"))

    def __len__(self) -> int:
        return len(self._top) + 1

    def __repr__(self) -> str:
        return f"RunReport({dict(self)!r})"


def _components(run: RunState) -> Mapping[str, Mapping[str, Any]]:
    components: dict[str, Mapping[str, Any]] = {}
    statuses = run.info.statuses
    for comp in run.plan.components:
        if comp.after_run:
            continue
        alias = comp.alias
        counts = run.records.get(alias)
        ended = run.ended_as.get(alias) or ("succeeded" if counts is not None else
                                            STATUS_WORDS.get(statuses.get(alias, "pending"),
                                                             "skipped"))
        components[alias] = MappingProxyType({
            "status": ended,
            "records_in": counts[0] if counts else 0,
            "records_out": counts[1] if counts else 0,
            "records_rejected": counts[2] if counts else 0,
            "seconds": round(run.timings.get(alias, 0.0), 6),
        })
    return MappingProxyType(components)


def build_report(run: RunState, status: str, error: BaseException | None,
                 seconds: float, redact: Callable[[str], str] | None = None
                 ) -> Mapping[str, Any]:
    """The read-only run report that after-run components and ``adf_run_finished`` receive."""
    line = one_line(error)
    if line is not None and redact is not None:
        line = redact(line)
    return RunReport(run, {
        "run_id": run.run_id,
        "flow": run.info.flow,
        "status": status,
        "error": line,
        "seconds": round(seconds, 6),
    })


def after_run_upstream(run: RunState, aliases: tuple[str, ...]) -> dict[str, Any]:
    """What an after-run component receives as ``upstream``: the outputs of what preceded it
    where it was written (``None`` for a stream that was read, or a component that did not
    finish)."""
    from adf_core.engine.streams import Stream

    found: dict[str, Any] = {}
    for alias in aliases:
        value = run.outputs.get(alias)
        found[alias] = None if isinstance(value, Stream) else value
    return found
