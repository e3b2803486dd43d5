"""Lifecycle hooks (DESIGN 16): plugin modules registered through a plugin manager observe
runs; a failing observer is logged and never fails the run; no observer, no work."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from adf_core import ComponentError, DataFlow, component, hookimpl


def rows() -> list[dict[str, int]]:
    return [{"n": 1}, {"n": 2}]


def double(rows: list[dict[str, int]]) -> list[dict[str, int]]:
    return rows + rows


@pytest.fixture
def observer(sample_modules: None) -> Any:
    import adf_sample_observer

    adf_sample_observer.CALLS.clear()
    return adf_sample_observer


@pytest.fixture
def manager(observer: Any) -> Any:
    import adf_sample_bad_observer

    from adf_core.plugins import PluginManager

    pm = PluginManager()
    pm.register(observer, name="observer")
    pm.register(adf_sample_bad_observer, name="bad")  # called first (pluggy: last in, first)
    return pm


def test_hooks_see_the_run_its_components_and_the_same_report_as_after_run(
        manager: Any, observer: Any, caplog: pytest.LogCaptureFixture) -> None:
    from adf_core.plugins import observing

    reports: list[Any] = []

    @component(after_run=True)
    def tell(report: Any) -> None:
        reports.append(report)

    with observing(manager), caplog.at_level(logging.WARNING, logger="adf"):
        result = DataFlow((rows, double, tell)).run(run_id="obs-1")
    assert result["double"] == rows() * 2
    calls = observer.CALLS
    assert calls[0] == ("run_started", "obs-1", "rows | double | tell")
    assert calls[1:-1] == [("component_finished", "rows", "succeeded", 0, 2),
                           ("component_finished", "double", "succeeded", 2, 4),
                           ("component_finished", "tell", "succeeded", 0, 0)]
    assert calls[-1][0] == "run_finished" and calls[-1][1] is reports[0] is result.report
    failures = [r.getMessage() for r in caplog.records if "observer.failed" in r.getMessage()]
    assert len(failures) == 5  # started, three components, finished: each logged, none fatal
    assert "bad raised in adf_run_started: RuntimeError: observer down" in failures[0]


def test_a_failed_run_is_observed_as_failed(manager: Any, observer: Any) -> None:
    from adf_core.plugins import observing

    def broken(rows: Any) -> None:
        raise ValueError("nope")

    with observing(manager), pytest.raises(ComponentError):
        DataFlow((rows, broken)).run()
    assert ("component_finished", "broken", "failed", 2, 0) in observer.CALLS
    report = observer.CALLS[-1][1]
    assert report["status"] == "failed" and "ValueError: nope" in report["error"]


@pytest.mark.parametrize("flow", ["first", "second"])
def test_a_missing_input_is_observed_as_the_component_s_failure(manager: Any, observer: Any,
                                                                flow: str) -> None:
    """A component whose inputs cannot be bound never starts: observers are still told it
    failed, with the MissingInputError, as they are of any other failure, then the run."""
    from adf_core import MissingInputError
    from adf_core.plugins import observing

    def needs(missing: Any, rows: Any = None) -> None:
        raise AssertionError("never called")

    detailed = _Detailed()
    manager.register(detailed, name="detailed")
    steps = needs if flow == "first" else (rows, needs)
    with observing(manager), pytest.raises(MissingInputError):
        DataFlow(steps).run(run_id="missing-1")
    finished = [c for c in observer.CALLS if c[0] == "component_finished"]
    assert finished[-1] == ("component_finished", "needs", "failed", 0, 0)
    assert ("finished", "needs", "failed", 0, "MissingInputError") in detailed.calls
    assert not [c for c in detailed.calls if c[:2] == ("started", "needs")]
    assert observer.CALLS[-1][0] == "run_finished"
    report = observer.CALLS[-1][1]
    assert report["status"] == "failed" and "needs 'missing'" in report["error"]
    assert report["components"]["needs"]["status"] == "failed"


def test_the_cli_runs_under_its_registry_s_plugin_manager(invoke: Any, pm: Any,
                                                          observer: Any, tmp_path: Any) -> None:
    pm.register(observer, name="observer")
    result = invoke(["run", "numbers | jsonl", "-o", f"jsonl.path={tmp_path / 'o.jsonl'}",
                     "-q"])
    assert result.exit_code == 0, result.output
    assert [c[0] for c in observer.CALLS] == ["run_started", "component_finished",
                                               "component_finished", "run_finished"]
    assert observer.CALLS[1][1:] == ("numbers", "succeeded", 0, 3)


def test_without_a_lifecycle_hook_the_engine_gets_no_observer(pm: Any) -> None:
    from adf_core.engine import seams
    from adf_core.plugins import observing

    with observing(pm):  # the basic sample plugin: components only
        assert seams.observers("r") == []


class _Detailed:
    """An observer of every lifecycle hook, the newer arguments included."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.described: dict[str, Any] = {}
        self.redacted: list[str] = []

    @hookimpl
    def adf_stage_started(self, run: Any, stage: int, aliases: tuple[str, ...]) -> None:
        self.calls.append(("stage", stage, aliases))

    @hookimpl
    def adf_component_started(self, run: Any, alias: str, attempt: int) -> None:
        self.calls.append(("started", alias, attempt))
        self.described[alias] = run.component(alias)

    @hookimpl
    def adf_component_retrying(self, run: Any, alias: str, attempt: int, error: BaseException,
                               delay: float) -> None:
        assert delay >= 0
        self.calls.append(("retrying", alias, attempt, type(error).__name__))
        self.redacted.append(run.redact(str(error)))

    @hookimpl
    def adf_component_finished(self, run: Any, alias: str, status: str, attempt: int,
                               error: BaseException | None) -> None:
        self.calls.append(("finished", alias, status, attempt,
                           None if error is None else type(error).__name__))
        if error is not None:
            self.redacted.append(run.redact(str(error)))


