"""Run flows and the ``adf`` command against plugin modules that are not installed.

A :class:`PluginHarness` registers the given modules (and, unless told otherwise, the
built-in plugins) on a fresh plugin manager, exactly as their entry points would be, and
resolves names through that registry only: no entry point is read for the plugin under test,
no global state is patched, and two harnesses never see each other's plugins.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from click.testing import Result

    from adf_core.engine.flow import DataFlow
    from adf_core.engine.result import FlowResult
    from adf_core.plugins.manager import PluginManager
    from adf_core.plugins.registry import Registry

PluginLike = ModuleType | str | object
BUILTIN_DISTRIBUTION = "adf-core"


def load_module(plugin: PluginLike) -> Any:
    """A plugin object: a module, an object with hooks, or an import path (``pkg.mod``)."""
    if isinstance(plugin, str):
        return importlib.import_module(plugin)
    return plugin


def plugin_name(plugin: Any) -> str:
    """The name a plugin registers under: the last part of its module name."""
    name = getattr(plugin, "__name__", None) or type(plugin).__name__
    return str(name).rsplit(".", 1)[-1]


def builtin_plugins() -> list[tuple[str, ModuleType]]:
    """The built-in plugin modules (``adf_plugins``), by their entry-point names.

    Read from this distribution's entry points; in a source tree that is not installed, every
    public module of ``adf_plugins`` (registering a module without hooks does nothing).
    """
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group="adf"):
        dist = ep.dist.metadata["Name"] if ep.dist is not None else None
        if dist == BUILTIN_DISTRIBUTION:
            found.append((ep.name, importlib.import_module(ep.value)))
    if found:
        return found
    import pkgutil

    import adf_plugins

    return [(info.name, importlib.import_module(f"adf_plugins.{info.name}"))
            for info in pkgutil.iter_modules(adf_plugins.__path__) if not info.name.startswith("_")]


def plugin_manager(*plugins: PluginLike, builtins: bool = True) -> PluginManager:
    """A fresh ``PluginManager`` with ``plugins`` registered (after the built-ins, if any).

    A hook name that is not an ``adf`` hook (a typo) raises at once, as it would make the
    installed plugin fail to load.
    """
    from adf_core.plugins.manager import PluginManager, PluginRecord, register

    pm = PluginManager()
    if builtins:
        for name, module in builtin_plugins():
            register(pm, module, name)
            pm.load_records[name] = PluginRecord(name, module.__name__, BUILTIN_DISTRIBUTION)
    for plugin in plugins:
        loaded = load_module(plugin)
        name = plugin_name(loaded)
        if pm.has_plugin(name):
            name = f"{name} ({getattr(loaded, '__name__', '?')})"
        register(pm, loaded, name)
    return pm


class PluginHarness:
    """Flows and ``adf`` commands over a registry of the given plugin modules.

    ``builtins`` (default True) adds the built-in components (``file``, ``stdout``,
    ``merge``...) so that a flow can read or print with them; set it to False to see only
    the plugins under test. The registry is strict: a hook that raises, or two plugins that
    register one name for one kind, fails at once with the reason.
    """

    def __init__(self, *plugins: PluginLike, builtins: bool = True) -> None:
        from adf_core.plugins.registry import Registry

        self.plugins = [load_module(p) for p in plugins]
        self.pm = plugin_manager(*self.plugins, builtins=builtins)
        self.registry: Registry = Registry(self.pm, strict=True)

    def resolve(self, name: str, kind: str) -> Callable[..., Any]:
        """The component ``name`` of ``kind`` (source, transform, destination); a
        ``module:attr`` name is imported, as in any flow."""
        if ":" in name:
            from adf_core.engine.expression import import_reference

            return import_reference(name)
        return self.registry.resolve(name, kind)

    def flow(self, definition: Any, *, options: Mapping[str, Mapping[str, Any]] | None = None,
             settings: Mapping[str, Mapping[str, Any]] | None = None, **defaults: Any
             ) -> DataFlow:
        """A ``DataFlow`` from a pipe expression (names resolve in this harness only) or
        from a definition of callables; ``options``/``settings`` per alias, as in
        ``DataFlow.parse``."""
        from adf_core.engine.flow import DataFlow

        if isinstance(definition, str):
            return DataFlow.parse(definition, resolver=self.resolve, options=options,
                                  settings=settings, **defaults)
        if options or settings:
            raise TypeError("options= and settings= go with an expression; bind options of "
                            "callables with adf_core.step(fn, options=...)")
        return DataFlow(definition, **defaults)

    def run(self, definition: Any, params: Mapping[str, Any] | None = None, *,
            options: Mapping[str, Mapping[str, Any]] | None = None,
            settings: Mapping[str, Mapping[str, Any]] | None = None, **defaults: Any
            ) -> FlowResult:
        """Build the flow (see :meth:`flow`) and run it to its end: the ``FlowResult``."""
        return self.flow(definition, options=options, settings=settings, **defaults).run(params)

    def cli(self, *args: str | Iterable[str], input: str | None = None,
            env: Mapping[str, str] | None = None, catch_exceptions: bool = True) -> Result:
        """Run ``adf ARGS`` in-process (click's CliRunner) against this harness's registry.

        ``cli("run", "numbers | stdout", "-o", "numbers.count=2")`` or ``cli([...])``; the
        result has ``exit_code``, ``stdout`` and ``stderr`` (separate streams). The logging
        set-up the command makes is undone afterwards.
        """
        from click.testing import CliRunner

        from adf_core.cli import cli

        argv: list[str] = []
        for arg in args:
            argv.extend([arg] if isinstance(arg, str) else list(arg))
        if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:  # click 8.1
            runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg,unused-ignore]
        else:
            runner = CliRunner()
        saved = _structlog_config()
        try:
            return runner.invoke(cli, argv, obj=self.registry, prog_name="adf", input=input,
                                 env=dict(env or {}), catch_exceptions=catch_exceptions)
        finally:
            _restore_structlog(saved)


def _structlog_config() -> dict[str, Any] | None:
    """structlog's configuration, or None when it is not configured (or not imported)."""
    import sys

    structlog = sys.modules.get("structlog")
    if structlog is None or not structlog.is_configured():
        return None
    return dict(structlog.get_config())


def _restore_structlog(saved: dict[str, Any] | None) -> None:
    """Put back what ``_structlog_config`` saw: configuring the defaults is not the same as
    leaving structlog unconfigured (the engine's tracing then prints to stdout)."""
    import sys

    structlog = sys.modules.get("structlog")
    if structlog is None:
        return
    if saved is None:
        structlog.reset_defaults()
    else:
        structlog.configure(**saved)
