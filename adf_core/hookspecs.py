"""The hooks a plugin implements: re-exported from :mod:`adf_core.plugins.hookspecs`.

The hook specifications themselves are re-exported too, so that
``PluginManager.add_hookspecs(adf_core.hookspecs)`` keeps working.
"""

from adf_core.plugins.hookspecs import (
    adf_component_finished,
    adf_component_retrying,
    adf_component_started,
    adf_destinations,
    adf_executors,
    adf_run_finished,
    adf_run_started,
    adf_sources,
    adf_stage_started,
    adf_transforms,
    hookimpl,
    hookspec,
)

__all__ = ["adf_component_finished", "adf_component_retrying", "adf_component_started",
           "adf_destinations", "adf_executors", "adf_run_finished", "adf_run_started",
           "adf_sources", "adf_stage_started", "adf_transforms", "hookimpl", "hookspec"]
