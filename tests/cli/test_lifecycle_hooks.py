"""Lifecycle hooks (DESIGN 16): plugin modules registered through a plugin manager observe
runs; a failing observer is logged and never fails the run; no observer, no work."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from adf_core import ComponentError, DataFlow, component


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
