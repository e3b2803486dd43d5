"""What the layer above hands the engine: how to resolve a bare component name, which
executor factories plugins provide, and who observes a run.

The engine never imports the plugin layer; ``adf_core.plugins`` installs all three when it is
imported (the ``adf_core`` package does that before it hands out ``DataFlow``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: ``resolver(name, kind) -> callable`` for a bare name (``file``, ``db``).
NameResolver = Callable[[str, str], Callable[..., Any]]
#: ``() -> {executor name: factory}`` from installed plugins.
ExecutorSource = Callable[[], dict[str, Callable[..., Any]]]
#: ``() -> observers`` of the run about to start (see ``adf_core.observe.lifecycle``); an
#: empty sequence when nobody observes, so that the run does no work for them.
ObserverSource = Callable[[], Sequence[Any]]

_name_resolver: NameResolver | None = None
_executor_source: ExecutorSource | None = None
_observer_source: ObserverSource | None = None


def install(name_resolver: NameResolver, executor_source: ExecutorSource,
            observer_source: ObserverSource | None = None) -> None:
    """Called by the plugin layer: bare names, plugin executors and run observers resolve
    through it."""
    global _name_resolver, _executor_source, _observer_source
    _name_resolver = name_resolver
    _executor_source = executor_source
    if observer_source is not None:
        _observer_source = observer_source


def name_resolver() -> NameResolver | None:
    return _name_resolver


def plugin_executors() -> dict[str, Callable[..., Any]]:
    return dict(_executor_source()) if _executor_source is not None else {}


def observers(run_id: str) -> list[Any]:
    """The observers of a run about to start (a failing source is logged, never fatal)."""
    if _observer_source is None:
        return []
    try:
        return list(_observer_source())
    except Exception as exc:
        from adf_core.observe.lifecycle import observer_failed

        observer_failed(run_id, "plugins", "observers", exc)
        return []
