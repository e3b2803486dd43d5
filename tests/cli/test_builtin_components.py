"""Every built-in component is registered through the entry points and describes itself."""

from __future__ import annotations

from importlib.metadata import entry_points

from adf_core.plugins import PluginManager, load_plugins
from adf_core.registry import Registry

# DESIGN section 10: the minimum set
MINIMUM = {
    ("db", "source"), ("file", "source"), ("http", "source"), ("merge", "transform"),
    ("split", "transform"), ("filter", "transform"), ("compare", "transform"),
    ("file", "destination"), ("db", "destination"), ("stdout", "destination"),
    ("notify", "destination"),
}


def builtin_registry() -> Registry:
    points = [ep for ep in entry_points(group="adf")
              if ep.dist is not None and ep.dist.metadata["Name"] == "adf-core"]
    pm = PluginManager()
    load_plugins(pm, points, environ={})
    assert all(r.status == "loaded" for r in pm.records().values()), pm.records()
    return Registry(pm, strict=True)


def test_the_minimum_set_is_registered_with_metadata() -> None:
    registry = builtin_registry()
    found = {(e.name, e.kind) for e in registry.components()}
    assert found >= MINIMUM
    for entry in registry.components():
        info = entry.info()
        assert info.description, f"{entry.name} ({entry.kind}) has no description"
        assert entry.dist == "adf-core"
        for option in info.options:
            assert option.type, f"{entry.name}.{option.name} has no annotation"
