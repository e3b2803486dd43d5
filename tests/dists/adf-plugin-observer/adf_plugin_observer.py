"""adf-plugin-observer: writes what the lifecycle hooks tell it, one JSON line per call, to
the file named by ``ADF_OBSERVER_LOG`` (nothing without it). ``ADF_OBSERVER_FAIL=1`` makes
its ``adf_component_finished`` raise, to show that an observer never fails a run."""

from __future__ import annotations

import json
import os
from typing import Any

from adf_core import hookimpl


def _write(**line: Any) -> None:
    path = os.environ.get("ADF_OBSERVER_LOG")
    if path:
        with open(path, "a") as log:
            log.write(json.dumps(line, default=str) + "\n")


@hookimpl
def adf_run_started(run: Any) -> None:
    _write(hook="run_started", run_id=run.run_id, flow=run.flow)


@hookimpl
def adf_component_finished(run: Any, alias: str, status: str, seconds: float,
                           records_in: int, records_out: int) -> None:
    if os.environ.get("ADF_OBSERVER_FAIL") == "1":
        raise RuntimeError("the observer broke")
    _write(hook="component_finished", run_id=run.run_id, alias=alias, status=status,
           records_in=records_in, records_out=records_out, seconds=seconds)


@hookimpl
def adf_run_finished(run: Any, report: Any) -> None:
    _write(hook="run_finished", run_id=run.run_id, status=report["status"],
           error=report["error"], components={a: dict(c) for a, c in
                                              report["components"].items()})
