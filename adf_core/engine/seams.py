"""What the layer above hands the engine: how to resolve a bare component name, and which
executor factories plugins provide.

The engine never imports the plugin layer; ``adf_core.plugins`` installs both when it is
imported (the ``adf_core`` package does that before it hands out ``DataFlow``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: ``resolver(name, kind) -> callable`` for a bare name (``file``, ``db``).
NameResolver = Callable[[str, str], Callable[..., Any]]
#: ``() -> {executor name: factory}`` from installed plugins.
ExecutorSource = Callable[[], dict[str, Callable[..., Any]]]

_name_resolver: NameResolver | None = None
_executor_source: ExecutorSource | None = None


def install(name_resolver: NameResolver, executor_source: ExecutorSource) -> None:
    """Called by the plugin layer: bare names and plugin executors resolve through it."""
    global _name_resolver, _executor_source
    _name_resolver = name_resolver
    _executor_source = executor_source


def name_resolver() -> NameResolver | None:
    return _name_resolver


def plugin_executors() -> dict[str, Callable[..., Any]]:
    return dict(_executor_source()) if _executor_source is not None else {}
