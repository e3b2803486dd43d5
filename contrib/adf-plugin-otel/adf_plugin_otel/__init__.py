"""OpenTelemetry for async-data-flow: every run as a trace (run -> stage -> component attempt)
and metrics (records in/out, durations), exported over OTLP/HTTP.

Configured only by the standard ``OTEL_*`` environment variables (endpoint, headers, service
name, resource attributes, sampler, ``OTEL_SDK_DISABLED``). This module implements the
lifecycle hooks and imports nothing from OpenTelemetry: the SDK is imported when the first run
starts, so ``adf --help`` and a process whose runs are not observed pay nothing for it.
"""

from __future__ import annotations

from typing import Any

from adf_core.hookspecs import hookimpl
from adf_plugin_otel.exporting import telemetry

__all__ = ["adf_component_finished", "adf_component_retrying", "adf_component_started",
           "adf_run_finished", "adf_run_started", "adf_stage_started"]

#: run id -> its trace (``adf_plugin_otel.runs.RunTrace``), while the run goes on
_runs: dict[str, Any] = {}


@hookimpl
def adf_run_started(run: Any) -> None:
    exporting = telemetry()
    if exporting is not None:
        _runs[run.run_id] = exporting.start(run)


@hookimpl
def adf_stage_started(run: Any, stage: int, aliases: tuple[str, ...]) -> None:
    trace = _runs.get(run.run_id)
    if trace is not None:
        trace.stage_started(stage, aliases)


@hookimpl
def adf_component_started(run: Any, alias: str, attempt: int) -> None:
    trace = _runs.get(run.run_id)
    if trace is not None:
        trace.component_started(alias, attempt)


@hookimpl
def adf_component_retrying(run: Any, alias: str, attempt: int, error: BaseException,
                           delay: float) -> None:
    trace = _runs.get(run.run_id)
    if trace is not None:
        trace.component_retrying(alias, attempt, error, delay)


@hookimpl
def adf_component_finished(run: Any, alias: str, status: str, seconds: float,
                           records_in: int, records_out: int, attempt: int,
                           error: BaseException | None) -> None:
    trace = _runs.get(run.run_id)
    if trace is not None:
        trace.component_finished(alias, status, seconds, records_in, records_out, attempt,
                                 error)


@hookimpl
def adf_run_finished(run: Any, report: Any) -> None:
    trace = _runs.pop(run.run_id, None)
    if trace is not None:
        trace.finish(report)
