"""``--trace-file``: the run as Chrome trace-event JSON (open it in https://ui.perfetto.dev).

``TraceCollector`` is a structlog processor fed by the engine's events. It writes one
complete ("X") event per component attempt, on tracks that show the concurrency of the
run: a track for the flow, lanes for its stages (streaming stages overlap), one lane per
overlapping coroutine on the event loop, one track per worker thread, and lanes for process
or Dask executors. Spans on one track never overlap. Each slice carries the component's
status, ``records_in``, ``records_out`` and ``records_rejected`` (and ``items`` for
streams).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PID = 1
FLOW_TID = 1
_ENDS = {"component.finished": "succeeded", "component.failed": "failed",
         "component.retrying": "failed"}
_GROUPS = {
    "stages": (100, "stages"), "loop": (200, "event loop"), "threads": (300, "thread"),
    "other": (400, "executor"),
}


@dataclass
class Span:
    """One component attempt."""

    component: str
    stage: int | None
    attempt: int
    executor: str
    thread: str | None
    start: float
    duration: float
    status: str
    args: dict[str, Any] = field(default_factory=dict)


class TraceCollector:
    """Collects engine events (a structlog processor) and renders them as a trace."""

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._started: dict[tuple[str, int], float] = {}
        self.spans: list[Span] = []
        self.instants: list[dict[str, Any]] = []
        self.flow: dict[str, Any] = {}

    def __call__(self, logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._record(str(event_dict.get("event", "")), event_dict)
        return event_dict

    def _record(self, event: str, fields: dict[str, Any]) -> None:
        now = self._clock()
        key = (str(fields.get("component")), int(fields.get("attempt") or 1))
        if event == "flow.started":
            self.flow.update(start=now, run_id=fields.get("run_id"), flow=fields.get("flow"))
        elif event == "flow.finished":
            self.flow.update(end=now, status=fields.get("status"))
        elif event == "component.started":
            self._started[key] = now
        elif event in _ENDS:
            start = fields.get("start") or self._started.get(key, now)
            duration_ms = fields.get("duration_ms")
            duration = duration_ms / 1000 if duration_ms is not None else max(now - start, 0.0)
            extra = {k: fields[k] for k in ("records_in", "records_out", "records_rejected",
                                            "items", "error")
                     if fields.get(k) is not None}
            self.spans.append(
                Span(
                    key[0],
                    fields.get("stage"),
                    key[1],
                    str(fields.get("executor") or "threads"),
                    fields.get("thread"),
                    float(start),
                    float(duration),
                    _ENDS[event],
                    extra,
                )
            )
            if event == "component.retrying":
                self.instants.append({**_plain(fields), "time": now})

    def trace(self) -> dict[str, Any]:
        """The Chrome trace-event document (``traceEvents`` plus metadata)."""
        with self._lock:
            spans = sorted(self.spans, key=lambda s: (s.start, s.component))
            instants = list(self.instants)
            flow = dict(self.flow)
        origin = min([flow.get("start", float("inf")), *(s.start for s in spans)], default=0.0)
        origin = 0.0 if origin == float("inf") else origin

        def us(seconds: float) -> int:
            return round((seconds - origin) * 1_000_000)

        events: list[dict[str, Any]] = []
        tracks: dict[int, str] = {FLOW_TID: "flow"}
        lanes: dict[int, float] = {}  # tid -> end of the last span on it
        for span in spans:
            tid = self._track(span, tracks, lanes)
            lanes[tid] = max(lanes.get(tid, 0.0), span.start + span.duration)
            events.append(
                {
                    "name": span.component,
                    "cat": f"component,{span.executor}",
                    "ph": "X",
                    "ts": us(span.start),
                    "dur": max(round(span.duration * 1_000_000), 1),
                    "pid": PID,
                    "tid": tid,
                    "args": {
                        "stage": span.stage,
                        "attempt": span.attempt,
                        "executor": span.executor,
                        "thread": span.thread,
                        "status": span.status,
                        **span.args,
                    },
                }
            )
        events.extend(self._stage_events(spans, us, tracks, lanes))
        if "start" in flow:
            end = flow.get("end") or max((s.start + s.duration for s in spans), default=0.0)
            events.append(
                {
                    "name": f"flow {flow.get('flow') or ''}".strip(),
                    "cat": "flow",
                    "ph": "X",
                    "ts": us(flow["start"]),
                    "dur": max(round((end - flow["start"]) * 1_000_000), 1),
                    "pid": PID,
                    "tid": FLOW_TID,
                    "args": {"run_id": flow.get("run_id"), "status": flow.get("status")},
                }
            )
        for item in instants:
            events.append(
                {
                    "name": f"retry {item.get('component')}",
                    "cat": "retry",
                    "ph": "i",
                    "s": "t",
                    "ts": us(item.pop("time")),
                    "pid": PID,
                    "tid": FLOW_TID,
                    "args": item,
                }
            )
        meta: list[dict[str, Any]] = [
            _meta("process_name", 0, {"name": f"adf run {flow.get('run_id') or ''}".strip()}),
        ]
        for tid, name in sorted(tracks.items()):
            meta.append(_meta("thread_name", tid, {"name": name}))
            meta.append(_meta("thread_sort_index", tid, {"sort_index": tid}))
        return {
            "traceEvents": meta + events,
            "displayTimeUnit": "ms",
            "otherData": {"run_id": flow.get("run_id"), "flow": flow.get("flow")},
        }

    @staticmethod
    def _track(span: Span, tracks: dict[int, str], lanes: dict[int, float]) -> int:
        """The first free lane of the span's group: a thread, the event loop, an executor.

        Spans on one track never overlap, so concurrent coroutines get lanes of their own.
        """
        if span.executor in ("loop", "stages"):
            base, label = _GROUPS[span.executor]
        elif span.executor == "threads":
            base, label = _GROUPS["threads"][0], f"thread {span.thread or '?'}"
        else:
            base, label = _GROUPS["other"][0], span.executor
        same = [tid for tid, name in tracks.items() if name.partition(" #")[0] == label]
        for tid in same:
            if lanes.get(tid, 0.0) <= span.start + 1e-9:
                return tid
        tid = max([t for t in tracks if base <= t < base + 100], default=base - 1) + 1
        tracks[tid] = f"{label} #{len(same) + 1}"
        return tid

    @classmethod
    def _stage_events(
        cls, spans: list[Span], us: Any, tracks: dict[int, str], lanes: dict[int, float]
    ) -> list[dict[str, Any]]:
        """One span per stage; streaming stages overlap, so they get lanes too."""
        stages: dict[int, list[Span]] = {}
        for span in spans:
            if span.stage is not None:
                stages.setdefault(int(span.stage), []).append(span)
        events = []
        for stage, members in sorted(stages.items()):
            start = min(s.start for s in members)
            end = max(s.start + s.duration for s in members)
            tid = cls._track(Span("", stage, 1, "stages", None, start, end - start, ""),
                             tracks, lanes)
            lanes[tid] = end
            events.append(
                {
                    "name": f"stage {stage}",
                    "cat": "stage",
                    "ph": "X",
                    "ts": us(start),
                    "dur": max(round((end - start) * 1_000_000), 1),
                    "pid": PID,
                    "tid": tid,
                    "args": {"components": sorted({s.component for s in members})},
                }
            )
        return events

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.trace(), indent=1, default=str))


def _meta(name: str, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "ph": "M", "pid": PID, "tid": tid, "args": args}


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if isinstance(v, str | int | float | bool | None)}
