"""An executor added by a plugin through the ``adf_executors`` hook."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import adf_sample_executor
import pytest

from adf_core import DataFlow, FlowDefinitionError, step
from adf_core.executors import executor_names
from adf_core.plugins import get_plugin_manager


@pytest.fixture
def serial_plugin() -> Iterator[None]:
    manager = get_plugin_manager()
    manager.register(adf_sample_executor, name="sample-serial-executor")
    try:
        yield
    finally:
        manager.unregister(name="sample-serial-executor")


def thread_name() -> str:
    return threading.current_thread().name


def unsafe_thing() -> None:
    return None


def test_a_plugin_executor_runs_components(serial_plugin: None) -> None:
    flow = DataFlow([{step(thread_name, name="a"), step(thread_name, name="b")}],
                    executor="serial")

    outputs = flow.run().outputs

    assert "serial" in executor_names()
    assert outputs["a"] == outputs["b"]  # one worker thread
    assert outputs["a"].startswith("adf-worker")


def test_a_plugin_executor_may_refuse_a_component_before_the_run(serial_plugin: None) -> None:
    with pytest.raises(FlowDefinitionError, match=r"'unsafe_thing'.*refuses unsafe_"):
        DataFlow((thread_name, step(unsafe_thing, executor="serial")))


def test_an_unknown_executor_names_the_known_ones() -> None:
    with pytest.raises(FlowDefinitionError, match=r"unknown executor 'dusk'.*did you mean.*dask"):
        DataFlow((thread_name,), executor="dusk")
