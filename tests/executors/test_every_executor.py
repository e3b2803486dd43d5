"""The same promises on every executor: results, errors, retries, timeouts, cancellation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import adf_executor_jobs as jobs
import pytest

from adf_core import ComponentError, DataFlow, step

EXECUTORS = ["threads", "processes", "dask"]


@pytest.fixture(params=EXECUTORS)
def settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Flow settings that put sync components on one executor (Dask: the test cluster)."""
    name = request.param
    found: dict[str, Any] = {"executor": name, "thread_grace": 0.2, "retry_delay": 0.01}
    if name == "dask":
        found["executor_address"] = request.getfixturevalue("scheduler")
    return found


def test_results_errors_and_retries(settings: dict[str, Any], tmp_path: Path) -> None:
    assert DataFlow((jobs.add, jobs.double), **settings).run({"x": 1, "y": 2})["doubled"] == 6

    with pytest.raises(ComponentError) as error:
        DataFlow((jobs.fail,), **settings).run()
    assert isinstance(error.value.__cause__, ValueError)

    flaky = DataFlow((jobs.flaky,), retries=2, **settings)
    assert flaky.run({"scratch": str(tmp_path)})["flaky"] == 3


def test_a_timeout_fails_the_component(settings: dict[str, Any], tmp_path: Path) -> None:
    flow = DataFlow((step(jobs.hang, timeout=0.3),), **settings)
    try:
        with pytest.raises(ComponentError) as error:
            flow.run({"scratch": str(tmp_path)})
    finally:
        (tmp_path / "stop").write_text("")

    assert isinstance(error.value.__cause__, TimeoutError)
    assert error.value.component == "hang"


def test_a_cancelled_flow_raises_cancelled(settings: dict[str, Any], tmp_path: Path,
                                           cancel_once_running: Any) -> None:
    flow = DataFlow([{step(jobs.hang, name="one"), step(jobs.hang, name="two")}], **settings)
    try:
        cancel_once_running(flow, tmp_path)
    finally:
        (tmp_path / "stop").write_text("")


def test_a_failing_sibling_cancels_the_others(settings: dict[str, Any], tmp_path: Path) -> None:
    flow = DataFlow([{step(jobs.hang, name="slow"), step(jobs.fail, name="broken")}],
                    **settings)
    try:
        with pytest.raises(ComponentError) as error:
            flow.run({"scratch": str(tmp_path)})
    finally:
        (tmp_path / "stop").write_text("")

    assert error.value.component == "broken"
