"""After-run components (DESIGN 11): the status is told last, on success and on failure, and
an after-run failure never undoes what was committed."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from trust_support import events, run_adf

from adf_core import ComponentError, DataFlow, component, step


def records() -> list[dict[str, int]]:
    return [{"n": 1}, {"n": 2}, {"n": 3}]


def test_an_after_run_component_runs_last_with_the_report() -> None:
    order: list[str] = []
    seen: dict[str, Any] = {}

    def store(records: list[dict[str, int]]) -> dict[str, int]:
        order.append("store")
        return {"stored": len(records)}

    @component(after_run=True)
    def tell(report: Any, upstream: dict[str, Any], stored: int) -> str:
        order.append("tell")
        seen.update(report=report, upstream=upstream, stored=stored)
        return "told"

    flow = DataFlow((records, (store, tell)))
    assert flow.expression == "records | store, tell"
    positions = {c.alias: (c.position, c.after_run) for c in flow.components}
    assert positions == {"records": ("stage 1", False), "store": ("stage 2", False),
                         "tell": ("after the run", True)}
    result = flow.run(run_id="r1")
    assert order == ["store", "tell"]
    report = seen["report"]
    assert report["run_id"] == "r1" and report["status"] == "succeeded"
    assert report["error"] is None and report["flow"] == "records | store, tell"
    assert dict(report["components"]["records"]) == {
        "status": "succeeded", "records_in": 0, "records_out": 3, "records_rejected": 0,
        "seconds": report["components"]["records"]["seconds"]}
    assert report["components"]["store"]["records_in"] == 3
    assert "tell" not in report["components"]
    assert seen["upstream"] == {"records": records()} and seen["stored"] == 3
    assert result["tell"] == "told" and result.after_run_errors == []
    assert result.report is report
    with pytest.raises(TypeError):
        report["status"] = "changed"  # read-only


def test_it_runs_on_failure_and_the_run_fails_with_its_own_error() -> None:
    seen: list[Any] = []

    def broken(records: Any) -> None:
        raise ValueError("no good\nsecond line")

    @component(after_run=True)
    async def tell(report: Any) -> None:
        seen.append(report)

    with pytest.raises(ComponentError, match="'broken'") as caught:
        DataFlow((records, broken, tell)).run()
    (report,) = seen
    assert report["status"] == "failed"
    assert report["error"] == "component 'broken' (stage 2) failed: ValueError: no good"
    assert report["components"]["broken"]["status"] == "failed"
    assert caught.value.report is report and caught.value.after_run_errors == []


def test_its_failure_never_fails_the_run() -> None:
    @component(after_run=True)
    def tell(report: Any) -> None:
        raise ConnectionError("webhook down")

    result = DataFlow((records, tell)).run()
    assert result["records"] == records()
    (error,) = result.after_run_errors
    assert error.component == "tell" and isinstance(error.cause, ConnectionError)


def test_on_a_failed_run_an_after_run_failure_is_attached_to_the_error() -> None:
    def broken(records: Any) -> None:
        raise ValueError("bad")

    @component(after_run=True)
    def tell(report: Any) -> None:
        raise ConnectionError("webhook down")

    with pytest.raises(ComponentError, match="'broken'") as caught:
        DataFlow((records, broken, tell)).run()
    assert [e.component for e in caught.value.after_run_errors] == ["tell"]
    assert any("webhook down" in note for note in caught.value.__notes__)


def test_a_stage_left_empty_disappears_and_the_next_reads_what_came_before() -> None:
    @component(after_run=True)
    def tell(report: Any, upstream: dict[str, Any]) -> dict[str, Any]:
        return {"told": sorted(upstream)}

    def after(upstream: dict[str, Any]) -> dict[str, Any]:
        return {"after": sorted(upstream)}

    flow = DataFlow((records, tell, after))
    assert [(c.alias, c.stage) for c in flow.components] == [
        ("records", 1), ("after", 2), ("tell", 3)]
    result = flow.run()
    assert result["after"] == ["records"] and result["told"] == ["records"]


def test_a_cancelled_run_still_tells_its_status() -> None:
    seen: list[Any] = []
    started = threading.Event()

    async def wait_forever(records: Any) -> None:
        started.set()
        await asyncio.sleep(60)

    @component(after_run=True)
    async def tell(report: Any) -> None:
        seen.append(dict(report))

    async def main() -> None:
        task = asyncio.create_task(DataFlow((records, wait_forever, tell))())
        while not started.is_set():
            await asyncio.sleep(0.01)
        task.cancel("operator")
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen[0]["status"] == "failed" and seen[0]["error"] == "cancelled (operator)"
    assert seen[0]["components"]["wait_forever"]["status"] == "cancelled"


def test_after_run_components_stay_on_threads_under_another_executor() -> None:
    @component(after_run=True)
    def tell(report: Any) -> None:
        return None

    flow = DataFlow((step(records, executor="threads"), tell), executor="processes")
    (planned,) = [c for c in flow.components if c.alias == "tell"]
    assert planned.executor == "threads" and "after-run" in (planned.executor_note or "")


# --- notify, through adf run ----------------------------------------------------------------


def test_notify_announces_only_after_the_commit(webhook: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    webhook.on_request = lambda: out.read_text() if out.exists() else None
    done = run_adf("src=trust_jobs:rows | out=file, notify", "-o", "src.count=4",
                   "-o", f"out.path={out}", "-o", f"notify.url={webhook.url}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert webhook.seen == [out.read_text()], "the file was committed when notify posted"
    (summary,) = webhook.payloads
    assert summary["status"] == "succeeded" and summary["counts"] == {"src": 4}
    assert summary["records"] == 4 and "failed" not in summary
    finished = [e["component"] for e in events(done.stderr) if e["event"] == "component.finished"]
    assert finished[-1] == "notify"


def test_a_failing_webhook_never_rolls_back_a_good_load(webhook: Any, tmp_path: Path) -> None:
    webhook.status = 500
    out = tmp_path / "out.jsonl"
    done = run_adf("src=trust_jobs:rows | out=file, notify", "-o", "src.count=4",
                   "-o", f"out.path={out}", "-o", f"notify.url={webhook.url}",
                   "-o", "notify.max_retries=1", "-o", "notify.backoff=0.01", "--json",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 4, "the load stays committed"
    result = json.loads(done.stdout)
    assert result["status"] == "succeeded"
    (error,) = result["after_run_errors"]
    assert error["component"] == "notify" and "500" in error["error"]
    statuses = {c["alias"]: c["status"] for c in result["components"]}
    assert statuses == {"src": "succeeded", "out": "succeeded", "notify": "failed"}
    failed = [e for e in events(done.stderr) if e["event"] == "component.failed"]
    assert [e["component"] for e in failed] == ["notify"]


def test_notify_reports_a_failed_run(webhook: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = run_adf("src=trust_jobs:rows | check=trust_jobs:boom | out=file, notify",
                   "-o", "src.count=4", "-o", f"out.path={out}", "-o",
                   f"notify.url={webhook.url}", "--json", cwd=tmp_path)
    assert done.returncode == 1
    (summary,) = webhook.payloads
    assert summary["status"] == "failed" and summary["failed"] == ["check"]
    assert summary["error"] == ("component 'check' (stage 2) failed: RuntimeError: the check "
                                "failed")
    assert summary["text"] == (f"adf run {summary['run_id']} failed: 0 records; "
                               f"{summary['error']}")
    assert summary["counts"] == {"check": 0}
    assert not out.exists()
    result = json.loads(done.stdout)
    assert result["run_id"] == summary["run_id"] and result["after_run_errors"] == []


# A declared secret (its name says nothing) and a URL password, both quoted by the error.
LEAKY_DSN = "host=db sslcert=Zq81xQv"
LEAKY_URL = "postgresql://app:Pw-7731x@db.invalid/orders"


def _assert_nothing_leaks(summary: dict[str, Any], *elsewhere: str) -> None:
    assert summary["status"] == "failed" and summary["failed"] == ["src"]
    assert "***" in summary["error"] and "refused" in summary["error"]
    for text in (json.dumps(summary), *elsewhere):
        assert "Zq81xQv" not in text and "Pw-7731x" not in text


def test_notify_never_posts_a_secret_the_error_quotes(webhook: Any, tmp_path: Path) -> None:
    done = run_adf("src=trust_jobs:leaky | out=file, notify", "-o", f"src.dsn={LEAKY_DSN}",
                   "-o", f"src.url={LEAKY_URL}", "-o", f"out.path={tmp_path / 'out.jsonl'}",
                   "-o", f"notify.url={webhook.url}", "--json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    (summary,) = webhook.payloads
    _assert_nothing_leaks(summary, done.stdout, done.stderr)


def test_the_report_is_redacted_by_the_run_itself(webhook: Any) -> None:
    # From Python, without the adf command: the run's own redactor hides the error line
    # before notify (or any after-run component and observer) sees it.
    from trust_jobs import leaky

    from adf_plugins.notify import notify

    flow = DataFlow((step(leaky, name="src", options={"dsn": LEAKY_DSN, "url": LEAKY_URL}),
                     step(notify, options={"url": webhook.url})))
    with pytest.raises(ComponentError) as caught:
        flow.run()
    assert "Zq81xQv" in str(caught.value), "the caller's own exception is left as it was"
    (summary,) = webhook.payloads
    _assert_nothing_leaks(summary, json.dumps(dict(caught.value.report)["error"]))


def test_the_report_is_a_reserved_parameter_validation_does_not_ask_for(
        tmp_path: Path) -> None:
    from trust_jobs import tell

    from adf_core import validate

    flow = DataFlow.parse("src=trust_jobs:rows | out=trust_jobs:boom, tell=trust_jobs:tell")
    assert [p.option for p in validate(flow)] == []
    assert flow.plan.by_alias["tell"].binding.wants_report and tell is not None
    done = run_adf("src=trust_jobs:rows | out=file, tell=trust_jobs:tell", "-o", "src.count=2",
                   "-o", f"out.path={tmp_path / 'out.jsonl'}", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = run_adf("src=trust_jobs:rows | out=file, tell=trust_jobs:tell", "-o", "src.count=2",
                   "-o", f"out.path={tmp_path / 'out.jsonl'}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "tell: the run succeeded" in done.stderr


def test_describe_does_not_offer_the_report_as_an_option() -> None:
    from adf_core.plugins.metadata import describe
    from adf_plugins.notify import notify

    info = describe(notify, "notify", "destination")
    assert "report" not in [o.name for o in info.options]
    assert info.mode == "async, after the run"
    assert info.option("url") is not None


def test_the_graph_marks_after_run_components_where_they_are_written(tmp_path: Path) -> None:
    import subprocess

    from trust_support import ADF

    drawn = subprocess.run([ADF, "graph", "file | merge | out=file, notify"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    assert "└── notify (destination, after the run)" in drawn.stdout
    assert "├── out=file (destination)" in drawn.stdout
