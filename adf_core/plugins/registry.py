"""The component registry: names from the plugin hooks, resolved by kind (flow position).

One name may be both a source and a destination (an ``s3`` source reads, an ``s3``
destination writes); two plugins registering one name for one kind is a conflict that
names both distributions, reported when a flow uses that name (or at once under
``ADF_STRICT_PLUGINS=1``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adf_core.errors import FlowDefinitionError
from adf_core.plugins.manager import (
    PluginError,
    PluginManager,
    PluginRecord,
    failure_text,
    get_plugin_manager,
    strict_mode,
)

if TYPE_CHECKING:
    from adf_core.plugins.metadata import ComponentInfo

KINDS = ("source", "transform", "destination")
HOOKS = {"source": "adf_sources", "transform": "adf_transforms", "destination": "adf_destinations"}
PLACES = {
    "source": "sources go in the first stage",
    "transform": "transforms go in the middle stages",
    "destination": "destinations go in the last stage",
}


@dataclass(frozen=True)
class Entry:
    """One registered component: a name, a kind and the plugin that provides it."""

    name: str
    kind: str
    fn: Callable[..., Any]
    plugin: str
    dist: str | None = None

    @property
    def provider(self) -> str:
        return self.dist or self.plugin

    def info(self) -> ComponentInfo:
        from adf_core.plugins.metadata import describe

        return describe(self.fn, self.name, self.kind)


class Registry:
    """Components of every loaded plugin, collected once from the three hooks."""

    def __init__(self, pm: PluginManager, *, strict: bool | None = None) -> None:
        self.pm = pm
        self.entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        self.conflicts: dict[tuple[str, str], list[Entry]] = {}
        self.hook_errors: dict[str, str] = {}
        #: (kind, name) -> (the entry a hook offered, why it cannot be a component)
        self.rejected: dict[tuple[str, str], tuple[Entry, str]] = {}
        records = pm.records()
        for kind in KINDS:
            hook = getattr(pm.hook, HOOKS[kind])
            for impl in hook.get_hookimpls():  # registration order
                record = records.get(impl.plugin_name)
                dist = record.dist if record else None
                try:
                    provided = dict(impl.function() or {})
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # sys.exit() in a hook is that plugin's failure
                    self._hook_error(impl.plugin_name, f"{HOOKS[kind]}() {failure_text(exc)}")
                    continue
                for name, fn in provided.items():
                    problem = entry_problem(name, fn)
                    if problem is None:
                        self._add(Entry(name, kind, fn, impl.plugin_name, dist))
                        continue
                    # The good entries of this hook stay usable; this one is refused now,
                    # not when a flow that uses it has already run its sources.
                    self._hook_error(impl.plugin_name, f"{HOOKS[kind]}(): {problem}")
                    if isinstance(name, str):
                        self.rejected[(kind, name)] = (
                            Entry(name, kind, fn, impl.plugin_name, dist), problem)
        if strict is None:
            strict = strict_mode()
        if strict and (self.conflicts or self.hook_errors):
            problems = [self.conflict_text(k, n) for k, n in self.conflicts]
            problems += [f"{p}: {e}" for p, e in self.hook_errors.items()]
            raise PluginError("; ".join(problems) + " (ADF_STRICT_PLUGINS=1)")

    def _hook_error(self, plugin: str, error: str) -> None:
        previous = self.hook_errors.get(plugin)
        self.hook_errors[plugin] = f"{previous}; {error}" if previous else error

    def _add(self, entry: Entry) -> None:
        table = self.entries[entry.kind]
        key = (entry.kind, entry.name)
        if key in self.conflicts:
            self.conflicts[key].append(entry)
        elif entry.name in table:
            self.conflicts[key] = [table.pop(entry.name), entry]
        else:
            table[entry.name] = entry

    def conflict_text(self, kind: str, name: str) -> str:
        providers = " and ".join(repr(e.provider) for e in self.conflicts[(kind, name)])
        return f"{kind} {name!r} is registered by two plugins: {providers}"

    def records(self) -> dict[str, PluginRecord]:
        """Plugin records, with failures of the hooks themselves filled in."""
        found = self.pm.records()
        for plugin, error in self.hook_errors.items():
            if plugin in found:
                found[plugin] = dataclasses.replace(found[plugin], status="failed", error=error)
        return found

    def components(self, kind: str | None = None) -> list[Entry]:
        """Every component, sorted by name then kind (conflicting names excluded)."""
        kinds = KINDS if kind is None else (kind,)
        found = [e for k in kinds for e in self.entries[k].values()]
        return sorted(found, key=lambda e: (e.name, KINDS.index(e.kind)))

    def lookup(self, name: str) -> list[Entry]:
        """Every kind registered under ``name``."""
        return [self.entries[k][name] for k in KINDS if name in self.entries[k]]

    def names(self) -> set[str]:
        return {name for table in self.entries.values() for name in table}

    def resolve(self, name: str, kind: str) -> Callable[..., Any]:
        """The component called ``name`` for the flow position ``kind``, or a clear error."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if (kind, name) in self.conflicts:
            raise FlowDefinitionError(
                f"{self.conflict_text(kind, name)}; uninstall one, or block one with "
                f"ADF_DISABLE_PLUGINS"
            )
        entry = self.entries[kind].get(name)
        if entry is not None:
            return entry.fn
        if (kind, name) in self.rejected:
            offered, problem = self.rejected[(kind, name)]
            raise FlowDefinitionError(
                f"{kind} {name!r} from plugin {offered.plugin!r}"
                f"{f' ({offered.dist})' if offered.dist else ''} cannot be used: {problem}; "
                "fix the plugin, or block it with ADF_DISABLE_PLUGINS")
        others = [e.kind for e in self.lookup(name)]
        if others:
            raise FlowDefinitionError(
                f"{name!r} is a {' and a '.join(others)}, not a {kind}: {PLACES[kind]}, "
                f"{'; '.join(PLACES[k] for k in others)}"
            )
        raise FlowDefinitionError(self.unknown_message(name, kind))

    def unknown_message(self, name: str, kind: str | None = None) -> str:
        """'unknown source ...; did you mean ...?', with plugins that failed to load."""
        from adf_core.text import did_you_mean

        pool = sorted(self.entries[kind]) if kind else sorted(self.names())
        hint = did_you_mean(name, pool) or did_you_mean(name, sorted(self.names()))
        what = f"unknown {kind or 'component'} {name!r}{hint}."
        known = f" Known {kind or 'component'}s: {', '.join(pool) or 'none'}."
        broken = [r for r in self.records().values() if r.status != "loaded"]
        broken.sort(key=lambda r: r.name != name)  # the likely culprit first
        notes = "".join(
            f" Plugin {r.name!r} ({r.dist or r.module}) "
            + (f"failed to load: {r.error}." if r.error else
               "is blocked by ADF_DISABLE_PLUGINS or ADF_LOAD_PLUGINS.")
            for r in broken
        )
        return f"{what}{known}{notes}"


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def entry_problem(name: Any, fn: Any) -> str | None:
    """Why a hook's ``name -> component`` pair cannot be registered, or None."""
    from adf_core.engine.definition import callable_problem
    from adf_core.engine.steps import Step

    if not isinstance(name, str):
        return (f"the name {name!r} ({type(name).__name__}) is not a string; a hook returns "
                "{'name': component}")
    if not _NAME.fullmatch(name):
        return (f"the name {name!r} cannot be written in an expression (letters, digits, "
                "'_', '.' and '-', not starting with a digit)")
    problem = callable_problem(fn.fn if isinstance(fn, Step) else fn)
    return None if problem is None else f"{name!r} maps to {problem}"


_default: Registry | None = None


def default_registry() -> Registry:
    """The registry over the process-wide plugin manager (built on first use)."""
    global _default
    if _default is None:
        _default = Registry(get_plugin_manager())
    return _default


def resolve(name: str, kind: str) -> Callable[..., Any]:
    """Resolve a registered component by name and kind; used by ``DataFlow.parse``."""
    return default_registry().resolve(name, kind)


def components(kind: str | None = None) -> list[Entry]:
    """Every installed component (optionally of one kind), sorted by name then kind."""
    return default_registry().components(kind)


def describe(name: str, kind: str | None = None) -> list[ComponentInfo]:
    """Metadata of the components called ``name`` (one per kind); unknown: FlowDefinitionError."""
    registry = default_registry()
    found = [e.info() for e in registry.lookup(name) if kind in (None, e.kind)]
    if not found:
        raise FlowDefinitionError(registry.unknown_message(name, kind))
    return found
