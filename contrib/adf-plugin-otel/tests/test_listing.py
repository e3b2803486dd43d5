"""``adf plugins`` of the installed distribution says what the plugin provides: it has no
component, only the lifecycle hooks of an observer."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def adf_plugins(*args: str) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ADF_DISABLE_PLUGINS", "ADF_LOAD_PLUGINS")}
    done = subprocess.run([sys.executable, "-m", "adf_core.cli", "plugins", *args], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_adf_plugins_shows_the_plugin_as_an_observer_of_runs_stages_and_components() -> None:
    (row,) = [line for line in adf_plugins().splitlines() if line.startswith("otel ")]
    assert row.split()[1:4] == ["adf-plugin-otel", "0.1.0", "loaded"]
    assert row.endswith("observer (run, stage, component hooks)")

    (otel,) = [p for p in json.loads(adf_plugins("--json"))["plugins"] if p["name"] == "otel"]
    assert otel["components"] == [] and otel["executors"] == []
    assert otel["hooks"] == ["adf_run_started", "adf_stage_started", "adf_component_started",
                             "adf_component_retrying", "adf_component_finished",
                             "adf_run_finished"]
