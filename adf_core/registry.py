"""The component registry: re-exported from :mod:`adf_core.plugins.registry`."""

from adf_core.plugins.registry import (
    KINDS,
    Entry,
    Registry,
    components,
    default_registry,
    describe,
    resolve,
)

__all__ = ["KINDS", "Entry", "Registry", "components", "default_registry", "describe", "resolve"]
