"""``adf plugins``, ``adf components``, ``adf describe``, ``--version`` and ``-h``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adf_core import __version__


def test_version_and_short_help(invoke: Any) -> None:
    assert invoke(["--version"]).output == f"adf {__version__}\n"
    result = invoke(["-h"])
    assert result.exit_code == 0
    for command in ("run", "plugins", "components", "describe", "graph"):
        assert f"  {command} " in result.output
    assert "Usage: adf run" in invoke(["run", "-h"]).output


def test_plugins_lists_components_and_json(invoke: Any) -> None:
    result = invoke(["plugins"])
    assert result.exit_code == 0
    header, row = result.output.splitlines()[:2]
    assert header.split() == ["NAME", "DISTRIBUTION", "VERSION", "STATUS", "COMPONENTS"]
    assert row.startswith("basic") and "jsonl (source/destination)" in row
    data = json.loads(invoke(["plugins", "--json"]).output)
    (plugin,) = data["plugins"]
    assert plugin["name"] == "basic" and plugin["status"] == "loaded"
    assert {"name": "plus_one", "kind": "transform"} in plugin["components"]


def test_plugins_says_what_an_observer_or_executor_plugin_provides(invoke: Any, pm: Any,
                                                                  monkeypatch: Any) -> None:
    import adf_sample_observer

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "executors"))
    import adf_sample_executor

    pm.register(adf_sample_observer, name="watcher")
    pm.register(adf_sample_executor, name="serial")
    rows = {line.split()[0]: line for line in invoke(["plugins"]).output.splitlines()[1:]}
    assert rows["watcher"].endswith("observer (run, component hooks)")
    assert rows["serial"].endswith("executors: serial")
    assert "(source/destination)" in rows["basic"] and "observer" not in rows["basic"]
    assert rows["basic"].endswith("; executors: inline")
    found = {p["name"]: p for p in json.loads(invoke(["plugins", "--json"]).output)["plugins"]}
    assert found["watcher"]["components"] == [] and found["watcher"]["executors"] == []
    assert found["watcher"]["hooks"] == ["adf_run_started", "adf_component_finished",
                                         "adf_run_finished"]
    assert found["serial"]["executors"] == ["serial"]
    assert found["serial"]["hooks"] == ["adf_executors"]
    assert found["basic"]["hooks"] == ["adf_sources", "adf_transforms", "adf_destinations",
                                       "adf_executors"]


def test_plugins_shows_load_errors(invoke: Any, pm: Any) -> None:
    from importlib.metadata import EntryPoint

    from adf_core.plugins import load_plugins

    load_plugins(pm, [EntryPoint("broken", "adf_sample_broken", "adf")], environ={})
    result = invoke(["plugins"])
    assert result.exit_code == 0
    assert "broken" in result.output and "failed" in result.output
    assert "error: plugin 'broken': ImportError" in result.output
    data = json.loads(invoke(["plugins", "--json"]).stdout)
    broken = next(p for p in data["plugins"] if p["name"] == "broken")
    assert broken["status"] == "failed" and "ImportError" in broken["error"]


def test_components_by_kind(invoke: Any) -> None:
    result = invoke(["components", "--kind", "transform"])
    names = [line.split()[0] for line in result.output.splitlines()[1:]]
    assert names == ["fail", "plus_one"]
    data = json.loads(invoke(["components", "--json"]).output)
    jsonl = [c for c in data if c["name"] == "jsonl"]
    assert [c["kind"] for c in jsonl] == ["source", "destination"]
    token = next(o for o in jsonl[1]["options"] if o["name"] == "token")
    assert token == {"name": "token", "type": "str | None", "required": False, "default": None,
                     "secret": True, "doc": "an access token (a secret)"}


def test_describe_shows_options_types_defaults_docs(invoke: Any) -> None:
    result = invoke(["describe", "jsonl", "--kind", "destination"])
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("jsonl (destination) from plugin 'basic'")
    assert "Write every upstream record to a JSON-lines file." in out
    assert "path    Path        required  where to write" in out
    assert "append  bool        False     add to the file instead of replacing it" in out
    assert "token   str | None  None      secret. an access token" in out


def test_describe_unknown_is_a_usage_error_with_did_you_mean(invoke: Any) -> None:
    result = invoke(["describe", "plus_on"])
    assert result.exit_code == 2
    assert "did you mean 'plus_one'?" in result.output


def test_conflicting_names_are_shown_not_hidden(invoke: Any, pm: Any) -> None:
    import adf_sample_dupe

    pm.register(adf_sample_dupe, name="dupe")
    described = invoke(["describe", "numbers"])
    assert described.exit_code == 0
    assert described.stdout.count("numbers (source) from plugin") == 2
    assert "conflict: source 'numbers' is registered by two plugins" in described.stderr
    assert "conflict: source 'numbers'" in invoke(["components"]).stderr
    assert "conflict: source 'numbers'" in invoke(["plugins"]).stderr
    data = json.loads(invoke(["plugins", "--json"]).stdout)
    clash = "source 'numbers' is registered by two plugins: 'basic' and 'dupe'"
    assert data["conflicts"] == [clash]
    failed = invoke(["run", "numbers | jsonl", "--dry-run"])
    assert failed.exit_code == 2 and "'basic' and 'dupe'" in failed.stderr
