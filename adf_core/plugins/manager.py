"""The plugin manager: one ``PluginManager("adf")``, filled once, lazily, from entry points.

Every entry point of the group ``adf`` loads inside its own try/except: a broken plugin is
recorded (and shown by ``adf plugins``) instead of breaking the CLI. ``ADF_DISABLE_PLUGINS``
blocks plugins before they are imported, ``ADF_LOAD_PLUGINS`` loads only the ones it names,
and ``ADF_STRICT_PLUGINS=1`` turns any failure into an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pluggy

from adf_core.errors import FlowError
from adf_core.plugins import hookspecs

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "adf"
HOOKS = ("adf_sources", "adf_transforms", "adf_destinations", "adf_executors",
         "adf_run_started", "adf_stage_started", "adf_component_started",
         "adf_component_retrying", "adf_component_finished", "adf_run_finished")


class PluginError(FlowError):
    """A plugin failed to load while ``ADF_STRICT_PLUGINS=1``."""


@dataclass
class PluginRecord:
    """What ``adf plugins`` shows about one plugin, loaded or not."""

    name: str
    module: str
    dist: str | None = None
    version: str | None = None
    error: str | None = None
    status: str = "loaded"  # loaded | failed | blocked


class PluginManager(pluggy.PluginManager):
    """A ``pluggy.PluginManager("adf")`` that remembers how each plugin loaded."""

    def __init__(self) -> None:
        super().__init__(GROUP)
        self.add_hookspecs(hookspecs)
        self.load_records: dict[str, PluginRecord] = {}

    def records(self) -> dict[str, PluginRecord]:
        """Plugin name -> record, including plugins registered directly (tests, apps)."""
        found = dict(self.load_records)
        for name, plugin in self.list_name_plugin():
            if name not in found and plugin is not None:
                found[name] = PluginRecord(name, getattr(plugin, "__name__", repr(plugin)))
        return found


_pm: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, with every installed plugin loaded (once)."""
    global _pm
    if _pm is None:
        pm = PluginManager()
        load_plugins(pm)
        _pm = pm
    return _pm


def loaded_plugin_manager() -> PluginManager | None:
    """The process-wide plugin manager if something has loaded it already, else None (it is
    never loaded just to be looked at)."""
    return _pm


def executor_factories(pm: PluginManager | None = None) -> dict[str, Callable[..., Any]]:
    """Executor factories from every plugin's ``adf_executors`` hook (a failing hook is
    recorded on its plugin, as a failed import is)."""
    pm = pm or get_plugin_manager()
    found: dict[str, Callable[..., Any]] = {}
    for impl in pm.hook.adf_executors.get_hookimpls():
        try:
            provided = dict(cast("dict[str, Callable[..., Any]]", impl.function() or {}))
            bad = {name: factory for name, factory in provided.items()
                   if not isinstance(name, str) or not callable(factory)}
            if bad:
                raise TypeError("names must be strings and factories callable, not "
                                + ", ".join(f"{k!r}: {v!r}" for k, v in bad.items()))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # sys.exit() in a hook is that plugin's failure
            record = pm.load_records.setdefault(impl.plugin_name, PluginRecord(
                impl.plugin_name, getattr(impl.plugin, "__name__", "?")))
            record.status, record.error = "failed", f"adf_executors() {failure_text(exc)}"
            continue
        found.update(provided)
    return found


def failure_text(exc: BaseException) -> str:
    """How a plugin failed, for ``adf plugins``: ``raised ImportError: ...``, or
    ``called sys.exit(1)`` (which must not end the CLI)."""
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r})"
    return f"raised {type(exc).__name__}: {exc}"


def _names(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _selected(ep: EntryPoint, names: set[str]) -> bool:
    dist = ep.dist.metadata["Name"] if ep.dist is not None else None
    return ep.name in names or (dist is not None and dist in names)


def load_plugins(
    pm: PluginManager,
    entry_points: Iterable[EntryPoint] | None = None,
    environ: Mapping[str, str] | None = None,
) -> PluginManager:
    """Register each entry point of the ``adf`` group, recording (not raising) failures."""
    env = os.environ if environ is None else environ
    if entry_points is None:
        from importlib.metadata import entry_points as installed

        entry_points = installed(group=GROUP)
    disabled = _names(env.get("ADF_DISABLE_PLUGINS")) or set()
    only = _names(env.get("ADF_LOAD_PLUGINS"))
    found = pm.load_records
    for ep in entry_points:
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else None
        key = ep.name
        if key in found:
            if found[key].dist == dist_name:
                continue  # the same distribution, listed twice (or loaded before)
            # Another distribution uses the same entry-point name: load it too, so that a
            # clash of components names both distributions instead of hiding one.
            key = f"{ep.name} ({dist_name})"
        if key in found or pm.has_plugin(key):
            continue
        record = found[key] = PluginRecord(
            key,
            ep.value,
            dist.metadata["Name"] if dist is not None else None,
            dist.version if dist is not None else None,
        )
        if _selected(ep, disabled) or (only is not None and not _selected(ep, only)):
            pm.set_blocked(key)
            record.status = "blocked"
            continue
        try:
            register(pm, ep.load(), key)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # sys.exit() at import must not end every command
            record.status = "failed"
            record.error = (f"{type(exc).__name__}: {exc}" if isinstance(exc, Exception)
                            else f"{failure_text(exc)} while importing")
    check_strict(pm, env)
    return pm


def register(pm: PluginManager, plugin: object, name: str) -> None:
    """Register ``plugin``, refusing hook names that are not ``adf`` hooks (typos)."""
    pm.register(plugin, name=name)
    unknown = [c.name for c in pm.get_hookcallers(plugin) or [] if not c.has_spec()]
    if unknown:
        pm.unregister(name=name)
        raise pluggy.PluginValidationError(
            plugin, f"unknown hooks {', '.join(unknown)}; the adf hooks are {', '.join(HOOKS)}"
        )


def strict_mode(environ: Mapping[str, str] | None = None) -> bool:
    """``ADF_STRICT_PLUGINS`` is set (and not ``0``): any plugin failure is fatal."""
    env = os.environ if environ is None else environ
    return env.get("ADF_STRICT_PLUGINS", "") not in ("", "0")


def check_strict(pm: PluginManager, environ: Mapping[str, str] | None = None) -> None:
    """Raise ``PluginError`` for any failed plugin when ``ADF_STRICT_PLUGINS=1``."""
    if strict_mode(environ):
        failed = [r for r in pm.records().values() if r.error]
        if failed:
            lines = "; ".join(f"{r.name} ({r.dist or r.module}): {r.error}" for r in failed)
            raise PluginError(f"plugins failed to load (ADF_STRICT_PLUGINS=1): {lines}")