def test_stages_attempts_retries_and_errors_are_observed_with_secrets_hidden(
        observer: Any) -> None:
    """The newer hooks in order, with attempts and errors; an implementation that names only
    the older arguments (the sample observer) keeps working beside them; what an observer
    reads of the run has its secrets hidden."""
    from adf_core import step
    from adf_core.plugins import PluginManager, observing

    password = "hunter2-pw"
    tries: list[int] = []

    @component(secrets=["api_key"])
    def flaky(rows: list[dict[str, int]], api_key: str = "",
              url: str = "") -> list[dict[str, int]]:
        tries.append(1)
        if len(tries) < 2:
            raise ConnectionError(f"refused: {url} with key {api_key}")
        return rows

    detailed = _Detailed()
    pm = PluginManager()
    pm.register(observer, name="observer")
    pm.register(detailed, name="detailed")
    options = {"api_key": "k-123456", "url": f"postgresql://me:{password}@db.example/x"}
    flow = DataFlow((rows, {step(flaky, retries=1, options=options), double}),
                    retry_delay=0.01)
    with observing(pm):
        flow.run()
    assert detailed.calls[0] == ("stage", 1, ("rows",))
    assert ("retrying", "flaky", 1, "ConnectionError") in detailed.calls
    assert detailed.calls.index(("started", "flaky", 1)) \
        < detailed.calls.index(("retrying", "flaky", 1, "ConnectionError")) \
        < detailed.calls.index(("started", "flaky", 2)) \
        < detailed.calls.index(("finished", "flaky", "succeeded", 2, None))
    assert [sorted(c[2]) for c in detailed.calls if c[:2] == ("stage", 2)] == [
        ["double", "flaky"]]
    assert ("component_finished", "flaky", "succeeded", 2, 2) in observer.CALLS  # old impl
    assert detailed.redacted and all(password not in text and "k-123456" not in text
                                     for text in detailed.redacted)
    seen = detailed.described["flaky"]["options"]
    assert detailed.described["flaky"]["kind"] == "destination"  # the last stage
    assert detailed.described["flaky"]["stage"] == 2
    assert password not in str(seen) and "k-123456" not in str(seen)
    assert "db.example" in seen["url"]


def test_a_failing_component_is_finished_with_its_last_attempt_and_error() -> None:
    from adf_core.plugins import PluginManager, observing

    def broken(rows: Any) -> None:
        raise ValueError("nope")

    detailed = _Detailed()
    pm = PluginManager()
    pm.register(detailed, name="detailed")
    with observing(pm), pytest.raises(ComponentError):
        DataFlow((rows, broken)).run()
    assert ("finished", "broken", "failed", 1, "ValueError") in detailed.calls
    assert ("finished", "rows", "succeeded", 1, None) in detailed.calls
