"""A sample observer plugin whose hooks raise: a run must not notice."""

from __future__ import annotations

from typing import Any

from adf_core import hookimpl


@hookimpl
def adf_run_started(run: Any) -> None:
    raise RuntimeError("observer down")


@hookimpl
def adf_component_finished(alias: str) -> None:
    raise KeyError(alias)


@hookimpl
def adf_run_finished(report: Any) -> None:
    raise ZeroDivisionError("reporting failed")
