"""Loading plugins from entry points: one try/except each, blocking, selection, strict mode."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from adf_core.plugins import PluginError, PluginManager, load_plugins
from adf_core.registry import Registry


def entry_points(**targets: str) -> list[EntryPoint]:
    return [EntryPoint(name=name, value=value, group="adf") for name, value in targets.items()]


SAMPLES = entry_points(
    basic="adf_sample_basic", broken="adf_sample_broken", bad_hook="adf_sample_bad_hook"
)


@pytest.fixture
def fresh(sample_modules: None) -> PluginManager:
    return PluginManager()


def test_a_broken_plugin_is_recorded_and_the_others_load(fresh: PluginManager) -> None:
    load_plugins(fresh, SAMPLES, environ={})
    records = fresh.records()
    assert records["basic"].status == "loaded"
    assert records["broken"].status == "failed"
    assert "ImportError: adf_sample_broken needs a module" in (records["broken"].error or "")
    registry = Registry(fresh, strict=False)
    assert registry.resolve("numbers", "source")().get("numbers")
    assert "cannot list transforms" in registry.records()["bad_hook"].error  # type: ignore[operator]


def test_loading_twice_registers_each_plugin_once(fresh: PluginManager) -> None:
    load_plugins(fresh, SAMPLES, environ={})
    load_plugins(fresh, SAMPLES, environ={})
    assert len(fresh.get_plugins()) == 2


def test_disabled_plugins_are_blocked_before_import(fresh: PluginManager) -> None:
    import sys

    load_plugins(fresh, SAMPLES, environ={"ADF_DISABLE_PLUGINS": "broken, bad_hook"})
    assert fresh.records()["broken"].status == "blocked"
    assert fresh.is_blocked("broken")
    assert "adf_sample_broken" not in sys.modules
    assert "adf_sample_bad_hook" not in sys.modules


def test_load_plugins_loads_only_those_named(fresh: PluginManager) -> None:
    import sys

    load_plugins(fresh, SAMPLES, environ={"ADF_LOAD_PLUGINS": "bad_hook"})
    statuses = {name: r.status for name, r in fresh.records().items()}
    assert statuses == {"basic": "blocked", "broken": "blocked", "bad_hook": "loaded"}
    assert "adf_sample_broken" not in sys.modules


def test_strict_mode_makes_any_failure_fatal(fresh: PluginManager) -> None:
    with pytest.raises(PluginError, match=r"broken.*ImportError"):
        load_plugins(fresh, SAMPLES, environ={"ADF_STRICT_PLUGINS": "1"})


def test_strict_mode_covers_hooks_that_raise(fresh: PluginManager) -> None:
    load_plugins(fresh, entry_points(bad_hook="adf_sample_bad_hook"), environ={})
    with pytest.raises(PluginError, match="adf_transforms\\(\\) raised RuntimeError"):
        Registry(fresh, strict=True)


def test_an_entry_point_to_a_missing_module_fails_alone(fresh: PluginManager) -> None:
    load_plugins(fresh, entry_points(gone="adf_sample_not_there", basic="adf_sample_basic"),
                 environ={})
    assert fresh.records()["gone"].status == "failed"
    assert "ModuleNotFoundError" in (fresh.records()["gone"].error or "")
    assert fresh.records()["basic"].status == "loaded"


def test_a_module_without_valid_hooks_is_a_failure(fresh: PluginManager) -> None:
    class Wrong:
        @staticmethod
        def adf_sourcez() -> dict[str, Any]:
            return {}

    from adf_core import hookimpl

    Wrong.adf_sourcez = hookimpl(Wrong.adf_sourcez)  # type: ignore[method-assign]
    point = EntryPoint(name="wrong", value="x:y", group="adf")
    point_load: Any = lambda: Wrong  # noqa: E731
    object.__setattr__(point, "load", point_load)
    load_plugins(fresh, [point], environ={})
    assert fresh.records()["wrong"].status == "failed"
    assert "adf_sourcez" in (fresh.records()["wrong"].error or "")


def test_the_process_wide_manager_is_created_lazily() -> None:
    import subprocess
    import sys

    code = (
        "import sys, adf_core.plugins.manager as p, adf_core.registry as r\n"
        "assert p._pm is None\n"
        "assert not any(m.startswith('adf_plugins.') for m in sys.modules)\n"
        "r.default_registry()\n"
        "assert p._pm is not None and p.get_plugin_manager() is p._pm\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_executor_factories_come_from_the_hook(pm: PluginManager) -> None:
    import adf_sample_basic

    from adf_core.plugins import executor_factories

    assert executor_factories(pm) == {"inline": adf_sample_basic.InlineExecutor}


def test_module_level_listing_uses_the_installed_plugins() -> None:
    import subprocess
    import sys

    code = (
        "from adf_core import registry\n"
        "assert ('merge', 'transform') in {(e.name, e.kind) for e in registry.components()}\n"
        "(info,) = registry.describe('merge')\n"
        "assert info.kind == 'transform' and info.description\n"
        "try:\n"
        "    registry.describe('merg')\n"
        "except ValueError as exc:\n"
        "    assert \"did you mean 'merge'\" in str(exc)\n"
        "else:\n"
        "    raise AssertionError\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_two_distributions_with_one_entry_point_name_both_load_and_clash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither hides the other: the clash of their components names both distributions."""
    from importlib.metadata import distributions

    for dist, module in (("fast_s3", "adf_dup_fast"), ("slow_s3", "adf_dup_slow")):
        info = tmp_path / f"{dist}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[adf]\ns3 = {module}\n")
        (tmp_path / f"{module}.py").write_text(
            "from adf_core import hookimpl\n\n@hookimpl\ndef adf_destinations():\n"
            f"    def s3(): return {dist!r}\n    return {{'s3': s3}}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [ep for d in distributions(path=[str(tmp_path)]) for ep in d.entry_points
              if ep.group == "adf"]
    pm = load_plugins(PluginManager(), points, environ={})
    assert sorted(r.dist for r in pm.records().values()) == ["fast_s3", "slow_s3"]
    assert all(r.status == "loaded" for r in pm.records().values())
    with pytest.raises(PluginError, match=r"fast_s3.*slow_s3|slow_s3.*fast_s3"):
        Registry(pm, strict=True)


def test_sys_exit_at_import_is_a_failed_plugin_not_the_end_of_the_process(
        fresh: PluginManager) -> None:
    load_plugins(fresh, [*SAMPLES, *entry_points(exits="adf_sample_exits")], environ={})
    records = fresh.records()
    assert records["exits"].status == "failed"
    assert records["exits"].error == (
        "called sys.exit('adf_sample_exits: refusing to be imported') while importing")
    assert records["basic"].status == "loaded"
    with pytest.raises(PluginError, match=r"called sys\.exit"):
        load_plugins(PluginManager(), entry_points(exits="adf_sample_exits"),
                     environ={"ADF_STRICT_PLUGINS": "1"})


def test_ctrl_c_during_a_plugin_import_still_interrupts(
        fresh: PluginManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "adf_sample_interrupts.py").write_text("raise KeyboardInterrupt\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        load_plugins(fresh, entry_points(interrupts="adf_sample_interrupts"), environ={})
