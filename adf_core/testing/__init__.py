"""Test kit for plugin authors: run flows and ``adf`` against a plugin module without
installing it, and :class:`ComponentContract`, the standard tests of a component.

.. code-block:: python

    import adf_plugin_weather
    from adf_core.testing import ComponentContract, PluginHarness

    class TestReadings(ComponentContract):
        plugin = adf_plugin_weather
        component = "readings"
        kind = "source"

    def test_a_flow():
        harness = PluginHarness(adf_plugin_weather)     # plus the built-in components
        result = harness.run("readings | out=file", options={"out": {"path": "x.jsonl"}})
        assert harness.cli("describe", "readings").exit_code == 0

The pytest plugin (:mod:`adf_core.testing.pytest_plugin`, loaded through the ``pytest11``
entry point of async-data-flow) gives the same as fixtures: ``adf_harness``, ``adf_run``,
``adf_cli`` and ``adf_registry``, over the modules named by the ``adf_plugins`` ini option.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["DEFAULT_SAMPLE", "ComponentContract", "PluginHarness", "builtin_plugins",
           "plugin_manager"]

_EXPORTS = {
    "ComponentContract": "adf_core.testing.contract",
    "DEFAULT_SAMPLE": "adf_core.testing.contract",
    "PluginHarness": "adf_core.testing.harness",
    "builtin_plugins": "adf_core.testing.harness",
    "plugin_manager": "adf_core.testing.harness",
}

if TYPE_CHECKING:
    from adf_core.testing.contract import DEFAULT_SAMPLE as DEFAULT_SAMPLE
    from adf_core.testing.contract import ComponentContract as ComponentContract
    from adf_core.testing.harness import PluginHarness as PluginHarness
    from adf_core.testing.harness import builtin_plugins as builtin_plugins
    from adf_core.testing.harness import plugin_manager as plugin_manager


def __getattr__(name: str) -> Any:
    # Lazy: the pytest plugin imports this package in every test run of an environment that
    # has async-data-flow; only what a test uses is imported.
    from importlib import import_module

    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adf_core.testing' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
