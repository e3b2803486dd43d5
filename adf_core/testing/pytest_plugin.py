"""pytest fixtures for plugin authors (registered through the ``pytest11`` entry point).

Which plugin modules are under test, first that applies:

1. a test class's ``plugin`` attribute (as on a :class:`~adf_core.testing.ComponentContract`);
2. an ``adf_plugin_modules`` fixture of your own (in ``conftest.py``), returning modules;
3. the ``adf_plugins`` ini option: module names, e.g. in ``pyproject.toml``
   ``[tool.pytest.ini_options] adf_plugins = ["adf_plugin_weather"]``.

The built-in components come along unless ``adf_builtins = false`` is set (ini option).
Nothing is installed and nothing global is patched: each test gets a fresh plugin manager.

Fixtures: ``adf_harness`` (a :class:`~adf_core.testing.PluginHarness`), ``adf_run`` (build
and run a flow: ``adf_run("readings | stdout", options={...})``), ``adf_cli`` (``adf`` in
process: ``adf_cli("describe", "readings")``), ``adf_registry``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from adf_core.testing.harness import PluginHarness


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("adf_plugins", "plugin modules under test (import names), for the adf "
                  "fixtures", type="linelist", default=[])
    parser.addini("adf_builtins", "register adf's built-in components beside them",
                  type="bool", default=True)


@pytest.fixture
def adf_plugin_modules(request: pytest.FixtureRequest) -> list[Any]:
    """The plugin modules under test (see the module docstring for where they come from)."""
    from importlib import import_module

    plugin = getattr(request.cls, "plugin", None) if request.cls is not None else None
    if plugin is not None:
        return [plugin]
    return [import_module(name) for name in request.config.getini("adf_plugins")]


@pytest.fixture
def adf_harness(request: pytest.FixtureRequest, adf_plugin_modules: list[Any]) -> PluginHarness:
    """Flows and ``adf`` commands over the plugins under test (see PluginHarness)."""
    from adf_core.testing.harness import PluginHarness

    builtins = bool(request.config.getini("adf_builtins"))
    return PluginHarness(*adf_plugin_modules, builtins=builtins)


@pytest.fixture
def adf_registry(adf_harness: PluginHarness) -> Any:
    """The component registry of the plugins under test."""
    return adf_harness.registry


@pytest.fixture
def adf_run(adf_harness: PluginHarness) -> Any:
    """``adf_run(expression_or_definition, params=None, *, options=None, settings=None,
    **flow_settings)`` builds the flow and runs it: the ``FlowResult``."""
    return adf_harness.run


@pytest.fixture
def adf_cli(adf_harness: PluginHarness) -> Any:
    """``adf_cli(*args, input=None, env=None)`` runs ``adf ARGS`` in process: a click
    ``Result`` with ``exit_code``, ``stdout`` and ``stderr``."""
    return adf_harness.cli
