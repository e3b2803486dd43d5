"""The plugin layer: hook specifications, the plugin manager, the component registry and
component metadata.

Importing it hands the engine a name resolver, the plugins' executor factories and the
run observer made of the lifecycle hooks (see :mod:`adf_core.engine.seams`); nothing is
loaded until a name is resolved or a run starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adf_core.engine import seams
from adf_core.plugins.manager import (
    GROUP,
    HOOKS,
    PluginError,
    PluginManager,
    PluginRecord,
    check_strict,
    executor_factories,
    get_plugin_manager,
    load_plugins,
    register,
    strict_mode,
)
from adf_core.plugins.observers import HookObserver, observing, run_observers

__all__ = [
    "GROUP",
    "HOOKS",
    "HookObserver",
    "PluginError",
    "PluginManager",
    "PluginRecord",
    "check_strict",
    "executor_factories",
    "get_plugin_manager",
    "load_plugins",
    "observing",
    "register",
    "strict_mode",
]


def _resolve(name: str, kind: str) -> Callable[..., Any]:
    from adf_core.plugins.registry import resolve

    return resolve(name, kind)


seams.install(_resolve, lambda: executor_factories(), run_observers)
