"""The process's OpenTelemetry providers, set up from the ``OTEL_*`` variables on first use.

One tracer provider and one meter provider per process, of their own (an application's global
providers are left alone), exporting over OTLP/HTTP with protobuf. The SDK reads the standard
variables itself: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (and the ``_TRACES_``/``_METRICS_`` forms),
``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_EXPORTER_OTLP_TIMEOUT``, ``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``. Here:
``OTEL_SDK_DISABLED=true`` turns everything off (nothing is imported), and
``OTEL_TRACES_EXPORTER=none`` / ``OTEL_METRICS_EXPORTER=none`` one signal.

Nothing is exported, and nothing imported, until an endpoint is named: an environment where
the plugin happens to be installed (a test run, a laptop) does not send every run to a
collector that is not there and wait for it at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

log = logging.getLogger("adf.otel")

#: an endpoint must be named for anything to be exported
ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
             "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")

_lock = threading.Lock()
_state: dict[str, Any] = {}  # "telemetry": the Telemetry, or None once set-up failed or is off


def _off(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "none"


def telemetry() -> Telemetry | None:
    """The process's telemetry, set up on the first call; None when it is turned off or
    could not be set up (said once, as a warning on the ``adf.otel`` logger)."""
    if "telemetry" in _state:
        return _state["telemetry"]
    with _lock:
        if "telemetry" not in _state:
            _state["telemetry"] = _set_up()
    return _state["telemetry"]


def _set_up() -> Telemetry | None:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if not any(os.environ.get(name) for name in ENDPOINTS):
        return None
    traces, metrics = not _off("OTEL_TRACES_EXPORTER"), not _off("OTEL_METRICS_EXPORTER")
    if not traces and not metrics:
        return None
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    if protocol != "http/protobuf":
        log.warning("adf-plugin-otel exports over OTLP/HTTP with protobuf only; "
                    "OTEL_EXPORTER_OTLP_PROTOCOL=%s is ignored", protocol)
    try:
        return Telemetry(traces, metrics)
    except Exception as exc:  # a broken install, an unusable variable: the runs go on
        log.warning("adf-plugin-otel is off: %s: %s", type(exc).__name__, exc)
        return None


class Telemetry:
    """The providers, the tracer and the instruments every run of this process reports to."""

    def __init__(self, traces: bool = True, metrics: bool = True) -> None:
        from opentelemetry.sdk.resources import Resource

        from adf_plugin_otel import __name__ as scope

        resource = Resource.create()
        if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
            resource = resource.merge(Resource({"service.name": "adf"}))
        self.tracer: Any = None
        self.tracer_provider: Any = None
        self.meter_provider: Any = None
        if traces:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            self.tracer_provider = TracerProvider(resource=resource)
            self.tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            self.tracer = self.tracer_provider.get_tracer(scope, "0.1.0")
        self.instruments: Any = None
        if metrics:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            reader = PeriodicExportingMetricReader(OTLPMetricExporter())
            self.meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
            self.instruments = Instruments(self.meter_provider.get_meter(scope, "0.1.0"))
        self.exporting = threading.Lock()  # one flush at a time, and none after shutdown
        self.closed = False
        # registered after the providers' own handlers, so it runs before them: a flush in
        # flight ends first, and none starts once the SDK is shutting down
        atexit.register(self.close)

    def start(self, run: Any) -> Any:
        """The trace of a run that starts now."""
        from adf_plugin_otel.runs import RunTrace

        return RunTrace(self, run)

    def flush(self) -> None:
        """Export what this process has recorded so far (waits for the collector)."""
        with self.exporting:
            if self.closed:
                return
            if self.tracer_provider is not None:
                self.tracer_provider.force_flush()
            if self.meter_provider is not None:
                self.meter_provider.force_flush()

    def close(self) -> None:
        """No more flushes (at exit; the SDK's own handlers then export the rest)."""
        with self.exporting:
            self.closed = True

    def shutdown(self) -> None:
        """Export the rest and stop exporting (a process that outlives its collector)."""
        self.close()
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()

    def flush_soon(self) -> None:
        """Export what a run recorded, on a thread of its own: the run never waits for the
        collector (an unreachable one retries for seconds). A process that exits right after
        exports the rest at exit (the SDK shuts its providers down then)."""
        threading.Thread(target=self.flush, name="adf-otel-flush", daemon=True).start()


class Instruments:
    """The metrics: records in and out (counters) and durations (histograms, seconds)."""

    def __init__(self, meter: Any) -> None:
        self.records_in = meter.create_counter(
            "adf.component.records_in", unit="{record}",
            description="records a component received (datasets handed to it, streams read)")
        self.records_out = meter.create_counter(
            "adf.component.records_out", unit="{record}",
            description="records a component returned or streamed")
        self.component_duration = meter.create_histogram(
            "adf.component.duration", unit="s",
            description="how long a component took, all its attempts")
        self.run_duration = meter.create_histogram(
            "adf.run.duration", unit="s", description="how long a run took")
