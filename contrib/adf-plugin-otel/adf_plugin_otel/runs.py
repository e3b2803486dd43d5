"""One run as a trace: a ``adf run`` span, a ``stage N`` span per top-level stage under it,
and a span per attempt of each component under its stage; and its metrics.

Every text that leaves the process (the flow, errors) goes through ``run.redact`` first, and
options only reach it masked (``run.component``), so no secret is exported. With streams
stages overlap: a stage span ends when its last component has ended.
"""

from __future__ import annotations

import traceback
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from adf_plugin_otel.conventions import record_attributes, static_attributes


class RunTrace:
    """The spans of one run while it goes on (called on the run's event loop thread)."""

    def __init__(self, telemetry: Any, run: Any) -> None:
        self.telemetry = telemetry
        self.run = run
        self.tracer = telemetry.tracer
        self.instruments = telemetry.instruments
        #: alias -> (kind, stage, component name, convention attributes)
        self.described: dict[str, tuple[str, int, str, dict[str, Any]]] = {}
        self.stages: dict[int, tuple[Any, set[str]]] = {}
        self.attempts: dict[str, Any] = {}
        self.span: Any = None
        if self.tracer is not None:
            self.span = self.tracer.start_span("adf run", attributes={
                "adf.run_id": run.run_id, "adf.flow": run.redact(str(run.flow))})

    def describe(self, alias: str) -> tuple[str, int, str, dict[str, Any]]:
        found = self.described.get(alias)
        if found is None:
            info = self.run.component(alias)
            kind = str(info.get("kind", "component"))
            found = (kind, int(info.get("stage", 0)), str(info.get("name", alias)),
                     static_attributes(kind, info.get("options", {})))
            self.described[alias] = found
        return found

    # spans -------------------------------------------------------------------------------
    def stage_started(self, stage: int, aliases: tuple[str, ...]) -> None:
        if self.span is None:
            return
        span = self.tracer.start_span(
            f"stage {stage}", context=trace.set_span_in_context(self.span),
            attributes={"adf.run_id": self.run.run_id, "adf.stage": stage,
                        "adf.components": list(aliases)})
        self.stages[stage] = (span, set(aliases))
        if not aliases:
            self._end_stage(stage)

    def component_started(self, alias: str, attempt: int) -> None:
        if self.span is None:
            return
        kind, stage, name, static = self.describe(alias)
        parent = self.stages.get(stage, (self.span, None))[0]
        self.attempts[alias] = self.tracer.start_span(
            alias, context=trace.set_span_in_context(parent),
            attributes={"adf.run_id": self.run.run_id, "adf.alias": alias,
                        "adf.component": name, "adf.kind": kind, "adf.stage": stage,
                        "adf.attempt": attempt, **static})

    def component_retrying(self, alias: str, attempt: int, error: BaseException,
                           delay: float) -> None:
        span = self.attempts.pop(alias, None)
        if span is not None:
            span.set_attributes({"adf.status": "retrying", "adf.retry_in_s": delay})
            self._error(span, error)
            span.end()

    def component_finished(self, alias: str, status: str, seconds: float, records_in: int,
                           records_out: int, attempt: int, error: BaseException | None) -> None:
        kind, stage, name, static = self.describe(alias)
        span = self.attempts.pop(alias, None)
        if span is None and self.span is not None:  # ended before an attempt started
            self.component_started(alias, attempt)
            span = self.attempts.pop(alias)
        if span is not None:
            span.set_attributes({
                "adf.status": status, "adf.attempt": attempt, "adf.records_in": records_in,
                "adf.records_out": records_out,
                **record_attributes(kind, static, records_in, records_out)})
            if error is not None:
                self._error(span, error)
            elif status != "succeeded":
                span.set_status(Status(StatusCode.ERROR, status))
            span.end()
        if self.instruments is not None:
            attributes = {"adf.alias": alias, "adf.component": name, "adf.kind": kind,
                          "adf.status": status}
            self.instruments.records_in.add(records_in, attributes)
            self.instruments.records_out.add(records_out, attributes)
            self.instruments.component_duration.record(seconds, attributes)
        stage_span, members = self.stages.get(stage, (None, None))
        if stage_span is not None and members is not None:
            if status != "succeeded":
                stage_span.set_status(Status(StatusCode.ERROR, f"{alias} {status}"))
            members.discard(alias)
            if not members:
                self._end_stage(stage)

    def finish(self, report: Any) -> None:
        """The run ended: close what is still open, end the run span, export."""
        status = str(report.get("status", "failed"))
        for alias, span in list(self.attempts.items()):
            span.set_attributes({"adf.status": "cancelled"})
            span.set_status(Status(StatusCode.ERROR, "cancelled"))
            span.end()
            self.attempts.pop(alias)
        for stage in list(self.stages):
            self._end_stage(stage)
        if self.span is not None:
            self.span.set_attribute("adf.status", status)
            if status != "succeeded":
                # the report's error line is already redacted by the engine
                self.span.set_status(Status(StatusCode.ERROR, str(report.get("error") or "")))
            self.span.end()
        if self.instruments is not None:
            self.instruments.run_duration.record(float(report.get("seconds") or 0.0),
                                                 {"adf.status": status})
        self.telemetry.flush_soon()

    def _end_stage(self, stage: int) -> None:
        found = self.stages.pop(stage, None)
        if found is not None:
            found[0].end()

    def _error(self, span: Any, error: BaseException) -> None:
        redact = self.run.redact
        message = redact(str(error))
        span.add_event("exception", {
            "exception.type": type(error).__qualname__,
            "exception.message": message,
            "exception.stacktrace": redact("".join(traceback.format_exception(error)))})
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {message}"))
