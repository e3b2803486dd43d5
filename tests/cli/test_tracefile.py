"""``--trace-file``: Chrome trace-event JSON with one complete event per component attempt."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from adf_core.observe.tracefile import TraceCollector


def complete_events(trace: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in trace["traceEvents"] if e["ph"] == "X" and "component" in e["cat"]]


def track_names(trace: dict[str, Any]) -> dict[int, str]:
    return {e["tid"]: e["args"]["name"] for e in trace["traceEvents"]
            if e["ph"] == "M" and e["name"] == "thread_name"}


def assert_no_overlap_within_tracks(events: list[dict[str, Any]]) -> None:
    by_track: dict[int, list[tuple[int, int]]] = {}
    for e in events:
        by_track.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_track.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end


def test_trace_of_a_run_shows_concurrency(invoke: Any, tmp_path: Path) -> None:
    trace_path = tmp_path / "run.json"
    result = invoke(["run", "a=slow, b=slow, numbers | plus_one | jsonl", "-o", "a.seconds=0.2",
                     "-o", "b.seconds=0.2", "-o", f"jsonl.path={tmp_path / 'o'}",
                     "--trace-file", str(trace_path), "-q"])
    assert result.exit_code == 0, result.output
    trace = json.loads(trace_path.read_text())
    assert trace["displayTimeUnit"] == "ms"
    events = complete_events(trace)
    assert sorted(e["name"] for e in events) == ["a", "b", "jsonl", "numbers", "plus_one"]
    for e in events:
        assert isinstance(e["ts"], int) and isinstance(e["dur"], int) and e["dur"] > 0
        assert {"stage", "attempt", "executor", "status"} <= set(e["args"])
    by_name = {e["name"]: e for e in events}
    a, b = by_name["a"], by_name["b"]
    assert a["ts"] < b["ts"] + b["dur"] and b["ts"] < a["ts"] + a["dur"]  # they overlapped
    assert a["tid"] != b["tid"]  # so they are on two event-loop lanes
    names = track_names(trace)
    assert names[a["tid"]].startswith("event loop") and names[b["tid"]].startswith("event loop")
    assert names[by_name["numbers"]["tid"]].startswith("thread ")
    assert by_name["plus_one"]["ts"] >= max(a["ts"] + a["dur"], b["ts"] + b["dur"]) - 1000
    assert_no_overlap_within_tracks(events)
    stages = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"] == "stage"]
    assert [e["name"] for e in stages] == ["stage 1", "stage 2", "stage 3"]
    assert_no_overlap_within_tracks(stages)
    assert all(track_names(trace)[e["tid"]].startswith("stages") for e in stages)
    (flow,) = [e for e in trace["traceEvents"] if e.get("cat") == "flow"]
    assert flow["args"]["status"] == "succeeded" and flow["args"]["run_id"]


def test_every_attempt_is_an_event(invoke: Any, tmp_path: Path) -> None:
    trace_path = tmp_path / "run.json"
    result = invoke(["run", "numbers | fail | jsonl", "-o", "jsonl.path=x", "--retries", "2",
                     "--trace-file", str(trace_path), "-q"])
    assert result.exit_code == 1
    trace = json.loads(trace_path.read_text())
    fails = [e for e in complete_events(trace) if e["name"] == "fail"]
    assert [e["args"]["attempt"] for e in fails] == [1, 2, 3]
    assert {e["args"]["status"] for e in fails} == {"failed"}
    assert "RuntimeError: boom" in fails[-1]["args"]["error"]
    retries = [e for e in trace["traceEvents"] if e["ph"] == "i"]
    assert [e["name"] for e in retries] == ["retry fail", "retry fail"]


def test_threads_get_one_track_each_and_lanes_never_overlap() -> None:
    collector = TraceCollector(clock=lambda: 100.0)
    spans = [("a", 100.0, "T1", "threads"), ("b", 100.1, "T2", "threads"),
             ("c", 100.5, "T1", "threads"), ("d", 100.0, None, "loop"),
             ("e", 100.05, None, "loop"), ("f", 100.0, None, "processes")]
    for name, start, thread, executor in spans:
        collector(None, "info", {"event": "component.finished", "component": name, "stage": 1,
                                 "attempt": 1, "executor": executor, "thread": thread,
                                 "start": start, "duration_ms": 300.0})
    trace = collector.trace()
    events = {e["name"]: e for e in complete_events(trace)}
    names = track_names(trace)
    assert events["a"]["tid"] == events["c"]["tid"] != events["b"]["tid"]
    assert names[events["a"]["tid"]] == "thread T1 #1"
    assert names[events["d"]["tid"]] == "event loop #1"
    assert names[events["e"]["tid"]] == "event loop #2"
    assert names[events["f"]["tid"]] == "processes #1"
    assert events["a"]["ts"] == 0 and events["a"]["dur"] == 300_000
    assert_no_overlap_within_tracks(list(events.values()))
