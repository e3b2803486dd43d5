"""A sample observer plugin: records what the lifecycle hooks tell it (in ``CALLS``)."""

from __future__ import annotations

from typing import Any

from adf_core import hookimpl

CALLS: list[tuple[Any, ...]] = []


@hookimpl
def adf_run_started(run: Any) -> None:
    CALLS.append(("run_started", run.run_id, run.flow))


@hookimpl
def adf_component_finished(run: Any, alias: str, status: str, seconds: float,
                           records_in: int, records_out: int) -> None:
    assert seconds >= 0
    CALLS.append(("component_finished", alias, status, records_in, records_out))


@hookimpl
def adf_run_finished(run: Any, report: Any) -> None:
    CALLS.append(("run_finished", report))
