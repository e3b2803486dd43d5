"""A small OTLP/HTTP receiver on 127.0.0.1 that decodes what it receives: for the tests, the
benchmark and a quick look at what a run exports (``python -m adf_plugin_otel.receiver``
prints each span and metric as it arrives).

It answers ``POST /v1/traces`` and ``POST /v1/metrics`` (protobuf, optionally gzip) like a
collector and keeps the decoded ``ExportTraceServiceRequest`` / ``ExportMetricsServiceRequest``.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

KINDS: dict[str, tuple[Any, Any]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
}


def value_of(any_value: Any) -> Any:
    """A Python value from an OTLP ``AnyValue``."""
    which = any_value.WhichOneof("value")
    if which == "array_value":
        return [value_of(v) for v in any_value.array_value.values]
    if which is None:
        return None
    return getattr(any_value, which)


def attributes(items: Any) -> dict[str, Any]:
    return {item.key: value_of(item.value) for item in items}


@dataclass
class Span:
    """A received span, decoded."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    status_code: int  # 0 unset, 1 ok, 2 error
    status_message: str
    events: list[tuple[str, dict[str, Any]]]
    resource: dict[str, Any]
    start: int
    end: int


@dataclass
class Point:
    """A received metric data point: a sum's value, or a histogram's count and sum."""

    metric: str
    unit: str
    attributes: dict[str, Any]
    value: float
    count: int = 0


class Receiver:
    """Collects what exporters send to ``endpoint`` (``OTEL_EXPORTER_OTLP_ENDPOINT``)."""

    def __init__(self, on_request: Callable[[str, Any], None] | None = None) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.on_request = on_request
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                kind = KINDS.get(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if kind is None:
                    self.send_error(404)
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = kind[0]()
                request.ParseFromString(body)
                with receiver.lock:
                    receiver.requests.append((self.path, request))
                if receiver.on_request is not None:
                    receiver.on_request(self.path, request)
                answer = kind[1]().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="otlp-receiver")

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _of(self, path: str) -> list[Any]:
        with self.lock:
            return [request for kind, request in self.requests if kind == path]

    def spans(self) -> list[Span]:
        """Every span received so far."""
        return [span for request in self._of("/v1/traces") for span in decode_spans(request)]

    def points(self) -> list[Point]:
        """Every metric data point received so far."""
        return [point for request in self._of("/v1/metrics")
                for point in decode_points(request)]


def decode_spans(request: Any) -> Iterator[Span]:
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield Span(span.name, span.trace_id.hex(), span.span_id.hex(),
                           span.parent_span_id.hex(), attributes(span.attributes),
                           span.status.code, span.status.message,
                           [(event.name, attributes(event.attributes)) for event in span.events],
                           resource, span.start_time_unix_nano, span.end_time_unix_nano)


def decode_points(request: Any) -> Iterator[Point]:
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                which = metric.WhichOneof("data")
                if which == "sum":
                    for point in metric.sum.data_points:
                        value = point.as_int if point.HasField("as_int") else point.as_double
                        yield Point(metric.name, metric.unit, attributes(point.attributes),
                                    value)
                elif which == "histogram":
                    for point in metric.histogram.data_points:
                        yield Point(metric.name, metric.unit, attributes(point.attributes),
                                    point.sum, point.count)


def main() -> None:
    """Print what arrives until interrupted."""
    import time

    def show(path: str, request: Any) -> None:
        items = decode_spans(request) if path == "/v1/traces" else decode_points(request)
        for item in items:
            print(item, flush=True)

    with Receiver(show) as receiver:
        print(f"OTEL_EXPORTER_OTLP_ENDPOINT={receiver.endpoint}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
