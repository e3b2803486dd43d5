"""Tracing (DESIGN section 8): structlog events, and silence when nobody configured it."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import time

import pytest

from adf_core import ComponentError, DataFlow, MissingInputError


async def load() -> dict:
    return {"rows": [1, 2]}


def check(rows) -> dict:
    return {"ok": len(rows)}


def store(ok) -> None:
    return None


def named(events, name):
    return [e for e in events if e["event"] == name]


def test_a_successful_run_emits_every_event_with_run_id_stage_and_component(events):
    result = DataFlow((load, check, store)).run(run_id="trace-1")
    assert [e["event"] for e in events] == [
        "flow.started",
        "stage.started", "component.started", "component.finished",
        "stage.started", "component.started", "component.finished",
        "stage.started", "component.started", "component.finished",
        "flow.finished",
    ]
    assert all(e["run_id"] == "trace-1" == result.run_id for e in events)
    assert named(events, "flow.started")[0]["flow"] == "load | check | store"
    assert [e["stage"] for e in named(events, "stage.started")] == [1, 2, 3]
    started = named(events, "component.started")
    finished = named(events, "component.finished")
    assert [(e["stage"], e["component"], e["attempt"]) for e in started] == [
        (1, "load", 1), (2, "check", 1), (3, "store", 1)]
    assert [(e["stage"], e["component"]) for e in finished] == [
        (1, "load"), (2, "check"), (3, "store")]
    assert [e["executor"] for e in finished] == ["loop", "threads", "threads"]
    for event in finished:
        assert event["duration_ms"] >= 0
        assert abs(event["start"] - time.time()) < 60  # epoch seconds
    assert [(e["records_in"], e["records_out"]) for e in finished] == [(0, 2), (2, 0), (0, 0)]
    assert finished[0]["thread"] is None  # a coroutine runs on the loop
    done = named(events, "flow.finished")[0]
    assert done["status"] == "succeeded" and done["duration_ms"] >= 0


def test_parallel_members_each_get_their_events(events):
    async def a() -> None:
        return None

    def b() -> None:
        return None

    DataFlow(((a, b), store), ).run({"ok": 1})
    assert {(e["stage"], e["component"]) for e in named(events, "component.finished")} == {
        (1, "a"), (1, "b"), (2, "store")}


def test_a_failure_emits_component_failed_and_a_failed_flow(events):
    def broken() -> None:
        raise ValueError("bad input")

    with pytest.raises(ComponentError):
        DataFlow((load, broken)).run()
    failed = named(events, "component.failed")
    assert len(failed) == 1
    assert failed[0]["component"] == "broken" and failed[0]["stage"] == 2
    assert failed[0]["error"] == "ValueError: bad input"
    assert failed[0]["log_level"] == "error"
    assert named(events, "flow.finished")[0]["status"] == "failed"
    assert not any(e["event"] == "stage.started" and e["stage"] == 3 for e in events)


def test_retries_emit_component_retrying(events):
    calls = []

    async def flaky() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("again")

    DataFlow(flaky, retries=2, retry_delay=0.01).run()
    retrying = named(events, "component.retrying")
    assert [(e["component"], e["attempt"]) for e in retrying] == [("flaky", 1), ("flaky", 2)]
    assert all(e["error"] == "ConnectionError: again" and e["delay_s"] >= 0 for e in retrying)
    assert all(e["log_level"] == "warning" for e in retrying)
    assert [e["attempt"] for e in named(events, "component.started")] == [1, 2, 3]
    assert named(events, "component.finished")[0]["attempt"] == 3


def test_component_finished_names_the_worker_thread(events):
    seen = {}

    def where() -> None:
        seen["thread"] = threading.current_thread().name

    DataFlow(where).run()
    assert named(events, "component.finished")[0]["thread"] == seen["thread"]


def test_streams_report_their_item_count(events):
    def numbers():
        yield from ([1, 2], [3], [4, 5, 6])

    def total(numbers) -> dict:
        return {"total": sum(len(batch) for batch in numbers)}

    result = DataFlow((numbers, total)).run()
    assert result["total"] == 6
    by_name = {e["component"]: e for e in named(events, "component.finished")}
    assert by_name["numbers"]["items"] == 3
    assert by_name["numbers"]["records_out"] == 6, "records, not batches"
    assert by_name["total"]["records_in"] == 6


def _cancel_while_in_thread(seconds: float, **settings: float) -> None:
    in_thread = threading.Event()

    def blocking() -> None:
        in_thread.set()
        time.sleep(seconds)

    async def main() -> None:
        task = asyncio.create_task(DataFlow(blocking, **settings)())
        while not in_thread.is_set():
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_a_cancelled_component_that_returns_at_once_is_not_reported_as_waited_for(events):
    _cancel_while_in_thread(0.1)
    assert named(events, "component.waiting") == []
    done = named(events, "flow.finished")[0]
    assert done["status"] == "failed" and done["error"] == "cancelled"


def test_a_cancelled_flow_says_it_waits_for_a_thread_that_outlives_a_second(events):
    _cancel_while_in_thread(1.6)
    waiting = named(events, "component.waiting")
    assert len(waiting) == 1 and waiting[0]["component"] == "blocking"
    assert named(events, "component.abandoned") == []


def test_a_thread_that_outlives_the_grace_period_is_abandoned(events):
    _cancel_while_in_thread(1.5, thread_grace=0.2)
    assert named(events, "component.waiting") == []
    abandoned = named(events, "component.abandoned")
    assert len(abandoned) == 1 and abandoned[0]["component"] == "blocking"


def test_info_events_filtered_out_still_let_errors_through(structlog_clean):
    from structlog.testing import LogCapture

    capture = LogCapture()
    structlog_clean.configure(
        processors=[capture],
        wrapper_class=structlog_clean.make_filtering_bound_logger(logging.WARNING))

    def broken() -> None:
        raise ValueError("x")

    DataFlow(load).run()
    with pytest.raises(ComponentError):
        DataFlow(broken).run()
    assert [e["event"] for e in capture.entries] == ["component.failed"]


def test_without_structlog_configured_the_engine_emits_nothing(structlog_clean, capsys, caplog):
    caplog.set_level(logging.DEBUG)

    def broken() -> None:
        raise ValueError("x")

    DataFlow((load, check)).run()
    with pytest.raises(ComponentError):
        DataFlow(broken, retries=1, retry_delay=0.01).run()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert [r for r in caplog.records if r.name != "asyncio"] == []


def test_a_script_that_never_imports_structlog_gets_no_output_and_no_import():
    code = (
        "import sys\n"
        "from adf_core import DataFlow\n"
        "def f(): return {'x': 1}\n"
        "def g(x): raise ValueError(x)\n"
        "assert DataFlow(f).run()['x'] == 1\n"
        "try:\n"
        "    DataFlow((f, g), retries=1, retry_delay=0.01).run()\n"
        "except Exception:\n"
        "    pass\n"
        "print('structlog' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "False\n"
    assert done.stderr == ""


def test_a_missing_input_emits_component_failed_too(events):
    def needs(missing_key: str) -> None:
        raise AssertionError("never runs")

    with pytest.raises(MissingInputError):
        DataFlow((load, needs)).run()
    failed = named(events, "component.failed")
    assert [e["component"] for e in failed] == ["needs"]
    assert "missing_key" in failed[0]["error"]
